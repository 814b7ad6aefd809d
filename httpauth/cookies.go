package httpauth

import (
	"net/http"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// Names of the cookies of cookie mode (Config.Cookies). The __Host- prefix
// makes a browser refuse them unless they are Secure, have Path=/ and no
// Domain, so that no other host (a sibling subdomain, say) can plant or
// shadow them. Over plain HTTP to a loopback host, as in development, a
// browser would not send a Secure cookie back, so there they are set
// without Secure and without the prefix ("authkit_refresh",
// "authkit_access"), and only there are those names read.
const (
	// RefreshCookie holds the refresh token, in place of the token
	// response's refresh_token.
	RefreshCookie = "__Host-authkit_refresh"
	// AccessCookie holds the access token, when CookieConfig.AccessToken
	// is set.
	AccessCookie = "__Host-authkit_access"
)

// hostPrefix is the prefix of the cookies' names that plain-HTTP loopback
// requests go without.
const hostPrefix = "__Host-"

// CookieConfig configures cookie mode, for browser apps: see Config.Cookies.
type CookieConfig struct {
	// AccessToken also puts the access token in the AccessCookie, which
	// lives as long as the token, for server-rendered hosts whose pages
	// hold no script: RequireUser, LoadUser and the bearer endpoints then
	// accept it when a request has no Authorization header. If false, the
	// access token is only in the JSON body, for a script to keep in
	// memory and send as a bearer token.
	AccessToken bool

	// SameSite is the SameSite attribute of both cookies. If zero, the
	// RefreshCookie is SameSite=Strict (only the app's own pages ever call
	// refresh and logout) and the AccessCookie SameSite=Lax (so that a
	// link followed from elsewhere, an email say, still finds the user
	// signed in). http.SameSiteNoneMode is for an API on another site than
	// its app; browsers that block third-party cookies then drop them.
	SameSite http.SameSite
}

// cookieMode is the cookie setting of a Handler: nil when cookie mode is
// off.
type cookieMode struct {
	access      bool
	refreshSite http.SameSite
	accessSite  http.SameSite
	crossOrigin *http.CrossOriginProtection
}

// newCookieMode returns the cookie mode of c, with the cross-origin
// protection that trusts origins (Config.AllowedOrigins), or nil when c is
// nil.
func newCookieMode(c *CookieConfig, origins []string) (*cookieMode, error) {
	if c == nil {
		return nil, nil
	}
	m := &cookieMode{
		access:      c.AccessToken,
		refreshSite: http.SameSiteStrictMode,
		accessSite:  http.SameSiteLaxMode,
		crossOrigin: http.NewCrossOriginProtection(),
	}
	switch c.SameSite {
	case 0:
	case http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
		m.refreshSite, m.accessSite = c.SameSite, c.SameSite
	default:
		return nil, configError("Cookies.SameSite is not a SameSite mode")
	}
	for _, o := range origins {
		if err := m.crossOrigin.AddTrustedOrigin(o); err != nil {
			return nil, configError("AllowedOrigins: " + err.Error())
		}
	}
	return m, nil
}

// checkOrigin refuses a state-changing request of a browser on another
// origin than the API's and than every trusted one, with 403
// cross_origin. Requests that say nothing of their origin (no
// Sec-Fetch-Site, no Origin: not a browser's) and safe methods pass. It is
// nil when cookie mode is off, or when r carries its credentials in an
// Authorization header, which no other site can make a browser send.
func (h *Handler) checkOrigin(r *http.Request) error {
	if h.cookies == nil || r.Header.Get("Authorization") != "" {
		return nil
	}
	if err := h.cookies.crossOrigin.Check(r); err != nil {
		return errCrossOrigin
	}
	return nil
}

// cookieName returns name as set and read for r: without its __Host-
// prefix over plain HTTP to a loopback host.
func cookieName(r *http.Request, name string) string {
	if plainLoopback(r) {
		return strings.TrimPrefix(name, hostPrefix)
	}
	return name
}

// readCookie returns the value of r's cookie name (see cookieName), or "".
func readCookie(r *http.Request, name string) string {
	if c, err := r.Cookie(cookieName(r, name)); err == nil {
		return c.Value
	}
	return ""
}

// setCookie sets the cookie name on w for r's browser, to live for maxAge
// (deleted when maxAge is negative).
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration, site http.SameSite) {
	secure := !plainLoopback(r)
	// #nosec G124 -- HttpOnly and SameSite are always set, and Secure is
	// left off only on plain-HTTP loopback, where a browser would not send
	// a Secure cookie back.
	c := &http.Cookie{
		Name:     cookieName(r, name),
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		Secure:   secure,
		HttpOnly: true,
		SameSite: site,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	if c.SameSite == http.SameSiteNoneMode && !secure {
		c.SameSite = http.SameSiteLaxMode // browsers drop SameSite=None without Secure
	}
	http.SetCookie(w, c)
}

// keepTokens puts the tokens of a sign-in or refresh in the cookies, in
// cookie mode when r is a browser's, and returns the token response for
// the body: without its refresh token then.
func (h *Handler) keepTokens(w http.ResponseWriter, r *http.Request, t authkit.Tokens) tokenResponse {
	resp := newTokenResponse(t)
	if h.cookies == nil || !fromBrowser(r) {
		return resp
	}
	setCookie(w, r, RefreshCookie, t.RefreshToken, t.RefreshExpiresIn, h.cookies.refreshSite)
	resp.RefreshToken = ""
	h.keepAccessToken(w, r, t)
	return resp
}

// keepAccessToken sets t's access token in the AccessCookie when cookie
// mode asks for it.
func (h *Handler) keepAccessToken(w http.ResponseWriter, r *http.Request, t authkit.Tokens) {
	if h.cookies != nil && h.cookies.access && t.AccessToken != "" {
		setCookie(w, r, AccessCookie, t.AccessToken, t.ExpiresIn, h.cookies.accessSite)
	}
}

// fromBrowser reports whether r came from a browser that sends Fetch
// Metadata (every current one does, on every request): a header no page's
// script can set or remove. Other clients keep getting their tokens in
// the body in cookie mode.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") != ""
}

// forgetTokens deletes the cookies of cookie mode, after a logout.
func (h *Handler) forgetTokens(w http.ResponseWriter, r *http.Request) {
	if h.cookies == nil {
		return
	}
	setCookie(w, r, RefreshCookie, "", -1, h.cookies.refreshSite)
	if h.cookies.access {
		setCookie(w, r, AccessCookie, "", -1, h.cookies.accessSite)
	}
}

// refreshTokenOf returns the refresh token r shows: the one its body gave,
// else, in cookie mode, the RefreshCookie's.
func (h *Handler) refreshTokenOf(r *http.Request, fromBody string) string {
	if fromBody != "" || h.cookies == nil {
		return fromBody
	}
	return readCookie(r, RefreshCookie)
}

// accessTokenOf returns the access token of r: its Authorization header's
// bearer token, else, when cookie mode keeps the access token in the
// AccessCookie, that cookie's. It reports false when r has neither.
func (h *Handler) accessTokenOf(r *http.Request) (string, bool) {
	if token, ok := bearerToken(r); ok {
		return token, true
	}
	if h.cookies != nil && h.cookies.access {
		if token := readCookie(r, AccessCookie); token != "" {
			return token, true
		}
	}
	return "", false
}
