package authkit_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

const pw = "securepass123"

func TestNewRefusesBadConfig(t *testing.T) {
	good := func() authkit.Config {
		return authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", BcryptCost: 4}
	}
	cases := map[string]func(*authkit.Config){
		"no store":            func(c *authkit.Config) { c.Store = nil },
		"no mailer":           func(c *authkit.Config) { c.Mailer = nil },
		"short secret":        func(c *authkit.Config) { c.Secret = []byte("too short") },
		"no secret":           func(c *authkit.Config) { c.Secret = nil },
		"negative access ttl": func(c *authkit.Config) { c.AccessTokenTTL = -time.Second },
		"negative reset ttl":  func(c *authkit.Config) { c.ResetTTL = -time.Second },
		"negative workers":    func(c *authkit.Config) { c.MailWorkers = -1 },
		"no base url":         func(c *authkit.Config) { c.BaseURL = "" },
		"relative base url":   func(c *authkit.Config) { c.BaseURL = "/app" },
		"ftp base url":        func(c *authkit.Config) { c.BaseURL = "ftp://x.example" },
		"bcrypt cost 3":       func(c *authkit.Config) { c.BcryptCost = 3 },
		"bcrypt cost 32":      func(c *authkit.Config) { c.BcryptCost = 32 },
		"min length over 72":  func(c *authkit.Config) { c.MinPasswordLength = 73 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			change(&cfg)
			a, err := authkit.New(cfg)
			assert.Nil(t, a)
			assert.ErrorIs(t, err, authkit.ErrConfig, "New(%s)", name)
		})
	}
	a, err := authkit.New(good())
	require.NoError(t, err, "New with a good config")
	require.NoError(t, a.Close(t.Context()))
}

func TestRegisterNormalizesAndRefusesDuplicates(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "  John.Doe@Example.COM ", pw)
	assert.Equal(t, "john.doe@example.com", tok.User.Email)
	assert.Equal(t, "john.doe", tok.User.DisplayName, "display name defaults to the local part, as the seed")
	assert.True(t, tok.User.Active)
	assert.False(t, tok.User.EmailVerified)
	assert.NotEmpty(t, tok.AccessToken)
	assert.NotEmpty(t, tok.RefreshToken)

	for _, dup := range []string{"john.doe@example.com", "JOHN.DOE@EXAMPLE.COM", "\tjohn.doe@example.com"} {
		_, err := k.Register(t.Context(), authkit.Registration{Email: dup, Password: pw}, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrEmailTaken, "Register(%q)", dup)
	}
	// Login works in any case and with white space.
	_, err := k.Login(t.Context(), " JOHN.doe@example.com", pw, authkit.Client{})
	assert.NoError(t, err)
}

func TestRegisterValidation(t *testing.T) {
	k := newKit(t, nil)
	cases := []struct {
		name  string
		reg   authkit.Registration
		field string
		want  authkit.FieldError
	}{
		{"missing email", authkit.Registration{Password: pw}, "email", authkit.FieldError{Code: authkit.CodeRequired}},
		{"bad email", authkit.Registration{Email: "not-an-email", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"display name in email", authkit.Registration{Email: "Bob <bob@example.com>", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"no domain dot", authkit.Registration{Email: "bob@localhost", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"missing password", authkit.Registration{Email: "a@example.com"}, "password", authkit.FieldError{Code: authkit.CodeRequired}},
		{"short password", authkit.Registration{Email: "a@example.com", Password: "1234567"}, "password", authkit.FieldError{Code: authkit.CodeTooShort, Limit: 8}},
		{"73 bytes", authkit.Registration{Email: "a@example.com", Password: strings.Repeat("a", 73)}, "password", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
		{"72 bytes of 3-byte runes plus one", authkit.Registration{Email: "a@example.com", Password: strings.Repeat("€", 24) + "a"}, "password", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
		{"long display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: strings.Repeat("n", 256)}, "display_name", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 255}},
		{"newline in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\nSubject: hi"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"NUL in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\x00"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"C1 control in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u0085x"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"bidi override in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u202Egnp.exe"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"line separator in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u2028Eve"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := k.Register(t.Context(), c.reg, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidInput)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{c.want}, v.Fields[c.field], "Register(%s) field errors", c.name)
		})
	}
	// Exactly 72 bytes is accepted, and all 72 count: a password that
	// differs only in the last byte does not log in.
	long := strings.Repeat("p", 71) + "1"
	_, err := k.Register(t.Context(), authkit.Registration{Email: "long@example.com", Password: long}, authkit.Client{})
	require.NoError(t, err)
	_, err = k.Login(t.Context(), "long@example.com", strings.Repeat("p", 71)+"2", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the 72nd byte must count")
	_, err = k.Login(t.Context(), "long@example.com", long, authkit.Client{})
	assert.NoError(t, err)
}

func TestLoginRevealsStateOnlyAfterTheRightPassword(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.RequireVerifiedEmail = true })
	tok, _ := k.register(t, "dis@example.com", pw)
	k.register(t, "unverified@example.com", pw)
	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, false, authkit.Client{}))

	cases := []struct {
		email, password string
		want            error
	}{
		{"nobody@example.com", pw, authkit.ErrInvalidCredentials},
		{"dis@example.com", "wrong-password", authkit.ErrInvalidCredentials},
		{"dis@example.com", pw, authkit.ErrAccountDisabled},
		{"unverified@example.com", "wrong-password", authkit.ErrInvalidCredentials},
		{"unverified@example.com", pw, authkit.ErrEmailNotVerified},
	}
	for _, c := range cases {
		_, err := k.Login(t.Context(), c.email, c.password, authkit.Client{})
		assert.ErrorIs(t, err, c.want, "Login(%s, %s)", c.email, c.password)
	}
}

func TestRequireVerifiedEmailOffByDefault(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "u@example.com", pw)
	_, err := k.Login(t.Context(), "u@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the seed lets unverified users log in")
}

// countingHasher counts the bcrypt work done and the cost of each hash
// verified.
type countingHasher struct {
	authkit.BcryptHasher
	mu     sync.Mutex
	costs  []string
	hashes int
}

func (h *countingHasher) Verify(hash, password string) (bool, error) {
	h.mu.Lock()
	h.costs = append(h.costs, hash[:7])
	h.mu.Unlock()
	return h.BcryptHasher.Verify(hash, password)
}

func (h *countingHasher) Hash(password string) (string, error) {
	h.mu.Lock()
	h.hashes++
	h.mu.Unlock()
	return h.BcryptHasher.Hash(password)
}

func TestUnknownEmailCostsTheSameAsAWrongPassword(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 5}}
	k := newKit(t, func(c *authkit.Config) { c.PasswordHasher = h })
	k.register(t, "known@example.com", pw)

	h.costs = nil
	_, err := k.Login(t.Context(), "known@example.com", "wrong-password", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
	_, err = k.Login(t.Context(), "unknown@example.com", "wrong-password", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
	assert.Equal(t, []string{"$2a$05$", "$2a$05$"}, h.costs, "one bcrypt compare of the configured cost in both cases")
}

func TestDefaultBcryptCostIs12(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.BcryptCost = 0 })
	reg, err := k.Register(t.Context(), authkit.Registration{Email: "c@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	tok := reg.Tokens
	assert.True(t, strings.HasPrefix(tok.User.PasswordHash, "$2a$12$"), "hash %q", tok.User.PasswordHash[:7])
}

func TestPasslibHashesVerifyAndAreRehashed(t *testing.T) {
	// pyca/bcrypt's test vector: the backend passlib.hash.bcrypt (the seed's
	// hasher) uses, producing "$2b$" hashes. "$2y$" (PHP) is the same
	// algorithm under another name.
	const password = "Kk4DQuMMfZL9o"
	const passlibHash = "$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm"
	h := authkit.BcryptHasher{Cost: 12}
	for _, hash := range []string{passlibHash, "$2y$" + passlibHash[4:]} {
		ok, err := h.Verify(hash, password)
		require.NoError(t, err)
		assert.True(t, ok, "%s verifies", hash[:4])
		ok, err = h.Verify(hash, password+"x")
		require.NoError(t, err)
		assert.False(t, ok)
	}
	assert.True(t, h.NeedsRehash(passlibHash), "cost 4 against a configured 12")

	k := newKit(t, nil)
	tok, _ := k.register(t, "old@example.com", password)
	_, err := k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: ptr(passlibHash), UpdatedAt: k.clock.Now()})
	require.NoError(t, err)
	k2 := newKit(t, func(c *authkit.Config) { c.Store = k.store; c.BcryptCost = 5 })
	_, err = k2.Login(t.Context(), "old@example.com", password, authkit.Client{})
	require.NoError(t, err, "a migrated passlib hash logs in")
	u, err := k2.User(t.Context(), tok.User.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$2a$05$"), "rehashed to the configured cost on login, got %s", u.PasswordHash[:7])
	_, err = k2.Login(t.Context(), "old@example.com", password, authkit.Client{})
	assert.NoError(t, err, "the new hash works")
}

func ptr[T any](v T) *T { return &v }

func TestHashAboveTheMaximumCostIsRefused(t *testing.T) {
	// The bound is MaxCost: a hash one above it is refused, one at it is
	// computed.
	cost5, err := authkit.BcryptHasher{Cost: 5}.Hash("abc")
	require.NoError(t, err)
	ok, err := authkit.BcryptHasher{Cost: 4, MaxCost: 4}.Verify(cost5, "abc")
	assert.False(t, ok)
	assert.ErrorIs(t, err, authkit.ErrCorruptHash, "cost 5 above MaxCost 4")
	ok, err = authkit.BcryptHasher{Cost: 4, MaxCost: 5}.Verify(cost5, "abc")
	assert.NoError(t, err, "cost 5 at MaxCost 5")
	assert.True(t, ok, "cost 5 at MaxCost 5")
	ok, err = authkit.BcryptHasher{Cost: 4, MaxCost: 5}.Verify(cost5, "abd")
	assert.NoError(t, err, "a computed mismatch is no error")
	assert.False(t, ok)

	// A cost-31 hash would take days to check; it is refused, not computed.
	// The error is the proof: a computed comparison of a well-formed hash
	// answers a mismatch with no error, so ErrCorruptHash can only come
	// from the cost check made before comparing. Were the check gone, Verify
	// would run for days, and Finish fail the test as hung long before.
	const hostile = "$2a$31$EXRkfkdmXn2gzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q"
	testkit.Finish(t, "Verify of a cost-31 hash", func() { ok, err = authkit.BcryptHasher{Cost: 12}.Verify(hostile, "abc") })
	assert.False(t, ok)
	assert.ErrorIs(t, err, authkit.ErrCorruptHash, "cost 31 above the default maximum")
}

func TestOneTimeTokensAreRandomAndStoredHashed(t *testing.T) {
	k := newKit(t, nil)
	_, verify := k.register(t, "v@example.com", pw)
	raw, err := base64.RawURLEncoding.DecodeString(verify)
	require.NoError(t, err, "token is base64url without padding")
	assert.Len(t, raw, 32, "256 bits")

	sum := sha256.Sum256([]byte(verify))
	stored, err := k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	require.NoError(t, err, "the store holds the SHA-256 of the token")
	assert.Equal(t, authkit.PurposeVerifyEmail, stored.Purpose)
	_, err = k.store.Token(t.Context(), verify)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "the token itself is never stored")
	assert.Equal(t, 24*time.Hour, stored.ExpiresAt.Sub(stored.CreatedAt), "verification lives 24 h by default")

	_, verify2 := k.register(t, "w@example.com", pw)
	assert.NotEqual(t, verify, verify2)
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

func TestChangePassword(t *testing.T) {
	k := newKit(t, nil)
	mine, _ := k.register(t, "c@example.com", pw)
	other, err := k.Login(t.Context(), "c@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: mine.User.ID, SessionID: mine.SessionID, CurrentPassword: "wrong-password", NewPassword: "another-pass-1"}, authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, []authkit.FieldError{{Code: authkit.CodeWrongPassword}}, v.Fields["current_password"])

	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: mine.User.ID, CurrentPassword: pw, NewPassword: "short"}, authkit.Client{})
	require.ErrorAs(t, err, &v)
	assert.Contains(t, v.Fields, "new_password", "the change applies the register policy")

	fresh, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: mine.User.ID, SessionID: mine.SessionID, CurrentPassword: pw, NewPassword: "another-pass-1"}, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, authkit.MessagePasswordChanged, k.mail.Next(t).Kind)

	_, err = k.VerifyAccessToken(t.Context(), fresh.AccessToken)
	require.NoError(t, err)
	_, _, err = k.Authenticate(t.Context(), fresh.AccessToken)
	assert.NoError(t, err, "the fresh access token works")
	_, err = k.Refresh(t.Context(), mine.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "the caller's session is kept")
	_, err = k.Refresh(t.Context(), other.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "other sessions end")

	_, _, err = k.Authenticate(t.Context(), other.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "older access tokens are cut off")
}

func TestDisablingAUserEndsEverything(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "d@example.com", pw)
	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, false, authkit.Client{}))
	_, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.Error(t, err)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)

	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, true, authkit.Client{}))
	_, err = k.Login(t.Context(), "d@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "enabled again")
	assert.ErrorIs(t, k.SetActive(t.Context(), "no-such-user", false, authkit.Client{}), authkit.ErrNotFound)
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	k := newKit(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, taken := 0, 0
	for i := range 50 {
		wg.Go(func() {
			email := "Race@Example.com"
			if i%2 == 0 {
				email = strings.ToUpper(email)
			}
			_, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: pw}, authkit.Client{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, authkit.ErrEmailTaken):
				taken++
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	assert.Equal(t, 49, taken)
}

func TestLoginRacingAResetKeepsNoSession(t *testing.T) {
	cases := map[string]func(t *testing.T, k *kit, userID, reset string){
		"reset": func(t *testing.T, k *kit, _, reset string) {
			require.NoError(t, k.ResetPassword(t.Context(), reset, "brand-new-pass", authkit.Client{}))
		},
		"disable": func(t *testing.T, k *kit, userID, _ string) {
			require.NoError(t, k.SetActive(t.Context(), userID, false, authkit.Client{}))
		},
		"logout everywhere": func(t *testing.T, k *kit, userID, _ string) {
			require.NoError(t, k.LogoutAll(t.Context(), userID, authkit.Client{}))
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			h := newBlockingHasher(4)
			k := newKit(t, func(c *authkit.Config) {
				c.PasswordHasher = h
				c.MaxConcurrentHashes = 4 // the blocked check holds one slot
			})
			tok, _ := k.register(t, "race@example.com", pw)
			require.NoError(t, k.ForgotPassword(t.Context(), "race@example.com", authkit.Client{}))
			reset := testkit.TokenOf(t, k.mail.Next(t))

			h.hold.Store(true)
			done := make(chan error, 1)
			go func() {
				_, err := k.Login(t.Context(), "race@example.com", pw, authkit.Client{})
				done <- err
			}()
			h.gate.Entered(t) // Login is checking the password as it was
			h.hold.Store(false)
			change(t, k, tok.User.ID, reset)
			h.gate.Open()

			assert.ErrorIs(t, testkit.Receive(t, done, "Login"), authkit.ErrInvalidCredentials, "Login racing a %s", name)
			list, err := k.store.UserSessions(t.Context(), tok.User.ID)
			require.NoError(t, err)
			assert.Empty(t, list, "no session outlives the %s", name)
			ev, ok := k.events.last(authkit.EventLoginFail)
			require.True(t, ok)
			assert.Equal(t, "account_changed", ev.Reason)
		})
	}
}

func TestChangePasswordIssuesNoTokenForASessionEndedMeanwhile(t *testing.T) {
	h := newBlockingHasher(4)
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.MaxConcurrentHashes = 4
	})
	tok, _ := k.register(t, "cp@example.com", pw)

	h.hold.Store(true)
	type result struct {
		t   authkit.Tokens
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, SessionID: tok.SessionID, CurrentPassword: pw, NewPassword: "another-pass-1"}, authkit.Client{})
		done <- result{got, err}
	}()
	h.gate.Entered(t)
	h.hold.Store(false)
	require.NoError(t, k.LogoutAll(t.Context(), tok.User.ID, authkit.Client{}))
	h.gate.Open()

	r := testkit.Receive(t, done, "ChangePassword")
	require.NoError(t, r.err, "the password is changed")
	assert.Empty(t, r.t.AccessToken, "no access token for the session logout-all ended")
	_, err := k.Login(t.Context(), "cp@example.com", "another-pass-1", authkit.Client{})
	assert.NoError(t, err)
}

func TestChangePasswordGuessesSpendTheLoginBudget(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.Limits.LoginFailures = authkit.Limit{Burst: 3, Every: time.Minute}
	})
	tok, _ := k.register(t, "guess@example.com", pw)
	change := func(current string) error {
		_, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, SessionID: tok.SessionID, CurrentPassword: current, NewPassword: "another-pass-1"}, authkit.Client{})
		return err
	}
	for i := range 3 {
		require.ErrorIs(t, change("wrong-password"), authkit.ErrInvalidInput, "guess %d", i+1)
	}
	h.mu.Lock()
	h.costs = nil
	h.mu.Unlock()
	throttled(t, change("wrong-password"))
	throttled(t, change(pw))
	h.mu.Lock()
	assert.Empty(t, h.costs, "no password is checked while the budget is spent")
	h.mu.Unlock()
	_, err := k.Login(t.Context(), "guess@example.com", pw, authkit.Client{})
	throttled(t, err) // one budget for login and change-password

	k.clock.Advance(time.Minute)
	require.NoError(t, change(pw), "the budget refills")
	for range 3 {
		require.ErrorIs(t, change("wrong-password"), authkit.ErrInvalidInput, "a good change restored the whole budget")
	}
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

func TestUserJSONLeavesOutThePasswordHash(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "j@example.com", pw)
	require.NotEmpty(t, tok.User.PasswordHash)
	b, err := json.Marshal(tok.User)
	require.NoError(t, err)
	assert.NotContains(t, string(b), tok.User.PasswordHash)
	assert.NotContains(t, string(b), "PasswordHash")
	assert.Contains(t, string(b), "j@example.com")
}

func TestDisplayNamesOfPeopleAreAccepted(t *testing.T) {
	k := newKit(t, nil)
	for i, name := range []string{"Zoë O'Brien", "👩‍💻 Dev", "عربي", "  Padded\t"} {
		tok, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("p%d@example.com", i), Password: pw, DisplayName: name}, authkit.Client{})
		require.NoError(t, err, "Register(display name %q)", name)
		assert.Equal(t, strings.TrimSpace(name), tok.User.DisplayName)
	}
}

func TestARehashByAConcurrentLoginIsNoChangeOfPassword(t *testing.T) {
	h := newBlockingHasher(5)
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.MaxConcurrentHashes = 4
	})
	tok, _ := k.register(t, "re@example.com", pw)
	old, err := authkit.BcryptHasher{Cost: 4}.Hash(pw)
	require.NoError(t, err)
	_, err = k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: &old, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)

	h.hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := k.Login(t.Context(), "re@example.com", pw, authkit.Client{})
		done <- err
	}()
	h.gate.Entered(t)
	h.hold.Store(false)
	_, err = k.Login(t.Context(), "re@example.com", pw, authkit.Client{})
	require.NoError(t, err, "the second login")
	u, err := k.User(t.Context(), tok.User.ID)
	require.NoError(t, err)
	require.NotEqual(t, old, u.PasswordHash, "the second login rehashed")
	h.gate.Open()
	assert.NoError(t, testkit.Receive(t, done, "the first login"), "the first login, whose hash was rehashed meanwhile")
}

func TestMailFlowsNormalizeTheEmail(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "norm@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "  NORM@Example.COM\t", authkit.Client{}))
	msg := k.mail.Next(t)
	assert.Equal(t, authkit.MessageResetPassword, msg.Kind, "a padded, mixed-case email finds the account")
	assert.Equal(t, "norm@example.com", msg.To)
	require.NoError(t, k.ResendVerification(t.Context(), " Norm@EXAMPLE.com ", authkit.Client{}))
	msg = k.mail.Next(t)
	assert.Equal(t, authkit.MessageVerifyEmail, msg.Kind)
	assert.Equal(t, "norm@example.com", msg.To)
}
