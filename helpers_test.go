package authkit_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// testSecret is an HS256 secret for tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// events records every event.
type events struct {
	mu   sync.Mutex
	list []authkit.Event
}

func (e *events) record(_ context.Context, ev authkit.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

func (e *events) types() []authkit.EventType {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []authkit.EventType
	for _, ev := range e.list {
		out = append(out, ev.Type)
	}
	return out
}

func (e *events) last(typ authkit.EventType) (authkit.Event, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.list) - 1; i >= 0; i-- {
		if e.list[i].Type == typ {
			return e.list[i], true
		}
	}
	return authkit.Event{}, false
}

// kit is an Authenticator with its test doubles.
type kit struct {
	*authkit.Authenticator
	store  *memstore.Store
	mail   *testkit.Mailbox
	clock  *testkit.Clock
	events *events
	log    *testkit.LogBuffer
}

// newKit builds an Authenticator on memstore with bcrypt cost 4, a fixed
// clock, a capturing mailer, hook and logger, and a MaxHashWait no slow
// machine reaches. change may adjust the Config.
func newKit(t testing.TB, change func(*authkit.Config)) *kit {
	t.Helper()
	k := &kit{store: memstore.New(), mail: testkit.NewMailbox(), clock: testkit.NewClock(), events: &events{}, log: &testkit.LogBuffer{}}
	return newKitOn(t, k, change)
}

// newKitOn builds another Authenticator over the store, mailbox, clock,
// hook and logger of base, as a second instance of a service would.
func newKitOn(t testing.TB, base *kit, change func(*authkit.Config)) *kit {
	t.Helper()
	k := &kit{store: base.store, mail: base.mail, clock: base.clock, events: base.events, log: base.log}
	cfg := authkit.Config{
		Store:          k.store,
		Mailer:         k.mail,
		Secret:         testSecret,
		BaseURL:        "https://app.example.com",
		BcryptCost:     4,
		Now:            k.clock.Now,
		OnEvent:        k.events.record,
		Logger:         slog.New(slog.NewTextHandler(k.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MailRetryDelay: time.Millisecond,
		// A loaded machine may keep a request from a hashing slot for
		// long; only the tests of MaxHashWait itself set a short one.
		MaxHashWait: testkit.Timeout,
	}
	if change != nil {
		change(&cfg)
	}
	a, err := authkit.New(cfg)
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	k.Authenticator = a
	return k
}

// register signs up a user and returns its tokens (only User when
// nobody was signed in); it drains the verification email and returns its
// token too.
func (k *kit) register(t testing.TB, email, password string) (authkit.Tokens, string) {
	t.Helper()
	reg, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: password}, authkit.Client{Addr: "192.0.2.1", UserAgent: "test"})
	require.NoError(t, err, "Register(%s)", email)
	require.Equal(t, reg.SignedIn, reg.Tokens.AccessToken != "", "SignedIn says whether there are tokens")
	msg := k.mail.Next(t)
	require.Equal(t, authkit.MessageVerifyEmail, msg.Kind)
	tok := reg.Tokens
	tok.User = reg.User
	return tok, testkit.TokenOf(t, msg)
}

// blockingHasher holds each Verify at its gate while hold is set, so that
// a test can act while a password check is provably under way. It holds
// no Verify longer than testkit.Timeout, so that a test that fails before
// it opens the gate leaves no check hanging.
type blockingHasher struct {
	authkit.BcryptHasher
	hold atomic.Bool
	gate *testkit.Gate
}

// newBlockingHasher returns a blockingHasher of the cost, holding nothing
// until hold is set.
func newBlockingHasher(cost int) *blockingHasher {
	return &blockingHasher{BcryptHasher: authkit.BcryptHasher{Cost: cost}, gate: testkit.NewGate()}
}

func (h *blockingHasher) Verify(hash, password string) (bool, error) {
	if h.hold.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
		defer cancel()
		_ = h.gate.Wait(ctx)
	}
	return h.BcryptHasher.Verify(hash, password)
}
