package authkit_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestAPasswordOfExactlyTheMinimumLengthIsAccepted checks both sides of
// the minimum, counted in characters (code points of the NFKC form), at
// every flow that sets a password: register, reset and change. A
// multi-byte password of the minimum is accepted, and one character less
// is refused although its bytes would be more than enough.
func TestAPasswordOfExactlyTheMinimumLengthIsAccepted(t *testing.T) {
	const minimum = authkit.DefaultMinPasswordLength
	cases := []struct{ name, atMinimum string }{
		{"ASCII", "abcdefg8"},
		{"two-byte characters", "пароль12"},
		{"four-byte characters", "🔑🔒🔓🗝🔐🔏🔑🔒"},
	}
	tooShort := authkit.FieldError{Code: authkit.CodeTooShort, Limit: minimum}
	for _, c := range cases {
		atMinimum := c.atMinimum
		require.Equal(t, minimum, utf8.RuneCountInString(atMinimum), "%s: the minimum in characters", c.name)
		_, last := utf8.DecodeLastRuneInString(atMinimum)
		oneLess := atMinimum[:len(atMinimum)-last]
		if len(atMinimum) > minimum {
			require.GreaterOrEqual(t, len(oneLess), minimum, "%s: one character less is still the minimum in bytes: bytes are not what counts", c.name)
		}
		refused := func(t *testing.T, err error, field, flow string) {
			t.Helper()
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "%s with %d characters", flow, minimum-1)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{tooShort}, v.Fields[field], "%s: field errors of %q", flow, field)
		}

		t.Run(c.name, func(t *testing.T) {
			k := newKit(t, nil)
			email := func(flow string) string { return flow + "@example.com" }

			_, err := k.Register(t.Context(), authkit.Registration{Email: email("register"), Password: oneLess}, authkit.Client{})
			refused(t, err, "password", "Register")
			_, err = k.Register(t.Context(), authkit.Registration{Email: email("register"), Password: atMinimum}, authkit.Client{})
			require.NoError(t, err, "Register with %d characters", minimum)
			k.mail.Next(t, authkit.MessageVerifyEmail)
			_, err = k.Login(t.Context(), email("register"), atMinimum, authkit.Client{})
			assert.NoError(t, err, "Login with the password registered")

			k.register(t, email("reset"), pw)
			tok, _ := k.register(t, email("change"), pw)
			require.NoError(t, k.ForgotPassword(t.Context(), email("reset"), authkit.Client{}))
			reset := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
			refused(t, k.ResetPassword(t.Context(), reset, oneLess, authkit.Client{}), "password", "ResetPassword")
			require.NoError(t, k.ResetPassword(t.Context(), reset, atMinimum, authkit.Client{}), "ResetPassword with %d characters", minimum)
			_, err = k.Login(t.Context(), email("reset"), atMinimum, authkit.Client{})
			assert.NoError(t, err, "Login with the password reset")

			change := func(newPassword string) error {
				_, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, SessionID: tok.SessionID, CurrentPassword: pw, NewPassword: newPassword}, authkit.Client{})
				return err
			}
			refused(t, change(oneLess), "new_password", "ChangePassword")
			require.NoError(t, change(atMinimum), "ChangePassword with %d characters", minimum)
			_, err = k.Login(t.Context(), email("change"), atMinimum, authkit.Client{})
			assert.NoError(t, err, "Login with the password changed")
		})
	}
}

// TestLoginRefusesAPasswordOver72BytesUnchecked is the Go API's side of
// the 72-byte rule at login (httpauth checks the HTTP side): a password
// bcrypt would truncate is refused as too long, before any hashing and
// alike for a known and an unknown email, even when its first 72 bytes
// are the account's password.
func TestLoginRefusesAPasswordOver72BytesUnchecked(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) { c.PasswordHasher = h })
	pw72 := "一二三四五六七八九十百千万亿甲乙丙丁戊己庚辛壬癸" // 72 bytes in UTF-8: 24 ideographs
	require.Len(t, pw72, authkit.MaxPasswordBytes)
	k.register(t, "long@example.com", pw72)
	_, err := k.Login(t.Context(), "long@example.com", pw72, authkit.Client{})
	require.NoError(t, err, "72 bytes log in")

	tooLong := authkit.FieldError{Code: authkit.CodeTooLong, Limit: authkit.MaxPasswordBytes}
	for _, email := range []string{"long@example.com", "nobody@example.com"} {
		for name, password := range map[string]string{
			"73 bytes, the first 72 right": pw72 + "x",
			"73 ASCII bytes":               strings.Repeat("p", 73),
		} {
			h.mu.Lock()
			h.costs = nil
			h.mu.Unlock()
			_, err := k.Login(t.Context(), email, password, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "Login(%s, %s)", email, name)
			assert.NotErrorIs(t, err, authkit.ErrInvalidCredentials, "Login(%s, %s): too long, not wrong", email, name)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{tooLong}, v.Fields["password"], "Login(%s, %s)", email, name)
			h.mu.Lock()
			assert.Empty(t, h.costs, "Login(%s, %s): no password was checked", email, name)
			h.mu.Unlock()
		}
	}
}
