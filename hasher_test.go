package authkit_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/authkit/authkit"
)

// TestPasswordsAreNFKCNormalized registers passwords in one spelling and
// uses them in another that NFKC makes equal: a ligature, full-width
// letters, a decomposed accent.
func TestPasswordsAreNFKCNormalized(t *testing.T) {
	cases := []struct{ name, registered, given string }{
		{"ligature then letters", "\uFB01sh and chips", "fish and chips"},
		{"letters then ligature", "fish and chips", "\uFB01sh and chips"},
		{"full-width then ASCII", "Ｂｌｕｅｈｅｒｏｎ１２３", "Blueheron123"},
		{"ASCII then full-width", "Blueheron123", "Ｂｌｕｅｈｅｒｏｎ１２３"},
		{"decomposed then composed", "cafe\u0301 au lait", "caf\u00e9 au lait"},
		{"composed then decomposed", "caf\u00e9 au lait", "cafe\u0301 au lait"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKit(t, nil)
			email := "nfkc" + string(rune('a'+i)) + "@example.com"
			tok, _ := k.register(t, email, c.registered)
			ok, err := authkit.BcryptHasher{Cost: 4}.Verify(tok.User.PasswordHash, norm.NFKC.String(c.registered))
			require.NoError(t, err)
			assert.True(t, ok, "the hash holds the NFKC form")

			_, err = k.Login(t.Context(), email, c.given, authkit.Client{})
			require.NoError(t, err, "Login with %q after registering %q", c.given, c.registered)
			_, err = k.Login(t.Context(), email, c.registered, authkit.Client{})
			require.NoError(t, err, "Login with the spelling registered")
			_, err = k.Login(t.Context(), email, c.given+"x", authkit.Client{})
			assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a different password still fails")

			// Change and reset take either spelling as well.
			_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, CurrentPassword: c.given, NewPassword: "\uFB03x and \uFB02y"}, authkit.Client{})
			require.NoError(t, err, "ChangePassword with the current password spelled %q", c.given)
			_, err = k.Login(t.Context(), email, "ffix and fly", authkit.Client{})
			assert.NoError(t, err, "the new password, normalized")
		})
	}
}

// TestPasswordHashedBeforeNormalizationStillLogsIn stores a hash made of a
// password as typed, before authkit normalized passwords, and logs in
// with it: nobody is locked out by the change.
func TestPasswordHashedBeforeNormalizationStillLogsIn(t *testing.T) {
	const typed = "\uFB01ne Ｐａｓｓ \u2460" // ligature, full-width, circled digit
	require.NotEqual(t, typed, norm.NFKC.String(typed))
	legacy, err := authkit.BcryptHasher{Cost: 4}.Hash(typed)
	require.NoError(t, err)

	k := newKit(t, nil)
	tok, _ := k.register(t, "legacy@example.com", pw)
	_, err = k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: &legacy, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)

	_, err = k.Login(t.Context(), "legacy@example.com", typed, authkit.Client{})
	require.NoError(t, err, "the password as typed matches the hash made before normalization")
	_, err = k.Login(t.Context(), "legacy@example.com", typed[:len(typed)-3]+"\u2461", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a wrong password in the same scripts fails")
	_, err = k.Login(t.Context(), "legacy@example.com", pw, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the password the hash replaced fails")

	// The current password of a change may be the typed form too.
	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, CurrentPassword: typed, NewPassword: typed}, authkit.Client{})
	require.NoError(t, err, "ChangePassword with a legacy current password")
	_, err = k.Login(t.Context(), "legacy@example.com", norm.NFKC.String(typed), authkit.Client{})
	assert.NoError(t, err, "the new hash holds the NFKC form: both spellings log in")
	_, err = k.Login(t.Context(), "legacy@example.com", typed, authkit.Client{})
	assert.NoError(t, err, "both spellings log in")
}

// passwordsHasher records the passwords it is asked to verify.
type passwordsHasher struct {
	authkit.BcryptHasher
	mu       sync.Mutex
	verified []string
}

func (h *passwordsHasher) Verify(hash, password string) (bool, error) {
	h.mu.Lock()
	h.verified = append(h.verified, password)
	h.mu.Unlock()
	return h.BcryptHasher.Verify(hash, password)
}

func (h *passwordsHasher) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := h.verified
	h.verified = nil
	return v
}

// TestNonNFKCPasswordCostsAlikeForKnownAndUnknownEmails checks that the
// second comparison made for a password not in NFKC form is made whether
// or not the email has an account, so that it tells nothing.
func TestNonNFKCPasswordCostsAlikeForKnownAndUnknownEmails(t *testing.T) {
	h := &passwordsHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) { c.PasswordHasher = h })
	k.register(t, "known@example.com", pw)
	for _, c := range []struct {
		name     string
		password string
		want     []string
	}{
		{"NFKC", "wrong password", []string{"wrong password"}},
		{"not NFKC", "wrong \uFB01sh", []string{"wrong fish", "wrong \uFB01sh"}},
		{"NFKC form over 72 bytes", strings.Repeat("p", 69) + "\u33AF", []string{strings.Repeat("p", 69) + "\u33AF"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.take()
			_, err := k.Login(t.Context(), "known@example.com", c.password, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
			known := h.take()
			_, err = k.Login(t.Context(), "unknown@example.com", c.password, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
			unknown := h.take()
			assert.Equal(t, c.want, known, "comparisons for a known email")
			assert.Equal(t, known, unknown, "the same comparisons for an unknown email")
		})
	}
}

// TestPasswordLimitsApplyToTheNormalizedForm checks that the policy counts
// the form that is hashed, and that no form over 72 bytes is ever compared
// (bcrypt would compare only its first 72 bytes).
func TestPasswordLimitsApplyToTheNormalizedForm(t *testing.T) {
	k := newKit(t, nil)
	// U+FDFA is 3 bytes as typed and 33 in NFKC.
	expands := strings.Repeat("p", 60) + "\uFDFA"
	require.LessOrEqual(t, len(expands), 72)
	require.Greater(t, len(norm.NFKC.String(expands)), 72)
	// Hangul typed as conjoining jamo: 9 bytes a syllable as typed, 3 in
	// NFKC. Nine syllables, each with its own initial consonant (one
	// syllable repeated would be refused by the password policy).
	var jamo, syllables strings.Builder
	for i := range 9 {
		jamo.WriteString(string(rune(0x1100+i)) + "\u1161\u11A8")
		syllables.WriteRune(rune(0xAC01 + 588*i))
	}
	require.Greater(t, jamo.Len(), 72)
	require.Equal(t, syllables.String(), norm.NFKC.String(jamo.String()))

	cases := []struct {
		name     string
		password string
		want     authkit.FieldError
	}{
		{"72 bytes that normalize to more", expands, authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
		{"11 characters typed, 5 in NFKC", strings.Repeat("\u1100\u1161\u11A8", 3) + "ab", authkit.FieldError{Code: authkit.CodeTooShort, Limit: 8}},
	}
	for _, c := range cases {
		_, err := k.Register(t.Context(), authkit.Registration{Email: "limits@example.com", Password: c.password}, authkit.Client{})
		var v *authkit.ValidationError
		require.ErrorAs(t, err, &v, c.name)
		assert.Equal(t, []authkit.FieldError{c.want}, v.Fields["password"], c.name)
	}

	// 81 bytes as typed, 27 in NFKC: a good password, which logs in as
	// typed and composed.
	_, err := k.Register(t.Context(), authkit.Registration{Email: "jamo@example.com", Password: jamo.String()}, authkit.Client{})
	require.NoError(t, err, "a password of 27 bytes in NFKC")
	_, err = k.Login(t.Context(), "jamo@example.com", jamo.String(), authkit.Client{})
	assert.NoError(t, err, "Login with the jamo as typed (81 bytes)")
	_, err = k.Login(t.Context(), "jamo@example.com", norm.NFKC.String(jamo.String()), authkit.Client{})
	assert.NoError(t, err, "Login with the composed syllables")

	// "p"×69 + "㎯" is 72 bytes as typed, and "p"×69 + "rad∕s2" in NFKC,
	// whose first 72 bytes are the password "p"×69 + "rad". Comparing the
	// NFKC form would let it in.
	truncated := strings.Repeat("p", 69) + "rad"
	_, err = k.Register(t.Context(), authkit.Registration{Email: "trunc@example.com", Password: truncated}, authkit.Client{})
	require.NoError(t, err)
	_, err = k.Login(t.Context(), "trunc@example.com", strings.Repeat("p", 69)+"\u33AF", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a password whose NFKC form only starts with the right 72 bytes")
	_, err = k.Login(t.Context(), "trunc@example.com", truncated, authkit.Client{})
	assert.NoError(t, err)
}
