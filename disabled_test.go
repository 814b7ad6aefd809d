package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// disableInStore disables an account by a write to the Store alone, as an
// operator's SQL or an admin tool that bypasses SetActive would: the token
// version is not raised and the sessions remain.
func disableInStore(t testing.TB, s authkit.Store, id string, now time.Time) {
	t.Helper()
	off := false
	u, err := s.UpdateUser(t.Context(), id, authkit.UserUpdate{Active: &off, UpdatedAt: now})
	require.NoError(t, err, "UpdateUser(Active: false)")
	require.False(t, u.Active, "UpdateUser disabled the account")
}

// TestAnAccountDisabledInTheStoreIsRefusedAsDisabled: an account disabled
// without SetActive keeps its token version and its sessions, so nothing
// but its Active flag stands between its tokens and access. Authenticate
// and Refresh must read that flag and say ErrAccountDisabled, not pass the
// token, and not call it a merely invalid token.
func TestAnAccountDisabledInTheStoreIsRefusedAsDisabled(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "off@example.com", pw)
	disableInStore(t, k.store, tok.User.ID, k.clock.Now())
	u, err := k.User(t.Context(), tok.User.ID)
	require.NoError(t, err)
	require.Equal(t, tok.User.TokenVersion, u.TokenVersion, "the write raised no token version")
	_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err, "the token itself is still good")

	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled, "Authenticate")
	assert.NotErrorIs(t, err, authkit.ErrInvalidToken, "Authenticate: disabled, not a generic invalid token")

	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled, "Refresh")
	assert.NotErrorIs(t, err, authkit.ErrInvalidToken, "Refresh: disabled, not a generic invalid token")
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled, "Refresh again: the refused refresh spent nothing")
}
