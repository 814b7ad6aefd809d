package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestForgotAndResetPassword(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "r@example.com", pw)
	other, err := k.Login(t.Context(), "r@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	require.NoError(t, k.ForgotPassword(t.Context(), "R@EXAMPLE.COM", authkit.Client{}))
	msg := k.mail.Next(t)
	assert.Equal(t, authkit.MessageResetPassword, msg.Kind)
	assert.Equal(t, "r@example.com", msg.To)
	assert.Contains(t, msg.Text, "https://app.example.com/reset-password?token=", "link built from BaseURL")
	reset := testkit.TokenOf(t, msg)

	// A weak new password is refused without spending the token.
	err = k.ResetPassword(t.Context(), reset, "short", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidInput)

	require.NoError(t, k.ResetPassword(t.Context(), reset, "brand-new-pass", authkit.Client{}))
	assert.Equal(t, authkit.MessagePasswordChanged, k.mail.Next(t).Kind, "a notice follows the reset")

	err = k.ResetPassword(t.Context(), reset, "brand-new-pass-2", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "single use")

	_, err = k.Login(t.Context(), "r@example.com", pw, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "old password")
	_, err = k.Login(t.Context(), "r@example.com", "brand-new-pass", authkit.Client{})
	assert.NoError(t, err, "new password")

	u, _ := k.User(t.Context(), tok.User.ID)
	assert.True(t, u.EmailVerified, "the reset mail proved the address")
	for _, old := range []authkit.Tokens{tok, other} {
		_, err := k.VerifyAccessToken(t.Context(), old.AccessToken)
		require.NoError(t, err, "the signature is still good")
		_, _, err = k.Authenticate(t.Context(), old.AccessToken)
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "access tokens issued before the reset are cut off")
		_, err = k.Refresh(t.Context(), old.RefreshToken, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "sessions from before the reset are ended")
	}
}

func TestResetExpiresAfterOneHourAndNewRequestsSpendOlderOnes(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "r@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "r@example.com", authkit.Client{}))
	first := testkit.TokenOf(t, k.mail.Next(t))
	require.NoError(t, k.ForgotPassword(t.Context(), "r@example.com", authkit.Client{}))
	second := testkit.TokenOf(t, k.mail.Next(t))
	assert.ErrorIs(t, k.ResetPassword(t.Context(), first, "brand-new-pass", authkit.Client{}), authkit.ErrInvalidToken, "a new request spends the older link")

	k.clock.Advance(time.Hour + time.Second)
	assert.ErrorIs(t, k.ResetPassword(t.Context(), second, "brand-new-pass", authkit.Client{}), authkit.ErrTokenExpired)
	_, err := k.Login(t.Context(), "r@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "an expired reset changes nothing")
}

func TestForgotPasswordSaysNothingAboutTheAccount(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "known@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "unknown@example.com", authkit.Client{}))
	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, false, authkit.Client{}))
	require.NoError(t, k.ForgotPassword(t.Context(), "known@example.com", authkit.Client{}))
	assert.ErrorIs(t, k.ForgotPassword(t.Context(), "not an email", authkit.Client{}), authkit.ErrInvalidInput)
	require.NoError(t, k.Close(t.Context()), "Close drains the mail queue")
	k.mail.None(t) // none for the unknown email; the seed mails active accounts only
}

func TestAPasswordChangeSpendsOutstandingResetLinks(t *testing.T) {
	// A reset link mailed before a change (by an attacker who asked for it,
	// say, or by the owner who then remembered the password) must not undo
	// the change later.
	k := newKit(t, nil)
	tok, _ := k.register(t, "spent@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "spent@example.com", authkit.Client{}))
	link := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))

	_, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, CurrentPassword: pw, NewPassword: "changed-pass-1"}, authkit.Client{})
	require.NoError(t, err)
	assert.ErrorIs(t, k.ResetPassword(t.Context(), link, "attacker-pass-1", authkit.Client{}), authkit.ErrInvalidToken, "the older link is spent")
	_, err = k.Login(t.Context(), "spent@example.com", "changed-pass-1", authkit.Client{})
	assert.NoError(t, err, "the changed password stands")
}

// TestACompletedResetClearsTheAccountBudgets: an attacker spends the
// account's ceiling, the strict budget of a network of its own and that of
// the owner's network (from the owner's /64). Asking for a link, or
// showing a bad one, clears nothing; a completed reset clears the ceiling
// and the strict budget of the network it came from, so the new password
// works at once, there and anywhere else, while the attacker's own network
// stays throttled until its budget refills.
func TestACompletedResetClearsTheAccountBudgets(t *testing.T) {
	k, _ := newClockedKit(t, nil)
	k.register(t, "owner@example.com", pw)
	home := authkit.Client{Addr: "2001:db8:cafe:1::10"}
	neighbour := authkit.Client{Addr: "2001:db8:cafe:1::666"} // in the owner's /64
	away := authkit.Client{Addr: "203.0.113.66"}
	for _, c := range []authkit.Client{neighbour, away} {
		for guessFrom(t, k, "owner@example.com", c) {
		}
		require.Equal(t, "login_failures", lastLimit(t, k), "the strict budget of %s is spent", c.Addr)
	}
	spendCeiling(t, k, "owner@example.com", "")

	require.NoError(t, k.ForgotPassword(t.Context(), "owner@example.com", home))
	link := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	_, err := k.Login(t.Context(), "owner@example.com", pw, home)
	throttled(t, err) // asking for a link proves nothing
	assert.ErrorIs(t, k.ResetPassword(t.Context(), link+"x", "brand-new-pass", home), authkit.ErrInvalidToken)
	_, err = k.Login(t.Context(), "owner@example.com", pw, home)
	throttled(t, err) // nor does a bad link

	require.NoError(t, k.ResetPassword(t.Context(), link, "brand-new-pass", home))
	_, err = k.Login(t.Context(), "owner@example.com", "brand-new-pass", home)
	require.NoError(t, err, "from the owner's network, whose strict budget the reset cleared")
	_, err = k.Login(t.Context(), "owner@example.com", "brand-new-pass", authkit.Client{Addr: "198.51.100.77"})
	require.NoError(t, err, "from anywhere: the ceiling is cleared")

	assert.False(t, guessFrom(t, k, "owner@example.com", away), "the attacker's network is still throttled")
	assert.Equal(t, "login_failures", lastLimit(t, k), "by its own strict budget, which the reset left alone")
	k.clock.Advance(time.Minute)
	assert.True(t, guessFrom(t, k, "owner@example.com", away), "and refills on its own")
}
