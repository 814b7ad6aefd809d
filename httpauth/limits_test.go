package httpauth_test

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
)

// events records the Authenticator's events.
type events struct {
	mu   sync.Mutex
	list []authkit.Event
}

func (e *events) hook(c *authkit.Config) {
	c.OnEvent = func(_ context.Context, ev authkit.Event) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.list = append(e.list, ev)
	}
}

func (e *events) reasons(typ authkit.EventType) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.Type == typ {
			out = append(out, ev.Reason)
		}
	}
	return out
}

func assertRateLimited(t testing.TB, res response) {
	t.Helper()
	assertProblem(t, res, http.StatusTooManyRequests, "rate_limited")
	assert.NotEmpty(t, res.header.Get("Retry-After"), "Retry-After")
}

func TestThrottledLoginIsTheSameForAllFourCases(t *testing.T) {
	ev := &events{}
	e := newEnv(t, withAuth(func(c *authkit.Config) {
		ev.hook(c)
		c.Limits.LoginFailures = authkit.Limit{Burst: 2, Every: 90 * time.Second}
	}))
	e.register("known@example.com", "securepass123")
	for _, email := range []string{"known@example.com", "ghost@example.com"} {
		for range 2 {
			res := e.post("/login", map[string]string{"email": email, "password": "wrong-password"})
			assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
		}
	}
	var bodies []string
	for _, c := range []struct{ email, password string }{
		{"known@example.com", "securepass123"}, {"known@example.com", "wrong-password"},
		{"ghost@example.com", "securepass123"}, {"ghost@example.com", "wrong-password"},
	} {
		res := e.post("/login", map[string]string{"email": c.email, "password": c.password})
		assertRateLimited(t, res)
		assert.Equal(t, "90", res.header.Get("Retry-After"), "%s / %s", c.email, c.password)
		bodies = append(bodies, string(res.body))
	}
	for _, b := range bodies[1:] {
		assert.Equal(t, bodies[0], b, "the four answers are identical")
	}
	assert.Contains(t, ev.reasons(authkit.EventRateLimited), "login_failures", "every hit reaches the hook")

	e.clock.Advance(90 * time.Second)
	e.login("known@example.com", "securepass123")
}

func TestForgotPasswordOverTheEmailBudgetAnswersTheSame(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.Limits.MailEmail = authkit.Limit{Burst: 1, Every: time.Hour} }))
	e.register("m@example.com", "securepass123")
	first := e.post("/forgot-password", map[string]string{"email": "m@example.com"})
	require.Equal(t, http.StatusOK, first.status)
	e.mail.Next(t, authkit.MessageResetPassword)
	again := e.post("/forgot-password", map[string]string{"email": "m@example.com"})
	assert.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, string(first.body), string(again.body))
	e.drain()
	e.mail.None(t, authkit.MessageResetPassword)
}

func TestPerAddressLimitOverHTTP(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.Limits.RegisterAddr = authkit.Limit{Burst: 2, Every: time.Hour} }))
	for i, spoof := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		res := e.do(req{method: http.MethodPost, path: "/register",
			body:   map[string]string{"email": string(rune('a'+i)) + "@example.com", "password": "securepass123"},
			header: map[string]string{"X-Forwarded-For": spoof, "X-Real-IP": spoof}})
		if i < 2 {
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		} else {
			assertRateLimited(t, res)
			assert.Equal(t, "3600", res.header.Get("Retry-After"))
		}
	}
}

func TestTrustedProxyGivesEachClientItsOwnBudget(t *testing.T) {
	e := newEnv(t,
		withAuth(func(c *authkit.Config) { c.Limits.RegisterAddr = authkit.Limit{Burst: 1, Every: time.Hour} }),
		withHTTP(func(c *httpauth.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }))
	for i, client := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1"} {
		res := e.do(req{method: http.MethodPost, path: "/register",
			body:   map[string]string{"email": string(rune('a'+i)) + "@example.com", "password": "securepass123"},
			header: map[string]string{"X-Forwarded-For": "203.0.113.50, " + client}})
		if i < 2 {
			require.Equal(t, http.StatusCreated, res.status, "client %s: %s", client, res.body)
		} else {
			assertRateLimited(t, res)
		}
	}
}
