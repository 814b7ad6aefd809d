package authkit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestAuthenticateAloneSeesEveryCutOff is the check a host that is not
// HTTP (a gRPC interceptor, a WebSocket upgrade) makes with Authenticate
// alone: every way of cutting a token off must show in it.
func TestAuthenticateAloneSeesEveryCutOff(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "grpc@example.com", pw)

	u, claims, err := k.Authenticate(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, tok.User.ID, u.ID)
	assert.Equal(t, tok.SessionID, claims.SessionID)

	_, _, err = k.Authenticate(t.Context(), tok.AccessToken+"x")
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a forged signature")

	// Logout everywhere.
	require.NoError(t, k.LogoutAll(t.Context(), u.ID, authkit.Client{}))
	_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err, "the signature alone is still good")
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "logout everywhere")

	// A disabled account.
	again, err := k.Login(t.Context(), "grpc@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	require.NoError(t, k.SetActive(t.Context(), u.ID, false, authkit.Client{}))
	_, _, err = k.Authenticate(t.Context(), again.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled, "disabled")

	// A user this store does not have (a token of another deployment
	// sharing the secret, say).
	other := newKit(t, nil)
	foreign, _ := other.register(t, "elsewhere@example.com", pw)
	_, _, err = k.Authenticate(t.Context(), foreign.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a token whose user this store does not have")
}

func TestAuthenticateChecksTheSessionWhenConfigured(t *testing.T) {
	for _, check := range []bool{false, true} {
		k := newKit(t, func(c *authkit.Config) { c.CheckSession = check })
		one, _ := k.register(t, "s@example.com", pw)
		two, err := k.Login(t.Context(), "s@example.com", pw, authkit.Client{})
		require.NoError(t, err)
		require.NoError(t, k.Logout(t.Context(), one.RefreshToken, authkit.Client{}))

		_, _, err = k.Authenticate(t.Context(), one.AccessToken)
		if check {
			assert.ErrorIs(t, err, authkit.ErrInvalidToken, "CheckSession: the logged-out session's token is cut off at once")
		} else {
			assert.NoError(t, err, "without CheckSession the token lives until it expires")
		}
		_, _, err = k.Authenticate(t.Context(), two.AccessToken)
		assert.NoError(t, err, "CheckSession=%v: the other session's token still works", check)

		k.clock.Advance(authkit.DefaultRefreshTokenTTL)
		_, _, err = k.Authenticate(t.Context(), two.AccessToken)
		assert.Error(t, err, "CheckSession=%v: expired", check)
	}
}

// readCounter counts the Store reads that Authenticate makes.
type readCounter struct {
	authkit.Store
	users, sessions atomic.Int64
}

func (c *readCounter) UserByID(ctx context.Context, id string) (authkit.User, error) {
	c.users.Add(1)
	return c.Store.UserByID(ctx, id)
}

func (c *readCounter) Session(ctx context.Context, id string) (authkit.Session, error) {
	c.sessions.Add(1)
	return c.Store.Session(ctx, id)
}

func TestAuthenticateReadsTheStoreOnceOrTwiceWithSessions(t *testing.T) {
	for _, check := range []bool{false, true} {
		var counter *readCounter
		k := newKit(t, func(c *authkit.Config) {
			counter = &readCounter{Store: c.Store}
			c.Store = counter
			c.CheckSession = check
		})
		tok, _ := k.register(t, "count@example.com", pw)
		counter.users.Store(0)
		counter.sessions.Store(0)
		_, _, err := k.Authenticate(t.Context(), tok.AccessToken)
		require.NoError(t, err)
		assert.EqualValues(t, 1, counter.users.Load(), "CheckSession=%v: one user read", check)
		want := int64(0)
		if check {
			want = 1
		}
		assert.Equal(t, want, counter.sessions.Load(), "CheckSession=%v: session reads", check)
	}
}
