package authkit_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestResetWithATokenOfAnotherPurposeHashesNothing: a one-time token
// made for something else (the verification link, the record of a spent
// refresh token) is no reset token. ResetPassword refuses it as an
// invalid token before it hashes the new password, so that such tokens
// cost no password work, and spends nothing.
func TestResetWithATokenOfAnotherPurposeHashesNothing(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) { c.PasswordHasher = h })
	tok, verify := k.register(t, "purpose@example.com", pw)
	next, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err, "Refresh, which records the spent refresh token")

	for name, token := range map[string]string{
		"an email verification token": verify,
		"a spent refresh token":       tok.RefreshToken,
	} {
		h.mu.Lock()
		h.hashes = 0
		h.mu.Unlock()
		err := k.ResetPassword(t.Context(), token, "brand-new-pass", authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "ResetPassword with %s", name)
		assert.NotErrorIs(t, err, authkit.ErrTokenExpired, "ResetPassword with %s", name)
		h.mu.Lock()
		assert.Zero(t, h.hashes, "ResetPassword with %s hashed no password", name)
		h.mu.Unlock()
	}

	_, err = k.Login(t.Context(), "purpose@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the password is unchanged")
	_, err = k.Refresh(t.Context(), next.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "the session still stands")
	_, err = k.VerifyEmail(t.Context(), verify, authkit.Client{})
	assert.NoError(t, err, "the verification token is still good for its own purpose")
}
