package authkit_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// testSecret is an HS256 secret for tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailbox captures the messages an Authenticator sends.
type mailbox struct {
	ch chan authkit.Message
}

func newMailbox() *mailbox { return &mailbox{ch: make(chan authkit.Message, 100)} }

func (m *mailbox) Send(ctx context.Context, msg authkit.Message) error {
	select {
	case m.ch <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next waits for the next message.
func (m *mailbox) next(t testing.TB) authkit.Message {
	t.Helper()
	select {
	case msg := <-m.ch:
		return msg
	case <-time.After(5 * time.Second):
		t.Fatal("no email arrived within 5 s")
		return authkit.Message{}
	}
}

// none asserts that no message arrives for a short while.
func (m *mailbox) none(t testing.TB) {
	t.Helper()
	select {
	case msg := <-m.ch:
		t.Fatalf("unexpected %s email to %s", msg.Kind, msg.To)
	case <-time.After(100 * time.Millisecond):
	}
}

// tokenOf returns the token in the message's link.
func tokenOf(t testing.TB, msg authkit.Message) string {
	t.Helper()
	for _, line := range bytes.Fields([]byte(msg.Text)) {
		u, err := url.Parse(string(line))
		if err == nil && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no link with a token in %s email", msg.Kind)
	return ""
}

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
	mail   *mailbox
	clock  *clock
	events *events
	log    *lockedWriter
}

// logText returns what was logged so far.
func (k *kit) logText() string {
	k.log.mu.Lock()
	defer k.log.mu.Unlock()
	return k.log.w.String()
}

// newKit builds an Authenticator on memstore with bcrypt cost 4, a fixed
// clock, a capturing mailer, hook and logger. change may adjust the Config.
func newKit(t testing.TB, change func(*authkit.Config)) *kit {
	t.Helper()
	k := &kit{store: memstore.New(), mail: newMailbox(), clock: newClock(), events: &events{}, log: &lockedWriter{w: &bytes.Buffer{}}}
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

// lockedWriter serializes writes from concurrent goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// register signs up a user and returns its tokens (only User when
// nobody was signed in); it drains the verification email and returns its
// token too.
func (k *kit) register(t testing.TB, email, password string) (authkit.Tokens, string) {
	t.Helper()
	reg, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: password}, authkit.Client{Addr: "192.0.2.1", UserAgent: "test"})
	require.NoError(t, err, "Register(%s)", email)
	require.Equal(t, reg.SignedIn, reg.Tokens.AccessToken != "", "SignedIn says whether there are tokens")
	msg := k.mail.next(t)
	require.Equal(t, authkit.MessageVerifyEmail, msg.Kind)
	tok := reg.Tokens
	tok.User = reg.User
	return tok, tokenOf(t, msg)
}

// blockingHasher holds each Verify, while block is set, until release is
// closed, telling entered when it starts.
type blockingHasher struct {
	authkit.BcryptHasher
	block   atomic.Bool
	release chan struct{}
	entered chan struct{}
}

func (h *blockingHasher) Verify(hash, password string) (bool, error) {
	if h.block.Load() {
		if h.entered != nil {
			h.entered <- struct{}{}
		}
		<-h.release
	}
	return h.BcryptHasher.Verify(hash, password)
}
