package authkit_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/storetest"
)

func TestMemoryLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(testing.TB) authkit.Limiter { return &authkit.MemoryLimiter{} })
}

func TestLimitDecide(t *testing.T) {
	l := authkit.Limit{Burst: 2, Every: 10 * time.Second}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tat, ok, _ := l.Decide(time.Time{}, t0)
	require.True(t, ok)
	assert.Equal(t, t0.Add(10*time.Second), tat)
	tat, ok, _ = l.Decide(tat, t0)
	require.True(t, ok)
	_, ok, wait := l.Decide(tat, t0)
	assert.False(t, ok)
	assert.Equal(t, 10*time.Second, wait)
}

func TestLimitsAreValidated(t *testing.T) {
	for name, lim := range map[string]authkit.Limits{
		"no burst":    {LoginAddr: authkit.Limit{Every: time.Second}},
		"no interval": {MailEmail: authkit.Limit{Burst: 3}},
	} {
		_, err := authkit.New(authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", Limits: lim})
		assert.ErrorIs(t, err, authkit.ErrConfig, name)
	}
}

// throttled asserts err is a rate limit and returns its wait.
func throttled(t testing.TB, err error) time.Duration {
	t.Helper()
	require.ErrorIs(t, err, authkit.ErrRateLimited)
	var rl *authkit.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Positive(t, rl.RetryAfter)
	return rl.RetryAfter
}

func TestLoginThrottleLooksTheSameForEveryAccount(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.Limits.LoginFailures = authkit.Limit{Burst: 3, Every: time.Minute}
	})
	k.register(t, "real@example.com", pw)
	for _, email := range []string{"real@example.com", "ghost@example.com"} {
		for range 3 {
			_, err := k.Login(t.Context(), email, "wrong-password", authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
		}
	}
	h.mu.Lock()
	h.costs = nil
	h.mu.Unlock()
	var waits []time.Duration
	for _, c := range []struct{ email, password string }{
		{"real@example.com", pw}, {"real@example.com", "wrong-password"},
		{"ghost@example.com", pw}, {"ghost@example.com", "wrong-password"},
	} {
		_, err := k.Login(t.Context(), c.email, c.password, authkit.Client{})
		waits = append(waits, throttled(t, err))
	}
	assert.Equal(t, []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute}, waits, "all four alike")
	assert.Empty(t, h.costs, "no password is checked while throttled")

	k.clock.Advance(time.Minute)
	_, err := k.Login(t.Context(), "real@example.com", pw, authkit.Client{})
	require.NoError(t, err, "the budget refills slowly")
	for range 3 {
		_, err = k.Login(t.Context(), "real@example.com", "wrong-password", authkit.Client{})
		require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a good login restored the whole budget")
	}
	ev, ok := k.events.last(authkit.EventRateLimited)
	require.True(t, ok)
	assert.Equal(t, "login_failures", ev.Reason)
}

func TestLoginWaitsGrowUnderASustainedAttack(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "target@example.com", pw)
	attempt := func() error {
		_, err := k.Login(t.Context(), "target@example.com", "guess", authkit.Client{})
		return err
	}
	tries := 0
	var longest time.Duration
	for range 24 * 60 { // one attempt a minute, for a day
		err := attempt()
		if errors.Is(err, authkit.ErrInvalidCredentials) {
			tries++
		} else {
			longest = max(longest, throttled(t, err))
		}
		k.clock.Advance(time.Minute)
	}
	assert.LessOrEqual(t, tries, 100, "NIST SP 800-63B: at most 100 failures")
	// The ceiling refills one guess per 18 minutes: once it is spent, the
	// wait is that of the ceiling, far beyond the strict budget's minute.
	assert.Greater(t, longest, 15*time.Minute, "waits grow far beyond the first minute")
}

func TestMailBudgetPerEmailSendsNothingButSaysTheSame(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.Limits.MailEmail = authkit.Limit{Burst: 2, Every: time.Hour} })
	k.register(t, "m@example.com", pw)
	for range 2 {
		require.NoError(t, k.ForgotPassword(t.Context(), "m@example.com", authkit.Client{}))
		assert.Equal(t, authkit.MessageResetPassword, k.mail.Next(t).Kind)
	}
	require.NoError(t, k.ResendVerification(t.Context(), "m@example.com", authkit.Client{}), "another flow, another budget")
	assert.Equal(t, authkit.MessageVerifyEmail, k.mail.Next(t).Kind)
	require.NoError(t, k.ForgotPassword(t.Context(), "m@example.com", authkit.Client{}), "the same answer")
	require.NoError(t, k.Close(t.Context()), "Close drains the mail queue")
	k.mail.None(t)
}

func TestPerAddressLimits(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) {
		c.Limits.RegisterAddr = authkit.Limit{Burst: 1, Every: time.Hour}
		c.Limits.MailAddr = authkit.Limit{Burst: 1, Every: time.Hour}
		c.Limits.TokenAddr = authkit.Limit{Burst: 1, Every: time.Hour}
		c.Limits.LoginAddr = authkit.Limit{Burst: 1, Every: time.Hour}
	})
	a := authkit.Client{Addr: "203.0.113.5"}
	b := authkit.Client{Addr: "203.0.113.6"}
	reg, err := k.Register(t.Context(), authkit.Registration{Email: "one@example.com", Password: pw}, a)
	require.NoError(t, err)
	tok := reg.Tokens
	_, err = k.Register(t.Context(), authkit.Registration{Email: "two@example.com", Password: pw}, a)
	throttled(t, err)
	_, err = k.Register(t.Context(), authkit.Registration{Email: "two@example.com", Password: pw}, b)
	require.NoError(t, err, "another address has its own budget")

	_, err = k.Login(t.Context(), "one@example.com", pw, a)
	require.NoError(t, err)
	_, err = k.Login(t.Context(), "one@example.com", pw, a)
	throttled(t, err)

	require.NoError(t, k.ForgotPassword(t.Context(), "x@example.com", a))
	throttled(t, k.ResendVerification(t.Context(), "x@example.com", a))

	_, err = k.Refresh(t.Context(), tok.RefreshToken, a)
	require.NoError(t, err)
	_, err = k.VerifyEmail(t.Context(), "whatever", a)
	throttled(t, err)
	throttled(t, k.ResetPassword(t.Context(), "whatever", "new-password-1", a))

	off := newKit(t, func(c *authkit.Config) { c.Limits.RegisterAddr = authkit.Limit{Off: true} })
	for i := range 20 {
		_, err := off.Register(t.Context(), authkit.Registration{Email: string(rune('a'+i)) + "@example.com", Password: pw}, a)
		require.NoError(t, err, "a limit that is off never refuses")
	}
}

func TestHashingIsBounded(t *testing.T) {
	slow := newBlockingHasher(4)
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = slow
		c.MaxConcurrentHashes = 1
		c.MaxHashWait = 50 * time.Millisecond
	})
	k.register(t, "h@example.com", pw)
	slow.hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := k.Login(t.Context(), "h@example.com", pw, authkit.Client{})
		done <- err
	}()
	slow.gate.Entered(t) // the first login holds the one slot until the gate opens
	// The second login can only get the slot once the first lets go, which
	// happens after this call: it returns because it gave up waiting, or
	// it hangs (and Finish fails the test).
	var err error
	testkit.Finish(t, "a second login while the only hashing slot is held", func() {
		_, err = k.Login(t.Context(), "h@example.com", pw, authkit.Client{})
	})
	assert.ErrorIs(t, err, authkit.ErrBusy, "a second hash waits no longer than MaxHashWait")
	assert.Equal(t, 1, slow.gate.Waiting(), "the first check was still under way when the second gave up")
	slow.gate.Open()
	require.NoError(t, testkit.Receive(t, done, "the first login"))
}

func TestConcurrentWrongLoginsGetNoMoreThanTheBudget(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.MaxConcurrentHashes = 8
		c.MaxHashWait = time.Minute
		c.Limits.LoginFailures = authkit.Limit{Burst: 5, Every: time.Minute}
	})
	k.register(t, "target@example.com", pw)
	for _, email := range []string{"target@example.com", "ghost@example.com"} {
		h.mu.Lock()
		h.costs = nil
		h.mu.Unlock()
		var wg sync.WaitGroup
		var invalid, limited atomic.Int32
		start := make(chan struct{})
		for range 30 {
			wg.Go(func() {
				<-start
				_, err := k.Login(t.Context(), email, "wrong-password", authkit.Client{})
				switch {
				case errors.Is(err, authkit.ErrInvalidCredentials):
					invalid.Add(1)
				case errors.Is(err, authkit.ErrRateLimited):
					limited.Add(1)
				default:
					t.Errorf("Login(%s): %v", email, err)
				}
			})
		}
		close(start)
		testkit.Finish(t, "30 concurrent wrong logins", wg.Wait)
		h.mu.Lock()
		checks := len(h.costs)
		h.mu.Unlock()
		assert.Equal(t, 5, checks, "%s: exactly the burst reaches the password check", email)
		assert.EqualValues(t, checks, invalid.Load(), "%s: every check that ran failed", email)
		assert.EqualValues(t, 30-checks, limited.Load(), "%s: the rest are rate limited", email)
	}
}
