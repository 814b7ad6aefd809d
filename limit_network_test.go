package authkit_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// addrIn returns the i-th of many distinct addresses of the /64 of base,
// spread over its whole interface identifier, as an attacker who owns the
// /64 would pick them, and written in one of the notations a caller may
// pass (plain, with a port, with brackets, in capitals).
func addrIn(base netip.Prefix, i int) string {
	b := base.Masked().Addr().As16()
	binary.BigEndian.PutUint64(b[8:], uint64(i+1)*0x9e3779b97f4a7c15) // a bijection: all distinct
	a := netip.AddrFrom16(b).String()
	switch i % 4 {
	case 1:
		return netip.AddrPortFrom(netip.AddrFrom16(b), uint16(1024+i)).String()
	case 2:
		return "[" + a + "]"
	case 3:
		return strings.ToUpper(a)
	}
	return a
}

// TestAddressesOfOneIPv6NetworkShareABudget attacks each per-address limit
// from 200 addresses of one /64: they get one budget between them, not one
// each, while a client in the next /64 keeps its own.
func TestAddressesOfOneIPv6NetworkShareABudget(t *testing.T) {
	const burst, many = 10, 200
	attacker := netip.MustParsePrefix("2001:db8:abcd:12::/64")
	neighbour := netip.MustParsePrefix("2001:db8:abcd:13::/64")
	cases := []struct {
		limit string // the Reason of EventRateLimited
		set   func(*authkit.Limits, authkit.Limit)
		try   func(k *kit, i int, c authkit.Client) error
		pass  error // what an attempt the limit lets through returns
	}{
		{"login_addr", func(l *authkit.Limits, v authkit.Limit) { l.LoginAddr = v },
			func(k *kit, i int, c authkit.Client) error {
				_, err := k.Login(t.Context(), fmt.Sprintf("login%d@example.com", i), "wrong-password", c)
				return err
			}, authkit.ErrInvalidCredentials},
		{"register_addr", func(l *authkit.Limits, v authkit.Limit) { l.RegisterAddr = v },
			func(k *kit, i int, c authkit.Client) error {
				_, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("new%d@example.com", i), Password: pw}, c)
				return err
			}, nil},
		{"mail_addr", func(l *authkit.Limits, v authkit.Limit) { l.MailAddr = v },
			func(k *kit, i int, c authkit.Client) error {
				return k.ForgotPassword(t.Context(), fmt.Sprintf("mail%d@example.com", i), c)
			}, nil},
		{"token_addr", func(l *authkit.Limits, v authkit.Limit) { l.TokenAddr = v },
			func(k *kit, _ int, c authkit.Client) error {
				_, err := k.VerifyEmail(t.Context(), "not-a-token", c)
				return err
			}, authkit.ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.limit, func(t *testing.T) {
			k := newKit(t, func(c *authkit.Config) {
				tc.set(&c.Limits, authkit.Limit{Burst: burst, Every: time.Hour})
			})
			// allowed makes one attempt from addr and reports whether the
			// limit let it through.
			allowed := func(i int, addr string) bool {
				t.Helper()
				err := tc.try(k, i, authkit.Client{Addr: addr})
				if errors.Is(err, authkit.ErrRateLimited) {
					return false
				}
				if tc.pass == nil {
					require.NoError(t, err, "attempt %d from %s", i, addr)
				} else {
					require.ErrorIs(t, err, tc.pass, "attempt %d from %s", i, addr)
				}
				return true
			}
			var passed []string
			for i := range many {
				if addr := addrIn(attacker, i); allowed(i, addr) {
					passed = append(passed, addr)
				}
			}
			assert.Len(t, passed, burst, "%d addresses of one /64 share one budget of %d; let through: %v", many, burst, passed)
			ev, ok := k.events.last(authkit.EventRateLimited)
			require.True(t, ok, "refusals are reported")
			assert.Equal(t, tc.limit, ev.Reason)
			assert.Equal(t, addrIn(attacker, many-1), ev.ClientAddr, "events record the address as given, not its network")

			assert.True(t, allowed(many, addrIn(neighbour, 0)), "the next /64 has a budget of its own")
			k.clock.Advance(time.Hour)
			assert.True(t, allowed(many+1, addrIn(attacker, many+1)), "the shared budget refills by one per Every")
			assert.False(t, allowed(many+2, addrIn(attacker, many+2)), "and by no more")
		})
	}
}

// tokenBudget returns a kit whose TokenAddr budget is one request an hour,
// with change applied to its Limits, and a function that spends one
// request from an address, reporting whether it was let through.
func tokenBudget(t *testing.T, change func(*authkit.Limits)) func(addr string) bool {
	t.Helper()
	k := newKit(t, func(c *authkit.Config) {
		c.Limits.TokenAddr = authkit.Limit{Burst: 1, Every: time.Hour}
		if change != nil {
			change(&c.Limits)
		}
	})
	return func(addr string) bool {
		t.Helper()
		_, err := k.VerifyEmail(t.Context(), "not-a-token", authkit.Client{Addr: addr})
		if errors.Is(err, authkit.ErrRateLimited) {
			return false
		}
		require.ErrorIs(t, err, authkit.ErrInvalidToken, "VerifyEmail from %q", addr)
		return true
	}
}

// TestWhichAddressesShareABudget is the table of the rule: which two
// client addresses count as one client.
func TestWhichAddressesShareABudget(t *testing.T) {
	ipv4 := func(n int) func(*authkit.Limits) { return func(l *authkit.Limits) { l.IPv4Prefix = n } }
	ipv6 := func(n int) func(*authkit.Limits) { return func(l *authkit.Limits) { l.IPv6Prefix = n } }
	cases := []struct {
		name   string
		limits func(*authkit.Limits)
		a, b   string
		share  bool
	}{
		{"IPv4 addresses count alone by default", nil, "203.0.113.5", "203.0.113.6", false},
		{"the same IPv4 address with a port", nil, "203.0.113.5", "203.0.113.5:4711", true},
		{"IPv4Prefix 24 joins a /24", ipv4(24), "203.0.113.5", "203.0.113.250", true},
		{"IPv4Prefix 24 keeps other /24s apart", ipv4(24), "203.0.113.5", "203.0.114.5", false},
		{"IPv4-mapped IPv6 is the IPv4 address", nil, "::ffff:203.0.113.5", "203.0.113.5", true},
		{"IPv4-mapped IPv6 with brackets and port", nil, "[::ffff:203.0.113.5]:443", "203.0.113.5:80", true},
		{"IPv4-mapped IPv6 takes IPv4Prefix", ipv4(24), "::ffff:203.0.113.5", "203.0.113.77", true},
		{"IPv4-mapped IPv6 is not one /64 for all of IPv4", nil, "::ffff:203.0.113.5", "::ffff:198.51.100.1", false},
		{"IPv6Prefix does not join IPv4", ipv6(1), "203.0.113.5", "198.51.100.1", false},
		{"one /64", nil, "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"the next /64", nil, "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"IPv6Prefix 48 joins a /48", ipv6(48), "2001:db8:1:2::1", "2001:db8:1:ff::1", true},
		{"IPv6Prefix 48 keeps other /48s apart", ipv6(48), "2001:db8:1:2::1", "2001:db8:2:2::1", false},
		{"IPv6Prefix 128 counts each address", ipv6(128), "2001:db8:1:2::1", "2001:db8:1:2::2", false},
		{"IPv4Prefix does not join IPv6", ipv4(1), "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"zones are ignored", nil, "fe80::1%eth0", "fe80::2%eth1", true},
		{"zone with brackets and port", nil, "[fe80::1%eth0]:443", "fe80::99", true},
		{"brackets without a port", nil, "[2001:db8:1:2::1]", "2001:db8:1:2::2", true},
		{"capitals and written-out zeros", nil, "2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::7", true},
		{"surrounding spaces", nil, " 2001:db8:1:2::1 ", "2001:db8:1:2::9", true},
		{"made-up values share one budget", nil, "client-1", "client-2", true},
		{"only spaces is a made-up value, not no address", nil, "   ", "client-2", true},
		{"a network is not an address", nil, "2001:db8::/32", "unknown", true},
		{"IPv4 with a zone is made up", nil, "203.0.113.5%eth0", "203.0.113.5.1", true},
		{"a made-up value and an address", nil, "unknown", "203.0.113.5", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spend := tokenBudget(t, c.limits)
			require.True(t, spend(c.a), "the first request from %q", c.a)
			assert.Equal(t, !c.share, spend(c.b), "%q after %q: share a budget = %v", c.b, c.a, c.share)
		})
	}
}

// TestMadeUpAddressesGainNothing sends values that are no IP address, the
// way a caller that copies a header into Client.Addr might: none gets a
// budget of its own, and none makes the kit panic.
func TestMadeUpAddressesGainNothing(t *testing.T) {
	spend := tokenBudget(t, nil)
	values := []string{
		"unknown", "[", "]", "[]", "[[::1]]", "[::1", "::1]", "[::1]:", "[::1]:99999", ":80", "%", "%eth0",
		"fe80::1%", "[fe80::1%]:80", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::ffff:1.2.3", "2001:db8::g",
		"203.0.113.5, 198.51.100.1", "http://203.0.113.5/", "unix:/run/app.sock", "@", strings.Repeat("a", 1<<16),
		"\x00", "１.２.３.４",
	}
	require.True(t, spend(values[0]), "the first made-up value")
	for _, v := range values[1:] {
		assert.False(t, spend(v), "%q shares the budget of made-up values", v)
	}
	assert.True(t, spend("203.0.113.5"), "a real address has its own budget")

	nobody := tokenBudget(t, nil)
	for range 3 {
		assert.True(t, nobody(""), "no address at all: per-address limits do not apply")
	}
}

// TestAddressPrefixesAreValidated checks that New refuses network lengths
// that are no prefix of their family.
func TestAddressPrefixesAreValidated(t *testing.T) {
	newWith := func(l authkit.Limits) error {
		_, err := authkit.New(authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", Limits: l})
		return err
	}
	for name, l := range map[string]authkit.Limits{
		"negative IPv4Prefix":   {IPv4Prefix: -1},
		"IPv4Prefix over 32":    {IPv4Prefix: 33},
		"negative IPv6Prefix":   {IPv6Prefix: -64},
		"IPv6Prefix over 128":   {IPv6Prefix: 129},
		"IPv6 length for IPv4":  {IPv4Prefix: 64},
		"IPv6Prefix far beyond": {IPv6Prefix: 1 << 20},
	} {
		assert.ErrorIs(t, newWith(l), authkit.ErrConfig, name)
	}
	for name, l := range map[string]authkit.Limits{
		"defaults":      {},
		"shortest":      {IPv4Prefix: 1, IPv6Prefix: 1},
		"single hosts":  {IPv4Prefix: 32, IPv6Prefix: 128},
		"typical sites": {IPv4Prefix: 24, IPv6Prefix: 48},
	} {
		assert.NoError(t, newWith(l), name)
	}
}
