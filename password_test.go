package authkit_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

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

// workHasher records the cost of every bcrypt computation it makes: a
// Verify that returns no error compared a password against a hash; one that
// returns an error refused the hash before any work.
type workHasher struct {
	authkit.BcryptHasher
	mu       sync.Mutex
	computed []int
}

func (h *workHasher) Verify(hash, password string) (bool, error) {
	ok, err := h.BcryptHasher.Verify(hash, password)
	if err == nil {
		cost, _ := bcrypt.Cost([]byte(hash))
		h.mu.Lock()
		h.computed = append(h.computed, cost)
		h.mu.Unlock()
	}
	return ok, err
}

func TestAnUnusableStoredHashCostsTheSameAsAWrongPassword(t *testing.T) {
	h := &workHasher{BcryptHasher: authkit.BcryptHasher{Cost: 5}}
	k := newKit(t, func(c *authkit.Config) { c.PasswordHasher = h })
	for _, c := range []struct{ name, hash string }{
		{"a good hash and a wrong password", ""},
		{"an empty hash", ""},
		{"a corrupt hash", "$2a$05$this-is-not-a-bcrypt-hash"},
		{"not bcrypt at all", "plaintext-password"},
		{"an over-cost hash", "$2a$31$EXRkfkdmXn2gzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q"},
	} {
		t.Run(c.name, func(t *testing.T) {
			email := strings.ReplaceAll(c.name, " ", "-") + "@example.com"
			tok, _ := k.register(t, email, pw)
			password := "wrong-password"
			if c.name != "a good hash and a wrong password" {
				_, err := k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: &c.hash, UpdatedAt: k.clock.Now()})
				require.NoError(t, err)
				password = pw
			}
			h.mu.Lock()
			h.computed = nil
			h.mu.Unlock()
			_, err := k.Login(t.Context(), email, password, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
			h.mu.Lock()
			defer h.mu.Unlock()
			assert.Equal(t, []int{5}, h.computed, "one bcrypt computation of the configured cost")
		})
	}
}

func TestAHashOfAnUnnormalizedPasswordIsReplacedOnLogin(t *testing.T) {
	// Before passwords were NFKC-normalized, "ﬁsh and chips" (with the fi
	// ligature) was hashed as typed. It keeps working, and the first login
	// replaces the hash by one of the normalized form, after which either
	// spelling works.
	k := newKit(t, nil)
	tok, _ := k.register(t, "legacy@example.com", pw)
	old, err := authkit.BcryptHasher{Cost: 4}.Hash("\uFB01sh and chips")
	require.NoError(t, err)
	_, err = k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: &old, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)

	_, err = k.Login(t.Context(), "legacy@example.com", "fish and chips", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the old hash holds the ligature")
	_, err = k.Login(t.Context(), "legacy@example.com", "\uFB01sh and chips", authkit.Client{})
	require.NoError(t, err, "the password as typed still works")
	u, err := k.User(t.Context(), tok.User.ID)
	require.NoError(t, err)
	assert.NotEqual(t, old, u.PasswordHash, "the hash was replaced")
	_, err = k.Login(t.Context(), "legacy@example.com", "fish and chips", authkit.Client{})
	assert.NoError(t, err, "now the normalized spelling works too")
}
