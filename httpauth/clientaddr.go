package httpauth

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/authkit/authkit"
)

// ClientAddr returns the IP address of the client that sent r, believing
// forwarding headers only when they come from a proxy in trusted.
//
// The rule, which a client cannot talk its way around:
//
//   - The direct peer is the host part of r.RemoteAddr. Unless it lies in
//     one of the trusted prefixes, it is the client, and X-Forwarded-For and
//     X-Real-IP are ignored: the client may have written them itself. With no
//     trusted prefixes (the default) the peer is always the client.
//   - When the peer is trusted, X-Forwarded-For (all its lines, in order, as
//     one list) is walked from the right. Each entry was appended by the hop
//     to its right, so an entry is believed only while every hop to its right
//     is trusted: trusted entries are skipped and the first untrusted one is
//     the client. An entry that is not an IP address ends the walk, and the
//     last trusted hop is returned, since what lies left of it may be forged.
//     When every entry is trusted, the left-most is returned.
//   - When the peer is trusted and sent no X-Forwarded-For, a valid
//     X-Real-IP is taken; otherwise the peer.
//
// List only proxies that append to X-Forwarded-For (or overwrite
// X-Real-IP) on every request. Addresses are normalized before they are
// compared and returned: an IPv4-mapped IPv6 address becomes IPv4 and IPv6
// zones are dropped, so neither notation can alias a trusted address; an
// entry may carry a port and IPv6 brackets ("[2001:db8::1]:443"). A
// RemoteAddr that holds no IP address (a Unix socket, say) is returned as it
// is.
//
// The whole address is returned, as sessions and events record it. The
// Handler passes it to the flows, whose per-address rate limits count it
// on its network (a /64 for IPv6 by default; see authkit.Limits.IPv6Prefix),
// so an IPv6 client cannot gain budget by rotating its addresses.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, ok := parseAddr(host)
	if !ok {
		return host
	}
	if !inAny(peer, trusted) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		if xri, ok := parseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ok {
			return xri.String()
		}
		return peer.String()
	}
	last := peer // the left-most hop believed so far
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			addr, ok := parseAddr(entry)
			if !ok {
				return last.String()
			}
			if !inAny(addr, trusted) {
				return addr.String()
			}
			last = addr
		}
	}
	return last.String()
}

// parseAddr parses an IP address, with or without a port or brackets
// ("[2001:db8::1]"), and normalizes it: IPv4-mapped IPv6 folds to IPv4 and
// the zone is dropped.
func parseAddr(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		switch {
		case perr == nil:
			addr = ap.Addr()
		case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
			if addr, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	return addr.Unmap().WithZone(""), true
}

// inAny reports whether addr lies in one of prefixes.
func inAny(addr netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// client describes r's sender for the flows' events and sessions.
func (h *Handler) client(r *http.Request) authkit.Client {
	return authkit.Client{Addr: ClientAddr(r, h.trusted), UserAgent: r.UserAgent()}
}
