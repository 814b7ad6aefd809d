package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestResetCutsOffTokensAndSessions checks that a password reset refuses
// every access token issued before it and ends every session.
func TestResetCutsOffTokensAndSessions(t *testing.T) {
	e := newEnv(t)
	first, _ := e.register("ada@example.com", "correct horse")
	second := e.login("ada@example.com", "correct horse")
	require.Equal(t, http.StatusOK, e.get("/me", first.AccessToken).status)

	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	require.Equal(t, http.StatusOK, e.post("/reset-password", map[string]string{"token": token, "password": "new password"}).status)

	for _, tk := range []tokens{first, second} {
		assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
		assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	}
	sessions, err := e.store.UserSessions(t.Context(), first.UserID)
	require.NoError(t, err)
	assert.Empty(t, sessions, "sessions left in the Store after a reset")

	fresh := e.login("ada@example.com", "new password")
	assert.Equal(t, http.StatusOK, e.get("/me", fresh.AccessToken).status)
}

// TestLogoutAllCutsOffTokensAndSessions checks POST /logout-all.
func TestLogoutAllCutsOffTokensAndSessions(t *testing.T) {
	e := newEnv(t)
	first, _ := e.register("ada@example.com", "correct horse")
	second := e.login("ada@example.com", "correct horse")
	other, _ := e.register("bob@example.com", "correct horse")

	assertProblem(t, e.do(req{method: http.MethodPost, path: "/logout-all"}), http.StatusUnauthorized, "unauthorized")

	res := e.do(req{method: http.MethodPost, path: "/logout-all", bearer: second.AccessToken})
	require.Equal(t, http.StatusNoContent, res.status, "POST /logout-all: %s", res.body)
	assert.Empty(t, res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))

	for _, tk := range []tokens{first, second} {
		assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
		assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	}
	// Another user is untouched.
	assert.Equal(t, http.StatusOK, e.get("/me", other.AccessToken).status)
	assert.Equal(t, http.StatusOK, e.post("/refresh", map[string]string{"refresh_token": other.RefreshToken}).status)
}

// TestChangePassword checks that a change keeps the caller's session,
// returns a working access token in place of the one it cut off, and ends
// every other session.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	other, _ := e.register("ada@example.com", "correct horse")
	caller := e.login("ada@example.com", "correct horse")

	res := e.do(req{method: http.MethodPost, path: "/change-password", bearer: caller.AccessToken,
		body: map[string]string{"current_password": "wrong horse", "new_password": "new password"}})
	m := assertProblem(t, res, http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"current_password": []any{"Current password is incorrect."}}, m["fields"])

	res = e.do(req{method: http.MethodPost, path: "/change-password", bearer: caller.AccessToken,
		body: map[string]string{"current_password": "correct horse", "new_password": "new password"}})
	require.Equal(t, http.StatusOK, res.status, "POST /change-password: %s", res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	body := res.json(t)
	assert.Equal(t, "Password changed successfully.", body["message"])
	assert.Equal(t, "bearer", body["token_type"])
	assert.EqualValues(t, 15*60, body["expires_in"])
	fresh, _ := body["access_token"].(string)
	require.NotEmpty(t, fresh, "access_token")

	// The old access tokens are cut off, the new one works.
	assertProblem(t, e.get("/me", caller.AccessToken), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.get("/me", other.AccessToken), http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, http.StatusOK, e.get("/me", fresh).status)

	// The caller's session lives on; the other one is over.
	res = e.post("/refresh", map[string]string{"refresh_token": caller.RefreshToken})
	require.Equal(t, http.StatusOK, res.status, "refresh of the caller's session: %s", res.body)
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": other.RefreshToken}), http.StatusUnauthorized, "invalid_token")

	e.login("ada@example.com", "new password")
	assertProblem(t, e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse"}), http.StatusUnauthorized, "invalid_credentials")
}
