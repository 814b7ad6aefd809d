package httpauth_test

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
)

// addrIn returns the i-th of many distinct addresses of the /64 of base,
// spread over its whole interface identifier, written as a proxy might
// put it in X-Forwarded-For (plain, with a port, in brackets, in capitals).
func addrIn(base netip.Prefix, i int) string {
	b := base.Masked().Addr().As16()
	binary.BigEndian.PutUint64(b[8:], uint64(i+1)*0x9e3779b97f4a7c15) // a bijection: all distinct
	a := netip.AddrFrom16(b)
	switch i % 4 {
	case 1:
		return netip.AddrPortFrom(a, uint16(1024+i)).String()
	case 2:
		return "[" + a.String() + "]"
	case 3:
		return strings.ToUpper(a.String())
	}
	return a.String()
}

// TestAddressesOfOneIPv6NetworkShareABudgetOverHTTP sends registrations
// from 200 addresses of one /64 through a trusted proxy: they share one
// budget, a client of the next /64 has its own, and the session still
// records the client's whole address.
func TestAddressesOfOneIPv6NetworkShareABudgetOverHTTP(t *testing.T) {
	const burst, many = 10, 200
	attacker := netip.MustParsePrefix("2001:db8:abcd:12::/64")
	ev := &events{}
	e := newEnv(t,
		withAuth(func(c *authkit.Config) {
			ev.hook(c)
			c.Limits.RegisterAddr = authkit.Limit{Burst: burst, Every: time.Hour}
		}),
		withHTTP(func(c *httpauth.Config) { c.TrustedProxies = loopback }))
	register := func(i int, client string) response {
		t.Helper()
		return e.do(req{method: http.MethodPost, path: "/register",
			body: map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": "securepass123"},
			// The left entry is the client's own claim; the proxy appended
			// the right one.
			header: map[string]string{"X-Forwarded-For": "192.0.2.99, " + client}})
	}
	created := 0
	for i := range many {
		switch res := register(i, addrIn(attacker, i)); res.status {
		case http.StatusCreated:
			created++
		default:
			assertRateLimited(t, res)
		}
	}
	assert.Equal(t, burst, created, "%d addresses of one /64 share one budget of %d", many, burst)
	assert.Len(t, ev.reasons(authkit.EventRateLimited), many-burst, "every refusal is reported")

	res := register(many, "[2001:db8:abcd:13::5]:443")
	require.Equal(t, http.StatusCreated, res.status, "the next /64 has its own budget: %s", res.body)
	var current string
	for _, s := range e.sessions(res.tokens(t).AccessToken).Sessions {
		if s.Current {
			current = s.ClientAddr
		}
	}
	assert.Equal(t, "2001:db8:abcd:13::5", current, "the session records the whole address, not its network")
}

// TestIPv4ClientsOverHTTP checks the IPv4 side of the rule through a
// trusted proxy: each IPv4 address counts alone, and its IPv4-mapped IPv6
// spelling is the same client.
func TestIPv4ClientsOverHTTP(t *testing.T) {
	e := newEnv(t,
		withAuth(func(c *authkit.Config) { c.Limits.TokenAddr = authkit.Limit{Burst: 1, Every: time.Hour} }),
		withHTTP(func(c *httpauth.Config) { c.TrustedProxies = loopback }))
	verify := func(client string) response {
		t.Helper()
		return e.do(req{method: http.MethodPost, path: "/verify-email",
			body: map[string]string{"token": "not-a-token"}, header: map[string]string{"X-Forwarded-For": client}})
	}
	assert.NotEqual(t, http.StatusTooManyRequests, verify("198.51.100.7").status, "the first request")
	assert.NotEqual(t, http.StatusTooManyRequests, verify("198.51.100.8").status, "a neighbouring IPv4 address counts alone")
	assertRateLimited(t, verify("::ffff:198.51.100.7"))
	assertRateLimited(t, verify("[::ffff:198.51.100.8]:443"))
}
