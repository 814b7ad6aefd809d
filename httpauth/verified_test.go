package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestRequireVerifiedEmailOverHTTP(t *testing.T) {
	e := newEnv(t, func(s *setup) { s.auth.RequireVerifiedEmail = true })
	res := e.post("/register", map[string]string{"email": "new@example.com", "password": "correct horse", "display_name": "New"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	body := res.json(t)
	assert.Equal(t, "Account created. Please verify your email before logging in.", body["message"])
	assert.Equal(t, "new@example.com", body["email"])
	assert.NotEmpty(t, body["user_id"])
	assert.NotContains(t, body, "access_token", "nobody is signed in before verifying")
	assert.NotContains(t, body, "refresh_token")
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageVerifyEmail))

	res = e.post("/login", map[string]string{"email": "new@example.com", "password": "wrong horse"})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	res = e.post("/login", map[string]string{"email": "new@example.com", "password": "correct horse"})
	assertProblem(t, res, http.StatusForbidden, "email_not_verified")

	res = e.post("/verify-email", map[string]string{"token": token})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	tk := e.login("new@example.com", "correct horse")
	assert.Equal(t, http.StatusOK, e.get("/api/hello", tk.AccessToken).status)
}

func TestRequireVerifiedEmailCutsOffEarlierTokens(t *testing.T) {
	// Tokens issued before the host turned the option on stop working for
	// unverified accounts: access at once, refresh too.
	before := newEnv(t)
	tk, _ := before.register("early@example.com", "correct horse")
	after := newEnv(t, func(s *setup) {
		s.store = before.mem
		s.auth.RequireVerifiedEmail = true
	})
	assertProblem(t, after.get("/api/hello", tk.AccessToken), http.StatusForbidden, "email_not_verified")
	res := after.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken})
	assert.NotEqual(t, http.StatusOK, res.status, "no new tokens for an unverified account: %s", res.body)
	assert.Equal(t, http.StatusOK, before.get("/api/hello", tk.AccessToken).status, "off, the token works")
}
