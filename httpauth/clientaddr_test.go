package httpauth_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authkit/authkit/httpauth"
)

// TestClientAddrNotations checks the spellings of addresses that proxies
// and listeners produce: zones, brackets and ports are understood, the
// whole address comes back, and broken forms end the walk like any other
// garbage.
func TestClientAddrNotations(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fe80::/10")}
	cases := []struct {
		name   string
		remote string
		xff    string
		want   string
	}{
		{"zoned peer with port", "[fe80::1%eth0]:5000", "", "fe80::1"},
		{"zoned peer is trusted without its zone", "[fe80::1%eth0]:5000", "2001:db8:1:2::7", "2001:db8:1:2::7"},
		{"bracketed peer without port", "[2001:db8::7]", "", "2001:db8::7"},
		{"bracketed entry without port", "10.0.0.1:5000", "[2001:db8:1:2::7]", "2001:db8:1:2::7"},
		{"bracketed zoned entry with port", "10.0.0.1:5000", "[fe80::9%en0]:443, 203.0.113.7", "203.0.113.7"},
		{"whole IPv6 address, not its network", "10.0.0.1:5000", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"},
		{"mapped entry with port", "10.0.0.1:5000", "[::ffff:203.0.113.7]:80", "203.0.113.7"},
		{"lone bracket", "10.0.0.1:5000", "[", "10.0.0.1"},
		{"empty brackets", "10.0.0.1:5000", "[]", "10.0.0.1"},
		{"unclosed bracket", "10.0.0.1:5000", "[2001:db8::7", "10.0.0.1"},
		{"double brackets", "10.0.0.1:5000", "[[2001:db8::7]]", "10.0.0.1"},
		{"empty zone", "10.0.0.1:5000", "fe80::1%", "10.0.0.1"},
		{"zone alone", "10.0.0.1:5000", "%eth0", "10.0.0.1"},
		{"zone on IPv4", "10.0.0.1:5000", "203.0.113.7%eth0", "10.0.0.1"},
		{"port alone", "10.0.0.1:5000", ":80", "10.0.0.1"},
		{"port out of range", "10.0.0.1:5000", "[2001:db8::7]:99999", "10.0.0.1"},
		{"a network", "10.0.0.1:5000", "2001:db8::/32", "10.0.0.1"},
		{"RemoteAddr with an empty zone", "[fe80::1%]:5000", "", "fe80::1%"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			if c.xff != "" {
				r.Header.Set("X-Forwarded-For", c.xff)
			}
			assert.Equal(t, c.want, httpauth.ClientAddr(r, trusted))
		})
	}
}

// FuzzClientAddr checks that no RemoteAddr or forwarding header makes
// ClientAddr panic, and that what it returns is either a normalized IP
// address (no zone, IPv4-mapped folded to IPv4) or, for a peer without
// one, the peer as it is.
func FuzzClientAddr(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.0.1:5000", "203.0.113.7", ""},
		{"[fe80::1%eth0]:5000", "[fe80::9%en0]:443, ::ffff:203.0.113.7", ""},
		{"[2001:db8::1]", "[2001:db8::7]", "[::1]"},
		{"10.0.0.1:5000", "", "::ffff:10.0.0.2"},
		{"10.0.0.1:5000", "[, ], [], %, :80, 1.2.3.4%x", "nonsense"},
		{"@", "203.0.113.7", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, remote, xff, realIP string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header["X-Forwarded-For"] = []string{xff}
		r.Header["X-Real-Ip"] = []string{realIP}
		got := httpauth.ClientAddr(r, trusted)
		if a, err := netip.ParseAddr(got); err == nil && a.String() == got && a.Zone() == "" && !a.Is4In6() {
			return
		}
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		if got != host {
			t.Errorf("ClientAddr(RemoteAddr %q, X-Forwarded-For %q, X-Real-IP %q) = %q: neither a normalized IP nor the peer", remote, xff, realIP, got)
		}
	})
}
