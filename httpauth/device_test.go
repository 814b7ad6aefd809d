package httpauth_test

import (
	"fmt"
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

// deviceCookie returns the device cookie that res sets, failing the test
// when there is none.
func deviceCookie(t testing.TB, res response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == httpauth.DeviceCookie {
			return c
		}
	}
	require.Failf(t, "no device cookie", "Set-Cookie: %q", res.header.Values("Set-Cookie"))
	return nil
}

// deviceToken returns the device_token of a token response.
func deviceToken(t testing.TB, res response) string {
	t.Helper()
	tok, _ := res.json(t)["device_token"].(string)
	require.NotEmpty(t, tok, "device_token in %s", res.body)
	return tok
}

// TestSignInsHandOutADeviceCredential: register and login answer with a
// device_token, and set it as an HttpOnly, SameSite=Lax cookie for the
// whole site that lives DeviceTTL; every login a fresh one. A refresh
// proves no password and hands out none.
func TestSignInsHandOutADeviceCredential(t *testing.T) {
	e := newEnv(t)
	res := e.post("/register", map[string]string{"email": "dev@example.com", "password": "securepass123"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	e.mail.Next(t, authkit.MessageVerifyEmail)
	reg := deviceCookie(t, res)
	assert.Equal(t, deviceToken(t, res), reg.Value, "the body and the cookie carry the same credential")

	res = e.post("/login", map[string]string{"email": "dev@example.com", "password": "securepass123"})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	c := deviceCookie(t, res)
	assert.Equal(t, deviceToken(t, res), c.Value)
	assert.NotEqual(t, reg.Value, c.Value, "every sign-in, a fresh credential")
	assert.True(t, strings.HasPrefix(c.Value, "v1."), "%q", c.Value)
	assert.True(t, c.HttpOnly, "HttpOnly: no script reads it")
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Equal(t, int(authkit.DefaultDeviceTTL/time.Second), c.MaxAge, "Max-Age is DeviceTTL")
	assert.False(t, c.Secure, "plain HTTP to 127.0.0.1: a browser would drop a Secure cookie")
	assert.Empty(t, c.Domain, "host-only")

	refreshed := e.post("/refresh", map[string]string{"refresh_token": res.tokens(t).RefreshToken})
	require.Equal(t, http.StatusOK, refreshed.status, "%s", refreshed.body)
	assert.NotContains(t, refreshed.json(t), "device_token", "a refresh proves no password")
	assert.Empty(t, refreshed.header.Values("Set-Cookie"))

	bad := e.post("/login", map[string]string{"email": "dev@example.com", "password": "wrong-password"})
	assertProblem(t, bad, http.StatusUnauthorized, "invalid_credentials")
	assert.Empty(t, bad.header.Values("Set-Cookie"), "a failed login sets nothing")

	withTTL := newEnv(t, withAuth(func(c *authkit.Config) { c.DeviceTTL = 36 * time.Hour }))
	withTTL.register("ttl@example.com", "securepass123")
	res = withTTL.post("/login", map[string]string{"email": "ttl@example.com", "password": "securepass123"})
	assert.Equal(t, 36*3600, deviceCookie(t, res).MaxAge)
}

// TestNoDeviceCredentialWithoutASignIn: when registering signs nobody in
// (RequireVerifiedEmail), no device credential is handed out.
func TestNoDeviceCredentialWithoutASignIn(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.RequireVerifiedEmail = true }))
	res := e.post("/register", map[string]string{"email": "later@example.com", "password": "securepass123"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	assert.NotContains(t, res.json(t), "device_token")
	assert.Empty(t, res.header.Values("Set-Cookie"))
}

// TestTheDeviceCookieIsSecureExceptOverPlainHTTPToLoopback calls the
// Login handler as a host that routes itself would, with requests to
// each kind of host: only plain HTTP to a loopback host, as in
// development, gets a cookie without Secure, and a browser's https Origin
// keeps it Secure behind a proxy that rewrote Host to a loopback address.
func TestTheDeviceCookieIsSecureExceptOverPlainHTTPToLoopback(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) {
		c.Limits.LoginFailuresSustained = authkit.Limit{Off: true}
	}))
	e.register("secure@example.com", "securepass123")
	cases := []struct {
		url, origin string
		secure      bool
	}{
		{"https://app.example.com/login", "", true},
		{"http://app.example.com/login", "", true},
		{"https://localhost/login", "", true},
		{"http://localhost.example.com/login", "", true},
		{"http://127.0.0.1.nip.io/login", "", true},
		{"http://localhost:8080/login", "https://app.example.com", true},
		{"http://127.0.0.1:8080/login", "null", true},
		{"http://localhost/login", "", false},
		{"http://LOCALHOST:8080/login", "", false},
		{"http://app.localhost/login", "", false},
		{"http://127.0.0.1:8080/login", "", false},
		{"http://127.9.9.9/login", "", false},
		{"http://[::1]:8080/login", "", false},
		{"http://localhost:8080/login", "http://localhost:3000", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, c.url, strings.NewReader(`{"email": "secure@example.com", "password": "securepass123"}`))
		r.Header.Set("Content-Type", "application/json")
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		e.h.Login(w, r)
		require.Equal(t, http.StatusOK, w.Code, "%s: %s", c.url, w.Body)
		res := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
		assert.Equal(t, c.secure, deviceCookie(t, res).Secure, "%s, Origin %q", c.url, c.origin)
	}
}

// TestAKnownDeviceSignsInWhileTheAccountIsUnderAttack: an attacker spends
// the account's ceiling from many networks (behind a trusted proxy).
// Without a device the owner is refused like the attacker; with the
// device_token of the last token response in the body, or with the
// cookie, the owner signs in. A forged credential is answered exactly as
// none; a credential in the body is the one that counts.
func TestAKnownDeviceSignsInWhileTheAccountIsUnderAttack(t *testing.T) {
	e := newEnv(t,
		withAuth(func(c *authkit.Config) {
			c.Limits.LoginFailuresSustained = authkit.Limit{Burst: 3, Every: time.Hour}
		}),
		withHTTP(func(c *httpauth.Config) { c.TrustedProxies = loopback }))
	const owner = "owner@example.com"
	res := e.post("/register", map[string]string{"email": owner, "password": "securepass123"})
	require.Equal(t, http.StatusCreated, res.status)
	e.mail.Next(t, authkit.MessageVerifyEmail)
	fromBody := deviceToken(t, res)

	login := func(from string, body map[string]string, cookie string) response {
		t.Helper()
		hdr := map[string]string{"X-Forwarded-For": from}
		if cookie != "" {
			hdr["Cookie"] = httpauth.DeviceCookie + "=" + cookie
		}
		return e.do(req{method: http.MethodPost, path: "/login", body: body, header: hdr})
	}
	creds := func(password string) map[string]string {
		return map[string]string{"email": owner, "password": password}
	}
	for i := range 3 {
		assertProblem(t, login(fmt.Sprintf("198.51.100.%d", i+1), creds("wrong-guess-1"), ""), http.StatusUnauthorized, "invalid_credentials")
	}
	assertRateLimited(t, login("198.51.100.9", creds("wrong-guess-1"), ""))

	none := login("203.0.113.10", creds("securepass123"), "")
	assertRateLimited(t, none)
	forged := strings.TrimSuffix(fromBody, fromBody[len(fromBody)-6:]) + "AAAAAA"
	for name, res := range map[string]response{
		"forged in the body":   login("203.0.113.10", map[string]string{"email": owner, "password": "securepass123", "device_token": forged}, ""),
		"forged in the cookie": login("203.0.113.10", creds("securepass123"), forged),
		"forged in the body, genuine in the cookie": login("203.0.113.10",
			map[string]string{"email": owner, "password": "securepass123", "device_token": forged}, fromBody),
	} {
		assertRateLimited(t, res)
		assert.Equal(t, string(none.body), string(res.body), "%s: the same answer as none", name)
		assert.Equal(t, none.header.Get("Retry-After"), res.header.Get("Retry-After"), name)
	}

	ok := login("203.0.113.10", map[string]string{"email": owner, "password": "securepass123", "device_token": fromBody}, "")
	require.Equal(t, http.StatusOK, ok.status, "the device_token in the body: %s", ok.body)
	next := deviceToken(t, ok)
	assert.NotEqual(t, fromBody, next)

	ok = login("192.0.2.77", creds("securepass123"), deviceCookie(t, ok).Value)
	require.Equal(t, http.StatusOK, ok.status, "the cookie: %s", ok.body)
	tk := ok.tokens(t)

	// change-password counts the device the same way.
	change := func(cookie string) response {
		hdr := map[string]string{"X-Forwarded-For": "192.0.2.77"}
		if cookie != "" {
			hdr["Cookie"] = httpauth.DeviceCookie + "=" + cookie
		}
		return e.do(req{method: http.MethodPost, path: "/change-password", bearer: tk.AccessToken, header: hdr,
			body: map[string]string{"current_password": "securepass123", "new_password": "another-pass-1"}})
	}
	assertRateLimited(t, change(""))
	res = change(deviceCookie(t, ok).Value)
	require.Equal(t, http.StatusOK, res.status, "change-password from the known device: %s", res.body)
}
