package httpauth

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// DeviceCookie is the name of the cookie in which the Handler keeps a
// browser's device credential (authkit.NewDeviceToken): set by every
// successful register and login, read back by login and change-password
// when the body carries no device_token. A login that shows a valid
// credential of the account is held to that device's own budget of
// guesses, so guesses made elsewhere at the account's password cannot
// keep the owner out (see authkit.Limits).
//
// The cookie is HttpOnly (no script reads it), SameSite=Lax, Path=/, and
// lives authkit.Config.DeviceTTL (Max-Age). It is Secure unless the
// request was plain HTTP to a loopback host (localhost, 127.0.0.1, ::1),
// as in development; behind a proxy that forwards plain HTTP to a
// loopback address, a browser's Origin header (https://…) keeps it
// Secure. One browser keeps one credential: the account last signed in
// on it. Logging out does not remove it, as the device has still signed
// in before.
const DeviceCookie = "authkit_device"

// deviceOf returns the device credential r shows: the one its body gave,
// else the one in its DeviceCookie, else "". It is not checked here:
// authkit ignores one that is not good for the account.
func deviceOf(r *http.Request, fromBody string) string {
	if fromBody != "" {
		return fromBody
	}
	if c, err := r.Cookie(DeviceCookie); err == nil {
		return c.Value
	}
	return ""
}

// rememberDevice sets the device credential of the sign-in t, if it has
// one, as the DeviceCookie on w and returns it for the token response.
// Without one the sign-in stands: the client then simply counts as a new
// device at its next login.
func (h *Handler) rememberDevice(w http.ResponseWriter, r *http.Request, t authkit.Tokens) string {
	d := t.Device
	if d.Token == "" {
		return ""
	}
	// #nosec G124 -- Secure, HttpOnly and SameSite are all set; Secure is
	// left off only on plain-HTTP loopback, where a browser would not send
	// a Secure cookie back.
	http.SetCookie(w, &http.Cookie{
		Name:     DeviceCookie,
		Value:    d.Token,
		Path:     "/",
		MaxAge:   int(d.ExpiresIn / time.Second),
		Secure:   !plainLoopback(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return d.Token
}

// plainLoopback reports whether r came over plain HTTP to a loopback
// host, where a browser would not send back a Secure cookie. The browser's
// Origin header, when there is one, says where it believes it is, which a
// proxy that forwards to a loopback address (and rewrites Host to it)
// cannot hide; else r.Host.
func plainLoopback(r *http.Request) bool {
	if r.TLS != nil {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		return err == nil && u.Scheme == "http" && loopbackHost(u.Hostname())
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	return loopbackHost(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// loopbackHost reports whether host (a name or an IP address, without a
// port or brackets) names this machine: "localhost" or a name under it
// (RFC 6761), or a loopback address.
func loopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
