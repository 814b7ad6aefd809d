package authkit_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// factorKey is a FactorKey for tests only.
var factorKey = authkit.FactorKey{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}

// withFactors turns second factors on.
func withFactors(c *authkit.Config) { c.FactorKeys = []authkit.FactorKey{factorKey} }

const totpPassword = "correct horse battery staple"

// enrolled is a user with a confirmed TOTP factor.
type enrolled struct {
	user     authkit.User
	secret   string
	recovery []string
}

// code is the user's TOTP code at the kit's clock.
func (e enrolled) code(t testing.TB, k *kit) string {
	t.Helper()
	c, err := totp.GenerateCode(e.secret, k.clock.Now())
	require.NoError(t, err)
	return c
}

// claimsOf verifies an access token of the kit.
func claimsOf(t testing.TB, k *kit, token string) *authkit.Claims {
	t.Helper()
	c, err := k.VerifyAccessToken(t.Context(), token)
	require.NoError(t, err, "verify access token")
	return c
}

// enrol registers email, signs in, and enrols and confirms TOTP.
func enrol(t testing.TB, k *kit, email string) enrolled {
	t.Helper()
	reg, _ := k.register(t, email, totpPassword)
	e, err := k.StartTOTP(t.Context(), claimsOf(t, k, reg.AccessToken))
	require.NoError(t, err, "StartTOTP")
	en := enrolled{user: reg.User, secret: e.Secret}
	en.recovery, err = k.ConfirmTOTP(t.Context(), reg.User.ID, en.code(t, k), authkit.Client{})
	require.NoError(t, err, "ConfirmTOTP")
	assert.Equal(t, authkit.MessageSecondFactorAdded, k.mail.Next(t).Kind, "a notice when a factor is added")
	k.clock.Advance(30 * time.Second) // the confirming code's step is spent
	return en
}

// challenge logs in with the password and returns the second step's
// ticket.
func challenge(t testing.TB, k *kit, email string) string {
	t.Helper()
	_, err := k.Login(t.Context(), email, totpPassword, authkit.Client{})
	var ch *authkit.SecondFactorChallenge
	require.ErrorAs(t, err, &ch, "Login asks for the second factor")
	assert.ErrorIs(t, err, authkit.ErrSecondFactorRequired)
	assert.Equal(t, 5*time.Minute, ch.ExpiresIn)
	return ch.Ticket
}

// TestTOTPEnrolmentAndSignIn walks enrolment (start, a wrong then a right
// code) and a sign-in in two steps, and checks that a code is accepted at
// most once and a ticket signs in once.
func TestTOTPEnrolmentAndSignIn(t *testing.T) {
	k := newKit(t, withFactors)
	reg, _ := k.register(t, "ada@example.com", totpPassword)
	e, err := k.StartTOTP(t.Context(), claimsOf(t, k, reg.AccessToken))
	require.NoError(t, err, "StartTOTP")
	assert.True(t, strings.HasPrefix(e.URI, "otpauth://totp/"), "URI %q", e.URI)
	assert.Contains(t, e.URI, "secret="+e.Secret)
	assert.Len(t, e.Secret, 32, "160 bits in base32")
	data, ok := strings.CutPrefix(e.QRCode, "data:image/png;base64,")
	require.True(t, ok, "QRCode is a PNG data URL")
	raw, err := base64.StdEncoding.DecodeString(data)
	require.NoError(t, err)
	_, err = png.Decode(bytes.NewReader(raw))
	assert.NoError(t, err, "QRCode decodes as a PNG")

	// Pending: sign-in is unchanged until confirmed.
	_, err = k.Login(t.Context(), "ada@example.com", totpPassword, authkit.Client{})
	require.NoError(t, err, "a pending factor asks for nothing")

	_, err = k.ConfirmTOTP(t.Context(), reg.User.ID, "000000", authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v, "a wrong code")
	assert.Equal(t, authkit.CodeWrongCode, v.Fields["code"][0].Code)
	code, err := totp.GenerateCode(e.Secret, k.clock.Now())
	require.NoError(t, err)
	codes, err := k.ConfirmTOTP(t.Context(), reg.User.ID, code, authkit.Client{})
	require.NoError(t, err, "ConfirmTOTP")
	assert.Len(t, codes, 10, "ten recovery codes")
	seen := map[string]bool{}
	for _, c := range codes {
		assert.Regexp(t, `^[a-z2-7]{6}-[a-z2-7]{6}$`, c, "60 bits each")
		seen[c] = true
	}
	assert.Len(t, seen, 10, "all different")
	assert.Equal(t, authkit.MessageSecondFactorAdded, k.mail.Next(t).Kind)

	// Wrong password: nothing about the factor is revealed.
	_, err = k.Login(t.Context(), "ada@example.com", "wrong password!", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials)
	assert.NotErrorIs(t, err, authkit.ErrSecondFactorRequired)

	// The confirming code's step is spent: it does not sign in.
	ticket := challenge(t, k, "ada@example.com")
	_, err = k.LoginSecondFactor(t.Context(), ticket, code, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a code is accepted at most once")

	k.clock.Advance(30 * time.Second)
	code, err = totp.GenerateCode(e.Secret, k.clock.Now())
	require.NoError(t, err)
	tk, err := k.LoginSecondFactor(t.Context(), ticket, code, authkit.Client{})
	require.NoError(t, err, "LoginSecondFactor")
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, claimsOf(t, k, tk.AccessToken).AuthMethods, "amr")

	_, err = k.LoginSecondFactor(t.Context(), ticket, code, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a ticket signs in once")
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), code, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the used code is refused with a new ticket too")

	// A code of the step before or after (clock skew) is accepted.
	k.clock.Advance(30 * time.Second)
	early, err := totp.GenerateCode(e.Secret, k.clock.Now().Add(30*time.Second))
	require.NoError(t, err)
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), early, authkit.Client{})
	assert.NoError(t, err, "one step of skew")
	far, err := totp.GenerateCode(e.Secret, k.clock.Now().Add(5*time.Minute))
	require.NoError(t, err)
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), far, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "ten steps ahead")
}

// TestRecoveryCodes checks that a recovery code signs in once, mails a
// notice, and that regenerating spends the old set.
func TestRecoveryCodes(t *testing.T) {
	k := newKit(t, withFactors)
	en := enrol(t, k, "ada@example.com")

	typed := strings.ToUpper(strings.ReplaceAll(en.recovery[0], "-", " "))
	_, err := k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), typed, authkit.Client{})
	require.NoError(t, err, "a recovery code, typed in capitals with a space")
	assert.Equal(t, authkit.MessageRecoveryCodeUsed, k.mail.Next(t).Kind, "a notice when a recovery code is used")
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), en.recovery[0], authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a recovery code works once")
	st, err := k.SecondFactor(t.Context(), en.user.ID)
	require.NoError(t, err)
	assert.Equal(t, authkit.SecondFactorStatus{TOTP: true, RecoveryCodesLeft: 9}, st)

	tk, err := k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), en.code(t, k), authkit.Client{})
	require.NoError(t, err)
	fresh, err := k.RegenerateRecoveryCodes(t.Context(), claimsOf(t, k, tk.AccessToken))
	require.NoError(t, err, "RegenerateRecoveryCodes right after signing in")
	assert.Len(t, fresh, 10)
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), en.recovery[1], authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the old set is spent")
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), fresh[0], authkit.Client{})
	assert.NoError(t, err, "the new set works")
}

// TestTOTPSecretIsEncryptedAtRest checks that the Store never sees the
// secret in clear, that a key can rotate, and that a secret whose key is
// gone cannot make codes.
func TestTOTPSecretIsEncryptedAtRest(t *testing.T) {
	k := newKit(t, withFactors)
	en := enrol(t, k, "ada@example.com")
	f, err := k.store.TOTP(t.Context(), en.user.ID)
	require.NoError(t, err)
	assert.Equal(t, "k1", f.KeyID)
	assert.NotContains(t, string(f.Secret), en.secret, "no clear secret in the Store")
	decoded, _ := base64.StdEncoding.DecodeString(en.secret)
	assert.False(t, len(decoded) > 0 && bytes.Contains(f.Secret, decoded), "nor its bytes")

	// Another Authenticator on the same Store with a new key first and the
	// old one after still checks codes; without the old key it cannot.
	rotated := newKitOn(t, k, func(c *authkit.Config) {
		c.FactorKeys = []authkit.FactorKey{{ID: "k2", Key: bytes.Repeat([]byte{9}, 32)}, factorKey}
	})
	_, err = rotated.LoginSecondFactor(t.Context(), challenge(t, rotated, "ada@example.com"), en.code(t, k), authkit.Client{})
	assert.NoError(t, err, "the old key still decrypts")
	k.clock.Advance(30 * time.Second)
	gone := newKitOn(t, k, func(c *authkit.Config) {
		c.FactorKeys = []authkit.FactorKey{{ID: "k2", Key: bytes.Repeat([]byte{9}, 32)}}
	})
	_, err = gone.LoginSecondFactor(t.Context(), challenge(t, gone, "ada@example.com"), en.code(t, k), authkit.Client{})
	assert.Error(t, err, "no key, no code")
	assert.NotErrorIs(t, err, authkit.ErrInvalidCredentials, "a missing key is a failure, not a wrong code")
	_, err = gone.LoginSecondFactor(t.Context(), challenge(t, gone, "ada@example.com"), en.recovery[0], authkit.Client{})
	assert.NoError(t, err, "recovery codes need no key")
	k.mail.Next(t, authkit.MessageRecoveryCodeUsed)

	// A ciphertext moved to another user's row does not open.
	other := enrol(t, k, "bob@example.com")
	g, err := k.store.TOTP(t.Context(), other.user.ID)
	require.NoError(t, err)
	require.NoError(t, k.store.DeleteTOTP(t.Context(), other.user.ID))
	g.UserID, g.Secret = other.user.ID, f.Secret
	require.NoError(t, k.store.PutTOTP(t.Context(), g))
	require.NoError(t, k.store.ConfirmTOTP(t.Context(), other.user.ID, k.clock.Now(), 0))
	k.clock.Advance(30 * time.Second)
	_, err = k.LoginSecondFactor(t.Context(), challenge(t, k, "bob@example.com"), en.code(t, k), authkit.Client{})
	assert.Error(t, err, "Ada's secret in Bob's row")
	assert.NotErrorIs(t, err, authkit.ErrSecondFactorRequired)
}

// TestSecondFactorTicket checks the ticket's limits: five codes, five
// minutes, and voided by a password reset, which keeps the factor.
func TestSecondFactorTicket(t *testing.T) {
	k := newKit(t, withFactors)
	en := enrol(t, k, "ada@example.com")

	ticket := challenge(t, k, "ada@example.com")
	for i := range 5 {
		_, err := k.LoginSecondFactor(t.Context(), ticket, "000000", authkit.Client{})
		require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "wrong code %d", i+1)
	}
	_, err := k.LoginSecondFactor(t.Context(), ticket, en.code(t, k), authkit.Client{})
	var limited *authkit.RateLimitError
	assert.ErrorAs(t, err, &limited, "a sixth code is not even checked")
	// The wrong codes spent the account's failure budget, as wrong
	// passwords would: let it refill.
	_, err = k.Login(t.Context(), "ada@example.com", totpPassword, authkit.Client{})
	require.ErrorAs(t, err, &limited, "wrong codes spend the account's budget")
	k.clock.Advance(2 * time.Hour)

	ticket = challenge(t, k, "ada@example.com")
	k.clock.Advance(5*time.Minute + time.Second)
	_, err = k.LoginSecondFactor(t.Context(), ticket, en.code(t, k), authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrTokenExpired, "five minutes")

	for _, bad := range []string{"", "x", "nodot", "abc.notanumber", ticket + "0", strings.Repeat("a", 200) + ".1"} {
		_, err = k.LoginSecondFactor(t.Context(), bad, en.code(t, k), authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "ticket %q", bad)
	}

	// A reset between the two steps voids the ticket; the factor stays.
	ticket = challenge(t, k, "ada@example.com")
	require.NoError(t, k.ForgotPassword(t.Context(), "ada@example.com", authkit.Client{}))
	reset := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	require.NoError(t, k.ResetPassword(t.Context(), reset, "a new password 123", authkit.Client{}))
	_, err = k.LoginSecondFactor(t.Context(), ticket, en.code(t, k), authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a ticket from before the reset")
	_, err = k.Login(t.Context(), "ada@example.com", "a new password 123", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrSecondFactorRequired, "a reset does not remove the second factor")
}

// TestStepUp checks that disabling the factor and changing the password of
// an account with one need a recent sign-in, which Reauthenticate gives
// with the password and a code.
func TestStepUp(t *testing.T) {
	k := newKit(t, withFactors)
	en := enrol(t, k, "ada@example.com")
	tk, err := k.LoginSecondFactor(t.Context(), challenge(t, k, "ada@example.com"), en.code(t, k), authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Minute)
	old := claimsOf(t, k, tk.AccessToken)

	assert.ErrorIs(t, k.DisableTOTP(t.Context(), old, authkit.Client{}), authkit.ErrReauthenticationRequired)
	_, err = k.RegenerateRecoveryCodes(t.Context(), old)
	assert.ErrorIs(t, err, authkit.ErrReauthenticationRequired)
	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{
		UserID: en.user.ID, SessionID: old.SessionID, AuthTime: old.AuthTime.Time,
		CurrentPassword: totpPassword, NewPassword: "another password 1",
	}, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrReauthenticationRequired, "a password change of an account with a factor")

	_, err = k.Reauthenticate(t.Context(), old, totpPassword, "", authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v, "no code")
	assert.Equal(t, authkit.CodeWrongCode, v.Fields["code"][0].Code)
	_, err = k.Reauthenticate(t.Context(), old, "wrong password!", en.code(t, k), authkit.Client{})
	require.ErrorAs(t, err, &v, "wrong password")
	assert.Equal(t, authkit.CodeWrongPassword, v.Fields["password"][0].Code)
	k.clock.Advance(30 * time.Second)
	fresh, err := k.Reauthenticate(t.Context(), old, totpPassword, en.code(t, k), authkit.Client{})
	require.NoError(t, err, "Reauthenticate")
	now := claimsOf(t, k, fresh.AccessToken)
	assert.Equal(t, k.clock.Now().Unix(), now.AuthTime.Unix(), "auth_time is now")
	assert.Equal(t, old.SessionID, now.SessionID, "same session")

	require.NoError(t, k.DisableTOTP(t.Context(), now, authkit.Client{}), "DisableTOTP after re-authenticating")
	assert.Equal(t, authkit.MessageSecondFactorRemoved, k.mail.Next(t).Kind, "a notice when a factor is removed")
	_, err = k.Login(t.Context(), "ada@example.com", totpPassword, authkit.Client{})
	assert.NoError(t, err, "no second step once removed")

	// An operator removes a factor with one call, and the user is told.
	en = enrol(t, k, "bob@example.com")
	require.NoError(t, k.RemoveSecondFactor(t.Context(), en.user.ID, authkit.Client{}))
	assert.Equal(t, authkit.MessageSecondFactorRemoved, k.mail.Next(t).Kind)
	_, err = k.Login(t.Context(), "bob@example.com", totpPassword, authkit.Client{})
	assert.NoError(t, err)
}

// TestOneCodeSignsInOnce races two sign-ins on one TOTP step and on one
// recovery code: exactly one of each succeeds.
func TestOneCodeSignsInOnce(t *testing.T) {
	k := newKit(t, withFactors)
	en := enrol(t, k, "ada@example.com")
	for _, code := range []string{en.code(t, k), en.recovery[0]} {
		tickets := []string{challenge(t, k, "ada@example.com"), challenge(t, k, "ada@example.com")}
		var wg sync.WaitGroup
		errs := make([]error, len(tickets))
		for i, ticket := range tickets {
			wg.Go(func() { _, errs[i] = k.LoginSecondFactor(t.Context(), ticket, code, authkit.Client{}) })
		}
		testkit.Finish(t, "two sign-ins with one code", wg.Wait)
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				assert.ErrorIs(t, err, authkit.ErrInvalidCredentials)
			}
		}
		assert.Equal(t, 1, won, "exactly one sign-in with code %q", code)
	}
}

// TestSecondFactorsOff checks that without FactorKeys nobody can enrol.
func TestSecondFactorsOff(t *testing.T) {
	k := newKit(t, nil)
	reg, _ := k.register(t, "ada@example.com", totpPassword)
	_, err := k.StartTOTP(t.Context(), claimsOf(t, k, reg.AccessToken))
	assert.True(t, errors.Is(err, authkit.ErrSecondFactorUnavailable), "StartTOTP: %v", err)
}
