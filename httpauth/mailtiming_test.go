package httpauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// mailDelay is how long the slow mailer of the timing test takes per
// message.
const mailDelay = 300 * time.Millisecond

// slowMailer takes mailDelay per message and records who it sent to.
type slowMailer struct {
	mu   sync.Mutex
	sent []authkit.Message
}

func (m *slowMailer) send(ctx context.Context, msg authkit.Message) error {
	select {
	case <-time.After(mailDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

// count returns how many messages of the kind went to the address.
func (m *slowMailer) count(kind authkit.MessageKind, to string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, msg := range m.sent {
		if msg.Kind == kind && msg.To == to {
			n++
		}
	}
	return n
}

// newSlowMailEnv serves the API with a mailer that takes mailDelay per
// message and with the mail limits off, so that every request of the test
// queues a message for a known address.
func newSlowMailEnv(t *testing.T) (*env, *slowMailer) {
	t.Helper()
	sm := &slowMailer{}
	e := &env{t: t, mem: memstore.New(), clock: newClock(), mail: newMailbox(), log: &lockedBuffer{}}
	e.store = e.mem
	a, err := authkit.New(authkit.Config{
		Store:       e.mem,
		Mailer:      authkit.MailerFunc(sm.send),
		Secret:      testSecret,
		BaseURL:     "https://app.example.com",
		BcryptCost:  4,
		MailWorkers: 4,
		Limits: authkit.Limits{
			MailAddr:  authkit.Limit{Off: true},
			MailEmail: authkit.Limit{Off: true},
		},
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() {
		// Abandon what is still queued: the test has what it needs.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = a.Close(ctx)
	})
	e.auth = a
	h, err := httpauth.New(httpauth.Config{Authenticator: a, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	require.NoError(t, err, "httpauth.New")
	e.h = h
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", h))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e, sm
}

// TestMailRequestsDoNotRevealAccountsByTiming shows that forgot-password
// and resend-verification answer a known email as fast as an unknown one,
// and well under the mailer's delay: the mail is sent off the request path.
// Were it sent on the request path, each request for the known email would
// take at least mailDelay.
func TestMailRequestsDoNotRevealAccountsByTiming(t *testing.T) {
	e, sm := newSlowMailEnv(t)
	const known = "known@example.com" // registered, not verified
	res := e.post("/register", map[string]string{"email": known, "password": "a fine password"})
	require.Equal(t, http.StatusCreated, res.status, "POST /register: %s", res.body)

	timed := func(path, email string) time.Duration {
		t.Helper()
		start := time.Now()
		res := e.post(path, map[string]string{"email": email})
		elapsed := time.Since(start)
		require.Equal(t, http.StatusOK, res.status, "POST %s %s: %s", path, email, res.body)
		return elapsed
	}
	// Warm up the connection and the handlers.
	timed("/forgot-password", "warm-up@example.com")

	const rounds = 5
	for _, path := range []string{"/forgot-password", "/resend-verification"} {
		t.Run(path[1:], func(t *testing.T) {
			var knownTimes, unknownTimes []time.Duration
			for i := range rounds {
				// Alternate the order so that neither side always goes
				// first.
				if i%2 == 0 {
					knownTimes = append(knownTimes, timed(path, known))
					unknownTimes = append(unknownTimes, timed(path, "nobody@example.com"))
				} else {
					unknownTimes = append(unknownTimes, timed(path, "nobody@example.com"))
					knownTimes = append(knownTimes, timed(path, known))
				}
			}
			t.Logf("%s: known %v, unknown %v", path, knownTimes, unknownTimes)

			// Loose bounds for a loaded machine under -race, each still
			// below the mailer's delay, so that a mail sent on the
			// request path fails every one of them.
			for i, d := range knownTimes {
				assert.Less(t, d, mailDelay*5/6, "request %d for the known email", i)
			}
			km, um := median(knownTimes), median(unknownTimes)
			assert.Less(t, km, mailDelay/2, "median time for the known email")
			assert.Less(t, um, mailDelay/2, "median time for the unknown email")
			assert.Less(t, (km - um).Abs(), mailDelay/3, "known minus unknown median time")
		})
	}

	// The known email was really mailed, so the speed is not from sending
	// nothing.
	require.Eventually(t, func() bool {
		return sm.count(authkit.MessageResetPassword, known) > 0 && sm.count(authkit.MessageVerifyEmail, known) > 1
	}, 10*time.Second, 10*time.Millisecond, "reset and fresh verification mails reach the known email")
	assert.Zero(t, sm.count(authkit.MessageResetPassword, "nobody@example.com"), "mails to the unknown email")
}

// median returns the middle of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
