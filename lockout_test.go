package authkit_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// The account's failure budgets against an attacker who knows the address
// and guesses from many networks: the owner is never locked out, and the
// attacker never gets more than the ceiling.

// clockedHasher records the time, on the kit's clock, of every password
// check.
type clockedHasher struct {
	authkit.BcryptHasher
	clock *testkit.Clock
	mu    sync.Mutex
	at    []time.Time
}

func (h *clockedHasher) Verify(hash, password string) (bool, error) {
	h.mu.Lock()
	h.at = append(h.at, h.clock.Now())
	h.mu.Unlock()
	return h.BcryptHasher.Verify(hash, password)
}

// checks returns the times of the password checks so far.
func (h *clockedHasher) checks() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.at)
}

// newClockedKit is newKit with a clockedHasher of cost 4.
func newClockedKit(t testing.TB, change func(*authkit.Config)) (*kit, *clockedHasher) {
	t.Helper()
	h := &clockedHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		if change != nil {
			change(c)
		}
	})
	h.clock = k.clock
	return k, h
}

// attackerNet returns the i-th of the attacker's client addresses, each in
// a network of its own: IPv4 addresses and IPv6 /64s by turns.
func attackerNet(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("100.64.%d.%d", i/2/250%250, i/2%250+1)
	}
	return fmt.Sprintf("2001:db8:%x:%x::%x", i/2/0xffff%0xffff, i/2%0xffff, i+1)
}

// device returns the device credential NewDeviceToken gives for t.
func device(t testing.TB, k *kit, tok authkit.Tokens) string {
	t.Helper()
	d, err := k.NewDeviceToken(tok)
	require.NoError(t, err, "NewDeviceToken")
	require.NotEmpty(t, d.Token)
	return d.Token
}

// guessFrom makes a wrong guess at email's password and reports whether
// the password was checked (false: a budget refused it first). Any other
// outcome fails the test.
func guessFrom(t testing.TB, k *kit, email string, c authkit.Client) bool {
	t.Helper()
	_, err := k.Login(t.Context(), email, "wrong-guess-1", c)
	if errors.Is(err, authkit.ErrRateLimited) {
		return false
	}
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "a guess from %q", c.Addr)
	return true
}

// lastLimit returns the name of the limit that refused last.
func lastLimit(t testing.TB, k *kit) string {
	t.Helper()
	ev, ok := k.events.last(authkit.EventRateLimited)
	require.True(t, ok, "a refusal was reported")
	return ev.Reason
}

// TestAWeekOfGuessingNeverLocksOutTheOwner is issue 11's attack: for seven
// days an attacker who knows the address guesses every two minutes, each
// time from another network (and half the time with a made-up device
// credential), which keeps both of the account's budgets spent. The
// owner's known device signs in every six hours all week, from home, from
// one of the attacker's own networks and with no address at all; the
// owner without it is throttled, so the ceiling holds; and right after a
// completed reset the new password works from a new network with no
// device.
func TestAWeekOfGuessingNeverLocksOutTheOwner(t *testing.T) {
	const owner = "owner@example.com"
	k, _ := newClockedKit(t, nil)
	tok, _ := k.register(t, owner, pw)
	dev := device(t, k, tok)
	home := authkit.Client{Addr: "192.0.2.10", UserAgent: "owner's browser"}

	const step = 2 * time.Minute
	const week = 7 * 24 * time.Hour
	start := k.clock.Now()
	checked, ownerLogins, ownerRefused := 0, 0, 0
	for i := 0; k.clock.Now().Sub(start) < week; i++ {
		c := authkit.Client{Addr: attackerNet(i)}
		if i%2 == 1 {
			c.Device = "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		if guessFrom(t, k, owner, c) {
			checked++
		}
		if i%180 == 90 { // every six hours, starting three hours in
			_, err := k.Login(t.Context(), owner, pw, home)
			throttled(t, err)
			assert.Equal(t, "login_failures_sustained", lastLimit(t, k), "at %s: the ceiling refuses the owner without a device", k.clock.Now().Sub(start))
			ownerRefused++

			from := []authkit.Client{home, {Addr: attackerNet(i)}, {}}[ownerLogins%3]
			from.Device = dev
			got, err := k.Login(t.Context(), owner, pw, from)
			require.NoError(t, err, "at %s from %q: the owner's known device signs in", k.clock.Now().Sub(start), from.Addr)
			dev = device(t, k, got) // the next login shows the newest
			ownerLogins++
		}
		k.clock.Advance(step)
	}
	assert.Equal(t, 28, ownerLogins, "four logins a day for a week, every one let in")
	assert.Equal(t, 28, ownerRefused)
	// GCRA lets through at most Burst + T/Every: 20 + 7d/18min = 580.
	assert.LessOrEqual(t, checked, 580, "the ceiling bounds the attacker over the week")
	assert.Greater(t, checked, 550, "the attacker did keep the ceiling spent")

	// The owner resets the password from home: the mail proves them.
	guessFrom(t, k, owner, authkit.Client{Addr: "198.18.0.1"}) // takes what refilled, if anything
	require.False(t, guessFrom(t, k, owner, authkit.Client{Addr: "198.18.0.2"}), "the ceiling is spent before the reset")
	require.NoError(t, k.ForgotPassword(t.Context(), owner, home))
	link := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	require.NoError(t, k.ResetPassword(t.Context(), link, "brand-new-pass", home))
	_, err := k.Login(t.Context(), owner, "brand-new-pass", authkit.Client{Addr: "203.0.113.200"})
	require.NoError(t, err, "right after the reset, the new password works from a new network without a device")
}

// TestNoMoreThan100ChecksInAny24Hours guesses once a minute for three
// days, each guess from another of a thousand networks, and counts the
// password checks in every 24-hour window: never more than 100 (NIST SP
// 800-63B §5.2.2), however many networks share the work.
func TestNoMoreThan100ChecksInAny24Hours(t *testing.T) {
	k, h := newClockedKit(t, nil)
	k.register(t, "target@example.com", pw)
	for i := range 3 * 24 * 60 {
		guessFrom(t, k, "target@example.com", authkit.Client{Addr: attackerNet(i % 1000)})
		k.clock.Advance(time.Minute)
	}
	at := h.checks()
	most := 0
	for i, from := range at {
		n := 0
		for _, when := range at[i:] {
			if when.Sub(from) <= 24*time.Hour {
				n++
			}
		}
		most = max(most, n)
	}
	assert.LessOrEqual(t, most, 100, "password checks in one 24-hour window")
	assert.GreaterOrEqual(t, most, 95, "the attack did reach the ceiling")
	assert.Equal(t, "login_failures_sustained", lastLimit(t, k), "the ceiling is what refuses")
}

// TestConcurrentGuessesFromManyNetworksStopAtTheCeiling sends 200 guesses
// at once, each from a network of its own, so that no strict budget
// refuses any: exactly the ceiling's burst reaches the password check.
func TestConcurrentGuessesFromManyNetworksStopAtTheCeiling(t *testing.T) {
	k, h := newClockedKit(t, func(c *authkit.Config) {
		c.MaxConcurrentHashes = 8
		c.Limits.LoginFailuresSustained = authkit.Limit{Burst: 20, Every: time.Hour}
	})
	k.register(t, "target@example.com", pw)
	var wg sync.WaitGroup
	var invalid, limited atomic.Int32
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			_, err := k.Login(t.Context(), "target@example.com", "wrong-guess-1", authkit.Client{Addr: attackerNet(i)})
			switch {
			case errors.Is(err, authkit.ErrInvalidCredentials):
				invalid.Add(1)
			case errors.Is(err, authkit.ErrRateLimited):
				limited.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	close(start)
	testkit.Finish(t, "200 concurrent guesses", wg.Wait)
	assert.Len(t, h.checks(), 20, "exactly the ceiling's burst is checked")
	assert.EqualValues(t, 20, invalid.Load())
	assert.EqualValues(t, 180, limited.Load())
}

// TestEachNetworkHasItsOwnStrictBudget spends the strict budget from one
// network (two addresses of it) and shows that another network, and a
// caller with no address, keep theirs, until the ceiling over all of them
// is reached.
func TestEachNetworkHasItsOwnStrictBudget(t *testing.T) {
	k, h := newClockedKit(t, nil) // defaults: 5 at once per network, 20 in all
	k.register(t, "owner@example.com", pw)
	netA := []authkit.Client{{Addr: "203.0.113.5"}, {Addr: "203.0.113.5:4444"}}
	netB := []authkit.Client{{Addr: "2001:db8:1:2::1"}, {Addr: "[2001:db8:1:2:ffff::9]:443"}}

	for i := range 5 {
		require.True(t, guessFrom(t, k, "owner@example.com", netA[i%2]), "guess %d from network A", i+1)
	}
	assert.False(t, guessFrom(t, k, "owner@example.com", netA[1]), "network A's budget is spent")
	assert.Equal(t, "login_failures", lastLimit(t, k))
	_, err := k.Login(t.Context(), "owner@example.com", pw, netA[0])
	throttled(t, err) // the right password too, from network A

	_, err = k.Login(t.Context(), "owner@example.com", pw, netB[0])
	require.NoError(t, err, "network B is not held back by network A's guesses")
	for i := range 5 {
		require.True(t, guessFrom(t, k, "owner@example.com", netB[i%2]), "guess %d from network B", i+1)
	}
	assert.False(t, guessFrom(t, k, "owner@example.com", netB[0]), "network B's budget is spent")
	for i := range 5 {
		require.True(t, guessFrom(t, k, "owner@example.com", authkit.Client{}), "guess %d with no address: a budget of its own", i+1)
	}
	// 5 + 1 + 5 + 5 = 16 checks so far; the ceiling is 20, whatever the
	// network.
	for i := range 4 {
		require.True(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(i)}), "guess %d from a fresh network", i+1)
	}
	assert.False(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(99)}), "a fresh network, but the ceiling is reached")
	assert.Equal(t, "login_failures_sustained", lastLimit(t, k))
	assert.Len(t, h.checks(), 20)
}

// TestARightPasswordDoesNotRestoreTheCeiling: an owner who signs in
// between an attacker's guesses must not hand the attacker a fresh
// ceiling (which would give a full burst after every login of the
// owner's); only the strict budget of the owner's network is restored.
func TestARightPasswordDoesNotRestoreTheCeiling(t *testing.T) {
	k, h := newClockedKit(t, func(c *authkit.Config) {
		c.Limits.LoginFailuresSustained = authkit.Limit{Burst: 5, Every: time.Hour}
	})
	k.register(t, "owner@example.com", pw)
	home := authkit.Client{Addr: "192.0.2.10"}
	for i := range 3 {
		require.True(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(i)}))
	}
	require.True(t, guessFrom(t, k, "owner@example.com", home), "the owner mistypes once")
	tok, err := k.Login(t.Context(), "owner@example.com", pw, home)
	require.NoError(t, err, "the fifth check, the owner's")
	assert.False(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(3)}), "the owner's login gave the attacker nothing back")
	assert.Equal(t, "login_failures_sustained", lastLimit(t, k))
	assert.Len(t, h.checks(), 5)

	_, err = k.Login(t.Context(), "owner@example.com", pw, authkit.Client{Addr: home.Addr, Device: device(t, k, tok)})
	require.NoError(t, err, "the owner's device is not held back")
}
