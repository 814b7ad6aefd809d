package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestRequireVerifiedEmailOffByDefault(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "u@example.com", pw)
	_, err := k.Login(t.Context(), "u@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the seed lets unverified users log in")
}

func TestVerifyEmail(t *testing.T) {
	k := newKit(t, nil)
	tok, verify := k.register(t, "v@example.com", pw)

	already, err := k.VerifyEmail(t.Context(), verify, authkit.Client{})
	require.NoError(t, err)
	assert.False(t, already)
	u, _ := k.User(t.Context(), tok.User.ID)
	assert.True(t, u.EmailVerified)

	already, err = k.VerifyEmail(t.Context(), verify, authkit.Client{})
	require.NoError(t, err, "a link opened again after it verified answers success")
	assert.True(t, already)

	_, err = k.VerifyEmail(t.Context(), "forged-token", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.VerifyEmail(t.Context(), "", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
}

func TestVerificationExpiresAfter24Hours(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "a@example.com", pw)
	_, late := k.register(t, "b@example.com", pw)
	_, onTime := k.register(t, "c@example.com", pw)

	k.clock.Advance(24*time.Hour - time.Second)
	_, err := k.VerifyEmail(t.Context(), onTime, authkit.Client{})
	assert.NoError(t, err, "one second before 24 h")
	k.clock.Advance(2 * time.Second)
	_, err = k.VerifyEmail(t.Context(), late, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrTokenExpired, "one second after 24 h")
}

func TestVerificationTokenIsNotAResetToken(t *testing.T) {
	k := newKit(t, nil)
	_, verify := k.register(t, "a@example.com", pw)
	err := k.ResetPassword(t.Context(), verify, "another-pass-1", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.VerifyEmail(t.Context(), verify, authkit.Client{})
	assert.NoError(t, err, "the verification token is still good for its own purpose")
}

func TestResendVerificationSpendsOlderLinks(t *testing.T) {
	k := newKit(t, nil)
	_, first := k.register(t, "a@example.com", pw)
	require.NoError(t, k.ResendVerification(t.Context(), "A@example.com", authkit.Client{}))
	second := testkit.TokenOf(t, k.mail.Next(t))
	_, err := k.VerifyEmail(t.Context(), first, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the older link is spent")
	_, err = k.VerifyEmail(t.Context(), second, authkit.Client{})
	assert.NoError(t, err)

	// Verified accounts and unknown emails get no mail, and no error.
	require.NoError(t, k.ResendVerification(t.Context(), "a@example.com", authkit.Client{}))
	require.NoError(t, k.ResendVerification(t.Context(), "nobody@example.com", authkit.Client{}))
	require.NoError(t, k.Close(t.Context()), "Close drains the mail queue")
	k.mail.None(t)
}

func TestRequireVerifiedEmailSignsNobodyInUntilVerified(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.RequireVerifiedEmail = true })
	reg, err := k.Register(t.Context(), authkit.Registration{Email: "rv@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	assert.False(t, reg.SignedIn, "Register signs nobody in")
	tok := reg.Tokens
	tok.User = reg.User
	verify := testkit.TokenOf(t, k.mail.Next(t))
	assert.Empty(t, tok.AccessToken, "Register issues no access token")
	assert.Empty(t, tok.RefreshToken, "Register issues no refresh token")
	assert.Empty(t, tok.SessionID, "Register starts no session")
	assert.Equal(t, "rv@example.com", tok.User.Email)
	assert.NotEmpty(t, tok.User.ID)
	list, err := k.store.UserSessions(t.Context(), tok.User.ID)
	require.NoError(t, err)
	assert.Empty(t, list, "no session in the store")

	// Sessions and access tokens issued before the option was set.
	open := newKit(t, func(c *authkit.Config) { c.Store = k.store })
	old, err := open.Login(t.Context(), "rv@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	_, err = k.Refresh(t.Context(), old.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrEmailNotVerified, "Refresh of an unverified account")
	_, err = k.VerifyAccessToken(t.Context(), old.AccessToken)
	require.NoError(t, err)
	_, _, err = k.Authenticate(t.Context(), old.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrEmailNotVerified, "Authenticate of an unverified account")

	_, err = k.VerifyEmail(t.Context(), verify, authkit.Client{})
	require.NoError(t, err)
	_, _, err = k.Authenticate(t.Context(), old.AccessToken)
	assert.NoError(t, err, "verified now")
	_, err = k.Refresh(t.Context(), old.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "verified now")
}
