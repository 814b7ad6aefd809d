package redisusers_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/redisusers"
)

// urlVariable names the environment variable with the URL of the Redis
// server the tests use, such as redis://127.0.0.1:6379/0.
const urlVariable = "AUTHKIT_TEST_REDIS_URL"

// client returns a client of the test server, or skips tb.
func client(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv(urlVariable)
	if u == "" {
		tb.Skipf("set %s (such as redis://127.0.0.1:6379/0) to run the tests against Redis", urlVariable)
	}
	opt, err := redis.ParseURL(u)
	require.NoError(tb, err, "parse %s", urlVariable)
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	require.NoError(tb, c.Ping(tb.Context()).Err(), "ping the server of %s", urlVariable)
	return c
}

// channel is a channel of the test's own, so that tests never hear each
// other.
func channel() string { return "authkit-test:" + rand.Text() }

// probe wraps a Watcher: it says when a watch begins and when it is
// ready, and, while held, keeps the next watch from beginning.
type probe struct {
	*redisusers.Watcher
	attempts chan struct{}
	ready    chan struct{}
	release  chan struct{}
	held     atomic.Bool
}

func newProbe(w *redisusers.Watcher) *probe {
	return &probe{Watcher: w, attempts: make(chan struct{}, 16), ready: make(chan struct{}, 16), release: make(chan struct{})}
}

func (p *probe) WatchUsers(ctx context.Context, ready func(), changed func(string)) error {
	p.attempts <- struct{}{}
	if p.held.Load() {
		select {
		case <-p.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.Watcher.WatchUsers(ctx, func() { ready(); p.ready <- struct{}{} }, changed)
}

// instance is one instance of a service: an Authenticator over the shared
// Store, seen through a wrapper that counts its calls and does not watch
// users, so that only Redis tells it of changes.
type instance struct {
	*authkit.Authenticator
	store faults.Faulty
	probe *probe
}

func newInstance(t *testing.T, shared authkit.Store, ch string) *instance {
	t.Helper()
	w, err := redisusers.New(redisusers.Config{Client: client(t), Channel: ch})
	require.NoError(t, err, "redisusers.New")
	in := &instance{store: faults.Wrap(shared), probe: newProbe(w)}
	_, watches := in.store.(authkit.UserWatcher)
	require.False(t, watches, "the instance's Store view must not watch users")
	in.Authenticator, err = authkit.New(authkit.Config{
		Store:        in.store,
		Mailer:       authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:       []byte("0123456789abcdef0123456789abcdef"),
		BaseURL:      "https://app.example.com",
		BcryptCost:   4,
		UserCacheTTL: time.Hour, // only the watcher can explain a change seen
		UserWatcher:  in.probe,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = in.Close(context.Background()) })
	testkit.Receive(t, in.probe.ready, "the watcher is ready")
	return in
}

// reads authenticates token and returns the Store calls it made.
func (in *instance) reads(t *testing.T, token string) ([]string, error) {
	t.Helper()
	in.store.Arm(faults.Fault{})
	_, _, err := in.Authenticate(t.Context(), token)
	return in.store.Disarm().Methods, err
}

// TestChangeReachesTheOtherInstance checks that a change made on one
// instance cuts the user's tokens off on another within a second, though
// the other had the user cached for an hour.
func TestChangeReachesTheOtherInstance(t *testing.T) {
	shared, ch := memstore.New(), channel()
	a, b := newInstance(t, shared, ch), newInstance(t, shared, ch)
	reg, err := a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "correct horse"}, authkit.Client{})
	require.NoError(t, err, "Register")
	tok := reg.Tokens

	for range 2 {
		_, err := b.reads(t, tok.AccessToken)
		require.NoError(t, err, "B authenticates the token")
	}
	calls, err := b.reads(t, tok.AccessToken)
	require.NoError(t, err)
	require.Empty(t, calls, "B serves the user from its cache")

	require.NoError(t, a.SetActive(t.Context(), tok.User.ID, false, authkit.Client{}), "A disables the user")
	deadline := time.Now().Add(time.Second)
	for {
		_, _, err := b.Authenticate(t.Context(), tok.AccessToken)
		if errors.Is(err, authkit.ErrAccountDisabled) {
			break
		}
		require.NoError(t, err, "B authenticates")
		if time.Now().After(deadline) {
			t.Fatal("B still accepts the token of a user A disabled a second ago")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLostConnectionReadsEveryRequestUntilResubscribed kills the
// subscription's connection: until the watcher subscribed again, the
// instance reads the user on every request, and a change made meanwhile
// is not missed.
func TestLostConnectionReadsEveryRequestUntilResubscribed(t *testing.T) {
	shared, ch := memstore.New(), channel()
	a, b := newInstance(t, shared, ch), newInstance(t, shared, ch)
	reg, err := a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "correct horse"}, authkit.Client{})
	require.NoError(t, err, "Register")
	tok := reg.Tokens
	_, err = b.reads(t, tok.AccessToken)
	require.NoError(t, err)
	calls, err := b.reads(t, tok.AccessToken)
	require.NoError(t, err)
	require.Empty(t, calls, "B serves the user from its cache")

	<-b.probe.attempts // the first watch
	b.probe.held.Store(true)
	require.NoError(t, client(t).ClientKillByFilter(t.Context(), "TYPE", "pubsub").Err(), "CLIENT KILL TYPE pubsub")
	testkit.Receive(t, b.probe.attempts, "B watches again after the connection died")

	for range 3 {
		calls, err := b.reads(t, tok.AccessToken)
		require.NoError(t, err)
		assert.Equal(t, []string{"UserByID"}, calls, "without a subscription B reads the user on every request")
	}
	require.NoError(t, a.LogoutAll(t.Context(), tok.User.ID, authkit.Client{}), "A logs the user out everywhere, unheard")

	close(b.probe.release)
	testkit.Receive(t, b.probe.ready, "B subscribed again")
	_, err = b.reads(t, tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the change made while B was deaf is seen")
}

// TestWatchUsers checks the watcher on its own: ready once subscribed,
// every published id passed on in order, ctx's error at the end.
func TestWatchUsers(t *testing.T) {
	c := client(t)
	w, err := redisusers.New(redisusers.Config{Client: c, Channel: channel()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	ready, got, done := make(chan struct{}, 1), make(chan string, 8), make(chan error, 1)
	go func() {
		done <- w.WatchUsers(ctx, func() { ready <- struct{}{} }, func(id string) { got <- id })
	}()
	testkit.Receive(t, ready, "ready")
	for _, id := range []string{"u1", "u2", ""} {
		require.NoError(t, w.PublishUserChange(t.Context(), id))
	}
	for _, want := range []string{"u1", "u2", ""} {
		assert.Equal(t, want, testkit.Receive(t, got, "a change"))
	}
	cancel()
	assert.ErrorIs(t, testkit.Receive(t, done, "WatchUsers returns"), context.Canceled)
}

// TestWatchUsersPingsAQuietConnection checks that a quiet subscription
// stays up across pings, and that one whose pings go unanswered ends.
func TestWatchUsersPingsAQuietConnection(t *testing.T) {
	c := client(t)
	w, err := redisusers.New(redisusers.Config{Client: c, Channel: channel(), PingInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	ready, got, done := make(chan struct{}, 1), make(chan string, 1), make(chan error, 1)
	go func() {
		done <- w.WatchUsers(t.Context(), func() { ready <- struct{}{} }, func(id string) { got <- id })
	}()
	testkit.Receive(t, ready, "ready")
	time.Sleep(300 * time.Millisecond) // several pings
	require.NoError(t, w.PublishUserChange(t.Context(), "u1"))
	assert.Equal(t, "u1", testkit.Receive(t, got, "a change after quiet pings"))

	// CLIENT PAUSE holds the answers to every client's commands, pings
	// included, as a server that hangs would.
	require.NoError(t, c.Do(t.Context(), "CLIENT", "PAUSE", 500, "ALL").Err(), "CLIENT PAUSE")
	err = testkit.Receive(t, done, "WatchUsers returns when pings go unanswered")
	assert.ErrorContains(t, err, "redisusers:")
}

// TestWatchUsersFailsWithoutServer checks that a watcher that cannot
// subscribe returns an error, never calling ready.
func TestWatchUsersFailsWithoutServer(t *testing.T) {
	client(t) // only with Redis tests configured, like the rest
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	w, err := redisusers.New(redisusers.Config{Client: c})
	require.NoError(t, err)
	assert.Equal(t, redisusers.DefaultChannelPrefix+"0", w.Channel(), "the default channel names the database")
	err = w.WatchUsers(t.Context(), func() { t.Error("ready without a subscription") }, func(string) {})
	assert.ErrorContains(t, err, "redisusers:")
	assert.ErrorContains(t, w.PublishUserChange(t.Context(), "u1"), "redisusers: publish")
}

// TestNewRequiresAClient checks New's validation.
func TestNewRequiresAClient(t *testing.T) {
	_, err := redisusers.New(redisusers.Config{})
	assert.ErrorContains(t, err, "Client")
}
