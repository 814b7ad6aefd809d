package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestAnAccountDisabledInTheStoreLosesAccess: an account disabled by a
// write to the Store alone (its token version not raised, its sessions
// left) loses access all the same, and is told so. A bearer token is
// refused by RequireUser, LoadUser and GET /me as a 401 whose detail
// names the inactive user, not the generic invalid token; a refresh is a
// 403 account_disabled, not an invalid refresh token.
func TestAnAccountDisabledInTheStoreLosesAccess(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")
	require.Equal(t, http.StatusOK, e.get("/api/hello", tk.AccessToken).status)
	off := false
	u, err := e.store.UpdateUser(t.Context(), tk.UserID, authkit.UserUpdate{Active: &off, UpdatedAt: e.clock.Now()})
	require.NoError(t, err, "disable the account in the Store")
	require.Zero(t, u.TokenVersion, "no token version was raised")

	for _, path := range []string{"/me", "/api/hello", "/api/maybe"} {
		res := e.get(path, tk.AccessToken)
		m := assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
		assert.Equal(t, "User not found or inactive", m["detail"], "GET %s", path)
		assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"), "GET %s", path)
	}

	for range 2 { // the refused refresh spent nothing: the same answer again
		m := assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusForbidden, "account_disabled")
		assert.Equal(t, "User account is disabled", m["detail"], "POST /refresh")
	}
}
