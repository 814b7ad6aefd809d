package httpauth_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestRefreshRotation checks refresh-token rotation through HTTP: each
// refresh spends the token it was given; a spent one is refused, within the
// grace period without harm, after it as theft that ends the session.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	first, _ := e.register("ada@example.com", "correct horse")

	e.clock.Advance(time.Minute)
	res := e.post("/refresh", map[string]string{"refresh_token": first.RefreshToken})
	require.Equal(t, http.StatusOK, res.status, "POST /refresh: %s", res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	second := res.tokens(t)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "a new refresh token")
	assert.NotEqual(t, first.AccessToken, second.AccessToken, "a new access token")
	assert.Equal(t, first.UserID, second.UserID)
	assert.Equal(t, "bearer", second.TokenType)
	assert.EqualValues(t, 15*60, second.ExpiresIn)
	assert.Equal(t, http.StatusOK, e.get("/me", second.AccessToken).status)

	// Within the grace: refused, but the session lives (two tabs at once).
	m := assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": first.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, "Invalid or expired refresh token", m["detail"])
	res = e.post("/refresh", map[string]string{"refresh_token": second.RefreshToken})
	require.Equal(t, http.StatusOK, res.status, "the live token still works: %s", res.body)
	third := res.tokens(t)

	// After the grace: a replay of a spent token ends the whole session.
	e.clock.Advance(authkit.DefaultRefreshReuseGrace + time.Second)
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": second.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": third.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	sid, _, _ := strings.Cut(third.RefreshToken, ".")
	_, err := e.store.Session(t.Context(), sid)
	assert.True(t, errors.Is(err, authkit.ErrNotFound), "the session is gone from the Store, got %v", err)

	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": "forged.token"}), http.StatusUnauthorized, "invalid_token")
}

// TestRefreshExpiredSession checks that a session past its lifetime
// refuses refresh with token_expired.
func TestRefreshExpiredSession(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")
	e.clock.Advance(authkit.DefaultRefreshTokenTTL + time.Second)
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusUnauthorized, "token_expired")
}

// TestLogout checks POST /logout: it ends the session, and is idempotent
// and silent about tokens it does not know.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")

	for range 2 {
		res := e.post("/logout", map[string]string{"refresh_token": tk.RefreshToken})
		require.Equal(t, http.StatusNoContent, res.status, "POST /logout: %s", res.body)
		assert.Empty(t, res.body)
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	}
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	assert.Equal(t, http.StatusNoContent, e.post("/logout", map[string]string{"refresh_token": "unknown.token"}).status)
	assert.Equal(t, http.StatusNoContent, e.post("/logout", map[string]string{"refresh_token": "garbage"}).status)
	assertProblem(t, e.post("/logout", map[string]string{}), http.StatusBadRequest, "invalid_input")

	// Without CheckSession the access token lives until it expires.
	assert.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status)
}

// TestCheckSession checks Config.CheckSession: logging out or ending a
// session cuts its access tokens off at once.
func TestCheckSession(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.CheckSession = true }))
	tk, _ := e.register("ada@example.com", "correct horse")
	other := e.login("ada@example.com", "correct horse")
	require.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status)
	require.Equal(t, http.StatusOK, e.get("/api/hello", tk.AccessToken).status)

	require.Equal(t, http.StatusNoContent, e.post("/logout", map[string]string{"refresh_token": tk.RefreshToken}).status)
	assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.get("/api/hello", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, http.StatusOK, e.get("/me", other.AccessToken).status, "the other session is untouched")

	// Past the session's expiry the access token is refused too, even if
	// the token itself has not expired.
	e2 := newEnv(t, withAuth(func(c *authkit.Config) { c.CheckSession = true }),
		withAuth(func(c *authkit.Config) { c.SessionIdleTimeout = time.Minute; c.AccessTokenTTL = time.Hour }))
	tk, _ = e2.register("ada@example.com", "correct horse")
	e2.clock.Advance(2 * time.Minute)
	assertProblem(t, e2.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
}

// sessionList is the body of GET /sessions.
type sessionList struct {
	Sessions []struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"created_at"`
		LastUsedAt string `json:"last_used_at"`
		ExpiresAt  string `json:"expires_at"`
		UserAgent  string `json:"user_agent"`
		ClientAddr string `json:"client_addr"`
		Current    bool   `json:"current"`
	} `json:"sessions"`
}

func (e *env) sessions(bearer string) sessionList {
	e.t.Helper()
	res := e.get("/sessions", bearer)
	require.Equal(e.t, http.StatusOK, res.status, "GET /sessions: %s", res.body)
	assert.Equal(e.t, "no-store", res.header.Get("Cache-Control"))
	var l sessionList
	require.NoError(e.t, jsonUnmarshal(res.body, &l))
	return l
}

// TestSessionsAreTheCallersOnly checks GET /sessions and DELETE
// /sessions/{id}: a user sees and ends only their own sessions.
func TestSessionsAreTheCallersOnly(t *testing.T) {
	e := newEnv(t)
	ada, _ := e.register("ada@example.com", "correct horse")
	e.clock.Advance(time.Minute)
	adaPhone := e.do(req{method: http.MethodPost, path: "/login", header: map[string]string{"User-Agent": "phone/1.0"},
		body: map[string]string{"email": "ada@example.com", "password": "correct horse"}}).tokens(t)
	bob, _ := e.register("bob@example.com", "correct horse")

	l := e.sessions(adaPhone.AccessToken)
	require.Len(t, l.Sessions, 2, "Ada's two sessions only")
	assert.False(t, l.Sessions[0].Current)
	assert.True(t, l.Sessions[1].Current, "the phone's session is the current one")
	assert.Equal(t, "phone/1.0", l.Sessions[1].UserAgent)
	assert.Equal(t, "127.0.0.1", l.Sessions[1].ClientAddr)
	for _, s := range l.Sessions {
		for _, ts := range []string{s.CreatedAt, s.LastUsedAt, s.ExpiresAt} {
			_, err := time.Parse(time.RFC3339, ts)
			assert.NoError(t, err, "RFC 3339 time %q", ts)
		}
	}
	bobs := e.sessions(bob.AccessToken)
	require.Len(t, bobs.Sessions, 1)
	bobSID := bobs.Sessions[0].ID

	// Ada cannot end Bob's session, and cannot tell it from an unknown one.
	del := func(bearer, id string) response {
		return e.do(req{method: http.MethodDelete, path: "/sessions/" + id, bearer: bearer})
	}
	m := assertProblem(t, del(ada.AccessToken, bobSID), http.StatusNotFound, "not_found")
	unknown := assertProblem(t, del(ada.AccessToken, "00000000-0000-4000-8000-000000000000"), http.StatusNotFound, "not_found")
	assert.Equal(t, unknown, m)
	assert.Equal(t, http.StatusOK, e.post("/refresh", map[string]string{"refresh_token": bob.RefreshToken}).status, "Bob's session lives")
	assertProblem(t, del("", bobSID), http.StatusUnauthorized, "unauthorized")

	// Ada ends her first session from her phone.
	res := del(adaPhone.AccessToken, l.Sessions[0].ID)
	require.Equal(t, http.StatusNoContent, res.status, "DELETE /sessions/{id}: %s", res.body)
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": ada.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	assert.Len(t, e.sessions(adaPhone.AccessToken).Sessions, 1)
	assertProblem(t, del(adaPhone.AccessToken, l.Sessions[0].ID), http.StatusNotFound, "not_found")
}

// TestSessionsListsOnlyLiveSessions checks that a session past its idle
// timeout, not yet cleaned up, is not listed.
func TestSessionsListsOnlyLiveSessions(t *testing.T) {
	e := newEnv(t, func(s *setup) { s.auth.SessionIdleTimeout = time.Hour })
	idle, _ := e.register("idle@example.com", "correct horse")
	busy := e.login("idle@example.com", "correct horse")
	require.Len(t, e.sessions(busy.AccessToken).Sessions, 2)

	e.clock.Advance(50 * time.Minute)
	res := e.post("/refresh", map[string]string{"refresh_token": busy.RefreshToken})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	busy = res.tokens(t)
	e.clock.Advance(20 * time.Minute)
	res = e.post("/refresh", map[string]string{"refresh_token": busy.RefreshToken})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	busy = res.tokens(t)

	l := e.sessions(busy.AccessToken)
	require.Len(t, l.Sessions, 1, "the idle session is not listed")
	assert.NotEqual(t, idle.RefreshToken[:len(l.Sessions[0].ID)], l.Sessions[0].ID, "the listed one is not the idle one")
	assert.True(t, l.Sessions[0].Current)
}
