package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
)

// cookieEnv is an env in cookie mode, with the access-token cookie when
// access is set, and with the trusted origins https://app.example.com and
// http://localhost:3000 (an app in development).
func cookieEnv(t *testing.T, access bool, changes ...func(*setup)) *env {
	t.Helper()
	return newEnv(t, append([]func(*setup){withHTTP(func(c *httpauth.Config) {
		c.Cookies = &httpauth.CookieConfig{AccessToken: access}
		c.AllowedOrigins = []string{"https://app.example.com", "http://localhost:3000"}
	})}, changes...)...)
}

// cookieOf returns the cookie name that res sets, or nil.
func cookieOf(res response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// withCookies returns the headers of a browser request on the API's own
// origin (Sec-Fetch-Site: same-origin) carrying cookies.
func withCookies(cookies ...*http.Cookie) map[string]string {
	parts := make([]string, len(cookies))
	for i, c := range cookies {
		parts[i] = c.Name + "=" + c.Value
	}
	return map[string]string{"Cookie": strings.Join(parts, "; "), "Sec-Fetch-Site": "same-origin"}
}

// crossSite turns browser headers into those of a request from a page on
// origin, another site.
func crossSite(h map[string]string, origin string) map[string]string {
	out := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": origin}
	for k, v := range h {
		if k != "Sec-Fetch-Site" {
			out[k] = v
		}
	}
	return out
}

// signInWithCookies registers and logs in email in cookie mode and returns
// the login's answer.
func signInWithCookies(t *testing.T, e *env, email string) response {
	t.Helper()
	e.register(email, "correct horse battery staple")
	res := e.do(req{method: http.MethodPost, path: "/login", body: map[string]string{"email": email, "password": "correct horse battery staple"},
		header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	require.Equal(t, http.StatusOK, res.status, "login: %s", res.body)
	return res
}

// TestCookieModeKeepsRefreshTokenFromScripts checks that for a browser
// login and refresh put the refresh token in an HttpOnly cookie and not in
// the body, that refresh and logout read it from there, and that logout
// deletes it and ends the session; other clients get it in the body.
func TestCookieModeKeepsRefreshTokenFromScripts(t *testing.T) {
	e := cookieEnv(t, false)
	res := signInWithCookies(t, e, "ada@example.com")
	assert.NotContains(t, res.json(t), "refresh_token", "no refresh token in the body a script reads")
	assert.NotEmpty(t, res.tokens(t).AccessToken, "the access token stays in the body, for memory")
	c := cookieOf(res, "authkit_refresh") // plain-HTTP loopback: no __Host- prefix
	require.NotNil(t, c, "refresh cookie set: %v", res.header["Set-Cookie"])
	assert.True(t, c.HttpOnly, "HttpOnly")
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite, "SameSite")
	assert.Equal(t, "/", c.Path, "Path")
	assert.Greater(t, c.MaxAge, int((24 * time.Hour).Seconds()), "lives as long as the session")
	assert.Nil(t, cookieOf(res, httpauth.AccessCookie), "no access cookie unless asked for")
	assert.Nil(t, cookieOf(res, "authkit_access"), "no access cookie unless asked for")

	// Refresh with an empty body, from the cookie.
	ref := e.do(req{method: http.MethodPost, path: "/refresh", header: withCookies(c)})
	require.Equal(t, http.StatusOK, ref.status, "refresh from the cookie: %s", ref.body)
	assert.NotContains(t, ref.json(t), "refresh_token")
	next := cookieOf(ref, "authkit_refresh")
	require.NotNil(t, next, "refresh rotates the cookie")
	assert.NotEqual(t, c.Value, next.Value, "a new refresh token")

	// Logout from the cookie deletes it, and the session is over.
	out := e.do(req{method: http.MethodPost, path: "/logout", header: withCookies(next)})
	require.Equal(t, http.StatusNoContent, out.status, "logout: %s", out.body)
	gone := cookieOf(out, "authkit_refresh")
	require.NotNil(t, gone, "logout deletes the cookie")
	assert.Less(t, gone.MaxAge, 0, "deleted")
	again := e.do(req{method: http.MethodPost, path: "/refresh", header: withCookies(next)})
	assertProblem(t, again, http.StatusUnauthorized, "invalid_token")

	// A client that is no browser (no Fetch Metadata) keeps getting its
	// refresh token in the body, and no cookie.
	api := e.login("ada@example.com", "correct horse battery staple")
	assert.NotEmpty(t, api.RefreshToken, "refresh token in the body for a client that is no browser")

	// Without a cookie and without a body: the field is required.
	none := e.do(req{method: http.MethodPost, path: "/refresh", header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	assertProblem(t, none, http.StatusBadRequest, "invalid_input")
}

// TestCookieModeOverHTTPS checks the cookies of a real deployment: Secure,
// __Host- prefixed, and read back only under that name.
func TestCookieModeOverHTTPS(t *testing.T) {
	e := cookieEnv(t, true, func(s *setup) { s.tls = true })
	res := signInWithCookies(t, e, "ada@example.com")
	for _, name := range []string{httpauth.RefreshCookie, httpauth.AccessCookie} {
		c := cookieOf(res, name)
		if assert.NotNil(t, c, "%s set: %v", name, res.header["Set-Cookie"]) {
			assert.True(t, c.Secure, "%s Secure", name)
			assert.True(t, c.HttpOnly, "%s HttpOnly", name)
			assert.Equal(t, "/", c.Path, "%s Path", name)
			assert.Empty(t, c.Domain, "%s has no Domain", name)
		}
	}
	assert.Equal(t, http.SameSiteLaxMode, cookieOf(res, httpauth.AccessCookie).SameSite, "access cookie SameSite")
	refresh := cookieOf(res, httpauth.RefreshCookie)

	// The unprefixed name, which any subdomain could plant, counts for
	// nothing over HTTPS.
	planted := &http.Cookie{Name: "authkit_refresh", Value: refresh.Value}
	assertProblem(t, e.do(req{method: http.MethodPost, path: "/refresh", header: withCookies(planted)}), http.StatusBadRequest, "invalid_input")
	ok := e.do(req{method: http.MethodPost, path: "/refresh", header: withCookies(refresh)})
	assert.Equal(t, http.StatusOK, ok.status, "the prefixed cookie refreshes: %s", ok.body)
}

// TestCookieModeAccessCookie checks that with CookieConfig.AccessToken the
// middleware and the bearer endpoints accept the access cookie, that a
// cookie never outranks an Authorization header, and that logout-all
// deletes both cookies.
func TestCookieModeAccessCookie(t *testing.T) {
	e := cookieEnv(t, true)
	res := signInWithCookies(t, e, "ada@example.com")
	access := cookieOf(res, "authkit_access")
	require.NotNil(t, access, "access cookie set: %v", res.header["Set-Cookie"])
	assert.Equal(t, int(authkit.DefaultAccessTokenTTL/time.Second), access.MaxAge, "lives as long as the token")
	refresh := cookieOf(res, "authkit_refresh")

	hello := e.do(req{method: http.MethodGet, path: "/api/hello", header: withCookies(access)})
	assert.Equal(t, http.StatusOK, hello.status, "RequireUser takes the cookie: %s", hello.body)
	me := e.do(req{method: http.MethodGet, path: "/me", header: withCookies(access)})
	assert.Equal(t, http.StatusOK, me.status, "/me takes the cookie: %s", me.body)
	maybe := e.do(req{method: http.MethodGet, path: "/api/maybe", header: withCookies(access)})
	assert.Equal(t, "user ada@example.com", string(maybe.body), "LoadUser takes the cookie")

	// A bad bearer header is refused even beside a good cookie.
	h := withCookies(access)
	h["Authorization"] = "Bearer not-a-token"
	assertProblem(t, e.do(req{method: http.MethodGet, path: "/me", header: h}), http.StatusUnauthorized, "unauthorized")

	out := e.do(req{method: http.MethodPost, path: "/logout-all", header: withCookies(access, refresh)})
	require.Equal(t, http.StatusNoContent, out.status, "logout-all with the cookie: %s", out.body)
	for _, name := range []string{"authkit_access", "authkit_refresh"} {
		if c := cookieOf(out, name); assert.NotNil(t, c, "logout-all deletes %s", name) {
			assert.Less(t, c.MaxAge, 0, "%s deleted", name)
		}
	}
	after := e.do(req{method: http.MethodGet, path: "/api/hello", header: withCookies(access)})
	assertProblem(t, after, http.StatusUnauthorized, "unauthorized")
}

// TestCookieModeRefusesCrossSiteRequests attacks with the victim's cookies
// from another site, as a form post and as a fetch would: refresh, logout,
// logout-all, change-password and a state-changing host route are all
// refused with 403 cross_origin, and nothing changed (the same cookies
// still work from the app's own origin). Bearer-header requests and
// clients that are not browsers are unaffected, and a trusted origin may.
func TestCookieModeRefusesCrossSiteRequests(t *testing.T) {
	var e *env
	e = cookieEnv(t, true, func(s *setup) {
		s.wrap = func(next http.Handler) http.Handler {
			transfer := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
			mux := http.NewServeMux()
			mux.Handle("/", next)
			mux.HandleFunc("POST /api/transfer", func(w http.ResponseWriter, r *http.Request) {
				e.h.RequireUser(transfer).ServeHTTP(w, r)
			})
			return mux
		}
	})
	res := signInWithCookies(t, e, "ada@example.com")
	access, refresh := cookieOf(res, "authkit_access"), cookieOf(res, "authkit_refresh")
	cookies := withCookies(access, refresh)

	attacks := []struct {
		name   string
		path   string
		body   any
		header map[string]string
	}{
		{"form post to refresh", "/refresh", nil, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		{"fetch to refresh", "/refresh", nil, nil},
		{"fetch to logout", "/logout", nil, nil},
		{"fetch to logout-all", "/logout-all", nil, nil},
		{"fetch to change-password", "/change-password", map[string]string{"current_password": "correct horse battery staple", "new_password": "attacker's choice 1"}, nil},
		{"form post to a host route", "/api/transfer", nil, map[string]string{"Content-Type": "text/plain"}},
		{"login into the attacker's account", "/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"}, nil},
	}
	for _, a := range attacks {
		for _, origin := range []string{"https://evil.example", "null", "https://app.example.com.evil.example"} {
			h := crossSite(cookies, origin)
			for k, v := range a.header {
				h[k] = v
			}
			res := e.do(req{method: http.MethodPost, path: a.path, body: a.body, header: h})
			assertProblem(t, res, http.StatusForbidden, "cross_origin")
			assert.Empty(t, res.header.Values("Set-Cookie"), "%s from %s sets no cookie", a.name, origin)
		}
	}
	// Same-site but another origin (a sibling subdomain) is not trusted
	// either; nor is an Origin that differs from the host when the browser
	// sends no Sec-Fetch-Site.
	h := withCookies(refresh)
	h["Sec-Fetch-Site"], h["Origin"] = "same-site", "https://blog.example.com"
	assertProblem(t, e.do(req{method: http.MethodPost, path: "/logout", header: h}), http.StatusForbidden, "cross_origin")
	h = withCookies(refresh)
	h["Sec-Fetch-Site"], h["Origin"] = "", "https://evil.example"
	assertProblem(t, e.do(req{method: http.MethodPost, path: "/logout", header: h}), http.StatusForbidden, "cross_origin")

	// Nothing changed: the old password works, the session stands.
	e.login("ada@example.com", "correct horse battery staple")
	ok := e.do(req{method: http.MethodPost, path: "/api/transfer", header: cookies})
	assert.Equal(t, http.StatusNoContent, ok.status, "same-origin host route with the cookie: %s", ok.body)
	ref := e.do(req{method: http.MethodPost, path: "/refresh", header: cookies})
	require.Equal(t, http.StatusOK, ref.status, "the session stands after the attacks: %s", ref.body)
	refresh = cookieOf(ref, "authkit_refresh")

	// A trusted origin may; so may a bearer header from anywhere, and a
	// client that is no browser.
	trusted := crossSite(withCookies(refresh), "http://localhost:3000")
	ref = e.do(req{method: http.MethodPost, path: "/refresh", header: trusted})
	require.Equal(t, http.StatusOK, ref.status, "refresh from the trusted origin: %s", ref.body)
	refresh = cookieOf(ref, "authkit_refresh")
	bearer := crossSite(nil, "https://evil.example")
	bearer["Authorization"] = "Bearer " + ref.tokens(t).AccessToken
	assert.Equal(t, http.StatusNoContent, e.do(req{method: http.MethodPost, path: "/api/transfer", header: bearer}).status, "bearer header from anywhere")
	plain := map[string]string{"Cookie": "authkit_refresh=" + refresh.Value}
	assert.Equal(t, http.StatusOK, e.do(req{method: http.MethodPost, path: "/refresh", header: plain}).status, "a client that is no browser")
}

// TestCookieModeOffIgnoresCookies checks that without cookie mode the
// cookies mean nothing: tokens travel in bodies, as before.
func TestCookieModeOffIgnoresCookies(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse battery staple")
	assert.NotEmpty(t, tk.RefreshToken, "refresh token in the body")
	h := withCookies(&http.Cookie{Name: "authkit_refresh", Value: tk.RefreshToken}, &http.Cookie{Name: "authkit_access", Value: tk.AccessToken})
	assertProblem(t, e.do(req{method: http.MethodPost, path: "/refresh", header: h}), http.StatusBadRequest, "invalid_input")
	assertProblem(t, e.do(req{method: http.MethodGet, path: "/me", header: h}), http.StatusUnauthorized, "unauthorized")
	h = crossSite(nil, "https://evil.example")
	res := e.do(req{method: http.MethodPost, path: "/refresh", body: map[string]string{"refresh_token": tk.RefreshToken}, header: h})
	assert.Equal(t, http.StatusOK, res.status, "no origin check without cookies: %s", res.body)
}

// TestCORS checks the answers to browser apps on other origins: a listed
// origin gets its preflight answered and its answers shared with
// credentials; an unlisted one and "null" get nothing.
func TestCORS(t *testing.T) {
	e := newEnv(t, withHTTP(func(c *httpauth.Config) {
		c.AllowedOrigins = []string{"https://app.example.com", "http://localhost:5173"}
	}))
	preflight := func(origin string) response {
		return e.do(req{method: http.MethodOptions, path: "/login", header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
		}})
	}
	for _, origin := range []string{"https://app.example.com", "http://localhost:5173"} {
		res := preflight(origin)
		assert.Equal(t, http.StatusNoContent, res.status, "preflight from %s", origin)
		assert.Equal(t, origin, res.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, res.header.Get("Access-Control-Allow-Methods"), "POST")
		assert.Contains(t, res.header.Get("Access-Control-Allow-Headers"), "Content-Type")
		assert.Contains(t, res.header.Get("Access-Control-Allow-Headers"), "Authorization")
		assert.Contains(t, res.header.Values("Vary"), "Origin")
	}
	for _, origin := range []string{"https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com"} {
		res := preflight(origin)
		assert.Equal(t, http.StatusMethodNotAllowed, res.status, "preflight from %s is unchanged", origin)
		assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"), "no CORS for %s", origin)
		assert.Empty(t, res.header.Get("Access-Control-Allow-Credentials"), "no credentials for %s", origin)
		assert.Contains(t, res.header.Values("Vary"), "Origin", "answers vary by origin")
	}

	// An actual request from a listed origin, and from an unlisted one.
	res := e.do(req{method: http.MethodPost, path: "/login", body: map[string]string{"email": "x@example.com", "password": "wrong password 1"},
		header: map[string]string{"Origin": "https://app.example.com"}})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	assert.Equal(t, "https://app.example.com", res.header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.header.Get("Access-Control-Allow-Credentials"))
	assert.Contains(t, res.header.Get("Access-Control-Expose-Headers"), "Retry-After")
	res = e.do(req{method: http.MethodPost, path: "/login", body: map[string]string{"email": "x@example.com", "password": "wrong password 1"},
		header: map[string]string{"Origin": "https://evil.example"}})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))

	// Host routes get the same policy through Handler.CORS.
	hello := httptestRecord(e.h.CORS(http.NotFoundHandler()), http.MethodOptions, map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
	assert.Equal(t, http.StatusNoContent, hello.Code, "host route preflight")

	// Without AllowedOrigins nothing changes.
	plain := newEnv(t)
	res = plain.do(req{method: http.MethodOptions, path: "/login", header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}})
	assert.Equal(t, http.StatusMethodNotAllowed, res.status)
	assert.Empty(t, res.header.Get("Access-Control-Allow-Origin"))
	assert.Empty(t, res.header.Values("Vary"))
}

// TestCookieAndCORSConfig checks that New refuses origins that cannot be
// trusted and SameSite values that are no mode.
func TestCookieAndCORSConfig(t *testing.T) {
	a := newEnv(t).auth
	for _, bad := range []string{"*", "null", "app.example.com", "https://app.example.com/", "https://app.example.com/path",
		"ftp://app.example.com", "https://user@app.example.com", "https://app.example.com?x", "https://"} {
		_, err := httpauth.New(httpauth.Config{Authenticator: a, AllowedOrigins: []string{bad}})
		assert.ErrorIs(t, err, authkit.ErrConfig, "AllowedOrigins %q", bad)
	}
	_, err := httpauth.New(httpauth.Config{Authenticator: a, Cookies: &httpauth.CookieConfig{SameSite: 7}})
	assert.ErrorIs(t, err, authkit.ErrConfig, "SameSite 7")
	_, err = httpauth.New(httpauth.Config{Authenticator: a, Cookies: &httpauth.CookieConfig{SameSite: http.SameSiteNoneMode},
		AllowedOrigins: []string{"https://app.example.com", "http://localhost:3000"}})
	assert.NoError(t, err)
}

// httptestRecord serves one request with header to h and records the
// answer.
func httptestRecord(h http.Handler, method string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
