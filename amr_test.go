package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestTokensSayHowAndWhenTheUserSignedIn checks that access tokens carry
// the session's amr (RFC 8176) and auth_time, that a refresh keeps both
// (auth_time stays the sign-in's, not the refresh's), and that the token
// of a password change keeps its session's.
func TestTokensSayHowAndWhenTheUserSignedIn(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "ada@example.com", "correct horse battery staple")
	k.clock.Advance(time.Hour)
	signedIn := k.clock.Now()
	login, err := k.Login(t.Context(), "ada@example.com", "correct horse battery staple", authkit.Client{})
	require.NoError(t, err, "Login")

	check := func(what, token string) {
		t.Helper()
		c, err := k.VerifyAccessToken(t.Context(), token)
		require.NoError(t, err, "%s: verify", what)
		assert.Equal(t, []string{authkit.MethodPassword}, c.AuthMethods, "%s: amr", what)
		if assert.NotNil(t, c.AuthTime, "%s: auth_time", what) {
			assert.Equal(t, signedIn.Unix(), c.AuthTime.Unix(), "%s: auth_time is the sign-in's", what)
		}
	}
	check("login", login.AccessToken)

	k.clock.Advance(10 * time.Minute)
	refreshed, err := k.Refresh(t.Context(), login.RefreshToken, authkit.Client{})
	require.NoError(t, err, "Refresh")
	check("refresh", refreshed.AccessToken)

	k.clock.Advance(time.Minute)
	changed, err := k.ChangePassword(t.Context(), authkit.PasswordChange{
		UserID: login.User.ID, SessionID: login.SessionID,
		CurrentPassword: "correct horse battery staple", NewPassword: "another horse battery staple",
	}, authkit.Client{})
	require.NoError(t, err, "ChangePassword")
	require.NotEmpty(t, changed.AccessToken, "a fresh token for the caller's session")
	check("password change", changed.AccessToken)
}
