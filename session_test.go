package authkit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestLoginCreatesASession(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "s@example.com", pw)
	c := authkit.Client{Addr: "203.0.113.9", UserAgent: "Firefox"}
	tok, err := k.Login(t.Context(), "s@example.com", pw, c)
	require.NoError(t, err)

	s, err := k.store.Session(t.Context(), tok.SessionID)
	require.NoError(t, err)
	assert.Equal(t, tok.User.ID, s.UserID)
	assert.Equal(t, "203.0.113.9", s.ClientAddr)
	assert.Equal(t, "Firefox", s.UserAgent)
	assert.Equal(t, k.clock.Now(), s.CreatedAt)
	assert.Equal(t, k.clock.Now().Add(30*24*time.Hour), s.ExpiresAt, "refresh tokens live 30 days by default")
	assert.NotContains(t, s.RefreshHash, strings.SplitN(tok.RefreshToken, ".", 2)[1], "only a hash is stored")
	assert.Len(t, s.RefreshHash, 64)
	assert.GreaterOrEqual(t, len(tok.RefreshToken), 43+1+36, "session id and 256 random bits")
}

func TestRefreshRotates(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "r@example.com", pw)
	k.clock.Advance(time.Minute)
	next, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, tok.SessionID, next.SessionID, "same session")
	assert.NotEqual(t, tok.RefreshToken, next.RefreshToken)
	assert.NotEqual(t, tok.AccessToken, next.AccessToken)

	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the spent token is refused")
	_, err = k.Refresh(t.Context(), next.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "within the grace period a late duplicate does not end the session")

	for _, bad := range []string{"", "garbage", tok.SessionID + ".forged", ".x", strings.Repeat("a", 300)} {
		_, err = k.Refresh(t.Context(), bad, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "Refresh(%q)", bad)
	}
}

func TestRefreshReuseAfterGraceEndsTheSession(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "thief@example.com", pw)
	owner, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Second)

	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{Addr: "198.51.100.66"})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.store.Session(t.Context(), tok.SessionID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "the store no longer holds the session")
	_, err = k.Refresh(t.Context(), owner.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the owner's token dies with it")
	ev, ok := k.events.last(authkit.EventTokenReuse)
	require.True(t, ok, "reuse is reported")
	assert.Equal(t, tok.User.ID, ev.UserID)
	assert.Equal(t, tok.SessionID, ev.SessionID)
}

func TestParallelRefreshesYieldOnePair(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "p@example.com", pw)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []authkit.Tokens
	for range 50 {
		wg.Go(func() {
			next, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
			if err == nil {
				mu.Lock()
				won = append(won, next)
				mu.Unlock()
			} else if !errors.Is(err, authkit.ErrInvalidToken) {
				t.Errorf("Refresh: %v", err)
			}
		})
	}
	testkit.Finish(t, "50 concurrent refreshes", wg.Wait)
	require.Len(t, won, 1, "exactly one refresh wins")
	_, err := k.Refresh(t.Context(), won[0].RefreshToken, authkit.Client{})
	assert.NoError(t, err, "the winner's token works")
}

func TestSessionLifetimes(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) {
		c.RefreshTokenTTL = 24 * time.Hour
		c.SessionMaxAge = 60 * time.Hour
		c.SessionIdleTimeout = 12 * time.Hour
	})
	tok, _ := k.register(t, "l@example.com", pw)

	k.clock.Advance(11 * time.Hour)
	tok, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Hour)
	tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Hour)
	tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Hour)
	tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(11 * time.Hour) // 55 h
	tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Hour, tok.RefreshExpiresAt.Sub(k.clock.Now()), "capped by the session's max age")
	k.clock.Advance(5*time.Hour + time.Second)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrTokenExpired, "past the absolute cap")

	idle, _ := k.register(t, "idle@example.com", pw)
	k.clock.Advance(12*time.Hour + time.Second)
	_, err = k.Refresh(t.Context(), idle.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrTokenExpired, "idle too long")
}

func TestCleanupDeletesExpiredRecords(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "c@example.com", pw)
	_, err := k.Login(t.Context(), "c@example.com", "wrong password", authkit.Client{Addr: "192.0.2.7"})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials)
	n, err := k.Cleanup(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing has expired yet")

	k.clock.Advance(31 * 24 * time.Hour)
	n, err = k.Cleanup(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 6, n, "the verification token, the session, and the counters of registration and login by the address and of the account's two failure budgets")
	_, err = k.store.Session(t.Context(), tok.SessionID)
	assert.ErrorIs(t, err, authkit.ErrNotFound)
}

func TestLogoutIsIdempotentAndLeaksNothing(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "o@example.com", pw)
	other, err := k.Login(t.Context(), "o@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	assert.NoError(t, k.Logout(t.Context(), tok.SessionID+".not-the-secret", authkit.Client{}))
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err, "a wrong secret ends nothing")
	tok, _ = k.Login(t.Context(), "o@example.com", pw, authkit.Client{})

	require.NoError(t, k.Logout(t.Context(), tok.RefreshToken, authkit.Client{}))
	require.NoError(t, k.Logout(t.Context(), tok.RefreshToken, authkit.Client{}), "again")
	require.NoError(t, k.Logout(t.Context(), "garbage", authkit.Client{}))
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.Refresh(t.Context(), other.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "other sessions live on")
}

func TestSessionsAreTheirOwners(t *testing.T) {
	k := newKit(t, nil)
	alice, _ := k.register(t, "alice@example.com", pw)
	bob, _ := k.register(t, "bob@example.com", pw)
	_, err := k.Login(t.Context(), "alice@example.com", pw, authkit.Client{UserAgent: "phone"})
	require.NoError(t, err)

	list, err := k.Sessions(t.Context(), alice.User.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, s := range list {
		assert.Equal(t, alice.User.ID, s.UserID)
	}
	err = k.EndSession(t.Context(), bob.User.ID, alice.SessionID, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrNotFound, "bob cannot end alice's session")
	_, err = k.Refresh(t.Context(), alice.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	require.NoError(t, k.EndSession(t.Context(), alice.User.ID, alice.SessionID, authkit.Client{}))
	live, err := k.Sessions(t.Context(), alice.User.ID)
	require.NoError(t, err)
	for _, s := range live {
		assert.NotEqual(t, alice.SessionID, s.ID, "the ended session is not live")
	}
}

func TestLogoutAllCutsEverything(t *testing.T) {
	k := newKit(t, nil)
	a, _ := k.register(t, "all@example.com", pw)
	b, err := k.Login(t.Context(), "all@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	require.NoError(t, k.LogoutAll(t.Context(), a.User.ID, authkit.Client{}))
	for _, tok := range []authkit.Tokens{a, b} {
		_, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
		require.NoError(t, err)
		_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
		assert.ErrorIs(t, err, authkit.ErrInvalidToken)
		_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	}
}

func TestReplayOfATokenSpentRotationsAgoEndsTheSession(t *testing.T) {
	k := newKit(t, nil)
	first, _ := k.register(t, "old@example.com", pw)
	tok := first
	for range 3 {
		k.clock.Advance(time.Minute)
		var err error
		tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
		require.NoError(t, err)
	}
	k.clock.Advance(time.Minute)

	// Someone who knows only the session id cannot end it.
	_, err := k.Refresh(t.Context(), first.SessionID+".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.store.Session(t.Context(), first.SessionID)
	require.NoError(t, err, "a wrong secret ends nothing")

	_, err = k.Refresh(t.Context(), first.RefreshToken, authkit.Client{Addr: "198.51.100.66"})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the token spent three rotations ago")
	_, err = k.store.Session(t.Context(), first.SessionID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "the store no longer holds the session")
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the owner's latest token dies with it")
	ev, ok := k.events.last(authkit.EventTokenReuse)
	require.True(t, ok, "reuse is reported")
	assert.Equal(t, first.User.ID, ev.UserID)
	assert.Equal(t, first.SessionID, ev.SessionID)
	assert.Equal(t, "198.51.100.66", ev.ClientAddr)
}

func TestSpentTokensAreRecordedBoundToTheirSession(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "rec@example.com", pw)
	next, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)

	sum := sha256.Sum256([]byte(tok.RefreshToken))
	rec, err := k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	require.NoError(t, err, "the spent token is recorded by the SHA-256 of the whole token")
	assert.Equal(t, authkit.TokenPurpose("refresh_spent"), rec.Purpose)
	assert.Equal(t, tok.User.ID, rec.UserID)
	assert.Equal(t, next.RefreshExpiresAt, rec.ExpiresAt, "it lives as long as the session")
	secret := strings.SplitN(tok.RefreshToken, ".", 2)[1]
	sum = sha256.Sum256([]byte(secret))
	_, err = k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	assert.ErrorIs(t, err, authkit.ErrNotFound, "not the secret alone, which names no session")

	// The record is good for nothing else.
	_, err = k.VerifyEmail(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	assert.ErrorIs(t, k.ResetPassword(t.Context(), tok.RefreshToken, "another-pass-1", authkit.Client{}), authkit.ErrInvalidToken)
}

func TestOlderSpentTokenWithinTheGraceOnlyIsRefused(t *testing.T) {
	k := newKit(t, nil)
	first, _ := k.register(t, "tabs@example.com", pw)
	second, err := k.Refresh(t.Context(), first.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	third, err := k.Refresh(t.Context(), second.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(5 * time.Second)
	_, err = k.Refresh(t.Context(), first.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.Refresh(t.Context(), third.RefreshToken, authkit.Client{})
	assert.NoError(t, err, "within the grace a late tab does not end the session")
}

func TestCleanupDeletesSpentRefreshRecords(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.Limits.TokenAddr = authkit.Limit{Off: true} })
	tok, _ := k.register(t, "sp@example.com", pw)
	first := tok
	for range 2 {
		var err error
		tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
		require.NoError(t, err)
	}
	n, err := k.Cleanup(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing has expired yet")
	sum := sha256.Sum256([]byte(first.RefreshToken))
	_, err = k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	require.NoError(t, err)

	k.clock.Advance(31 * 24 * time.Hour)
	n, err = k.Cleanup(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 5, n, "the verification token, the two spent refresh tokens, the session and the registration counter of the address")
	_, err = k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	assert.ErrorIs(t, err, authkit.ErrNotFound)
}

func TestRefreshReuseGraceIsConfigurable(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.RefreshReuseGrace = 5 * time.Second })
	tok, _ := k.register(t, "grace@example.com", pw)
	owner, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)

	k.clock.Advance(4 * time.Second)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "within the grace the spent token is refused")
	_, err = k.store.Session(t.Context(), tok.SessionID)
	require.NoError(t, err, "but the session lives")

	k.clock.Advance(2 * time.Second)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.store.Session(t.Context(), tok.SessionID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "past the grace the replay ends the session")
	_, err = k.Refresh(t.Context(), owner.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
}

func TestSessionsLiveAtMostNinetyDaysByDefault(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "long@example.com", pw)
	for range 4 { // refreshed every 20 days: day 80
		k.clock.Advance(20 * 24 * time.Hour)
		var err error
		tok, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
		require.NoError(t, err)
	}
	assert.Equal(t, 10*24*time.Hour, tok.RefreshExpiresAt.Sub(k.clock.Now()), "capped at 90 days after login")
	k.clock.Advance(10*24*time.Hour + time.Second)
	_, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrTokenExpired)
}

func TestCleanupDeletesIdleSessions(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.SessionIdleTimeout = time.Hour })
	idle, _ := k.register(t, "idle-cleanup@example.com", pw)
	busy, err := k.Login(t.Context(), "idle-cleanup@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(50 * time.Minute)
	_, err = k.Refresh(t.Context(), busy.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(20 * time.Minute)

	_, err = k.Cleanup(t.Context())
	require.NoError(t, err)
	_, err = k.store.Session(t.Context(), idle.SessionID)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "idle for 70 minutes")
	_, err = k.store.Session(t.Context(), busy.SessionID)
	assert.NoError(t, err, "used 20 minutes ago")
}

func TestRefreshRefusesADisabledAccountWhoseSessionRemains(t *testing.T) {
	// SetActive ends the sessions; an account disabled by other means (a
	// direct write to the Store) is still refused at refresh.
	k := newKit(t, nil)
	tok, _ := k.register(t, "off@example.com", pw)
	off := false
	_, err := k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{Active: &off, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled)
}
