package authkit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// rehashHold is a Store that, once armed, holds at its gate every write of
// a new password hash that raises no token version: a rehash on login (a
// reset or a change of password raises it).
type rehashHold struct {
	authkit.Store
	armed atomic.Bool
	gate  *testkit.Gate
}

func (s *rehashHold) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	if s.armed.Load() && upd.PasswordHash != nil && !upd.BumpTokenVersion {
		// The test's Open ends the hold (or testkit.Timeout, should the
		// test fail first), and the write then goes on as it would have:
		// no deadline of the caller's may cut the race short and hide its
		// outcome.
		ctx = context.WithoutCancel(ctx)
		held, cancel := context.WithTimeout(ctx, testkit.Timeout)
		defer cancel()
		if err := s.gate.Wait(held); err != nil {
			return authkit.User{}, err
		}
	}
	return s.Store.UpdateUser(ctx, id, upd)
}

// TestARehashRacingAResetNeverRestoresTheOldPassword: a login with a hash
// of an outdated cost rehashes the password it was given and writes the
// new hash. If a password reset lands between that login's check and its
// write, the write must not happen: it would put the old password back.
// The Store holds the rehash's write until the reset has completed.
func TestARehashRacingAResetNeverRestoresTheOldPassword(t *testing.T) {
	hold := &rehashHold{gate: testkit.NewGate()}
	k := newKit(t, func(c *authkit.Config) {
		c.BcryptCost = 5
		hold.Store = c.Store
		c.Store = hold
	})
	t.Cleanup(hold.gate.Open)
	const email, newPassword = "race@example.com", "brand-new-pass"
	tok, _ := k.register(t, email, pw)
	outdated, err := authkit.BcryptHasher{Cost: 4}.Hash(pw)
	require.NoError(t, err)
	_, err = k.store.UpdateUser(t.Context(), tok.User.ID, authkit.UserUpdate{PasswordHash: &outdated, UpdatedAt: k.clock.Now()})
	require.NoError(t, err, "store a hash of an outdated cost")

	hold.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := k.Login(context.Background(), email, pw, authkit.Client{})
		done <- err
	}()
	hold.gate.Entered(t) // the login has rehashed pw and waits to write it

	require.NoError(t, k.ForgotPassword(t.Context(), email, authkit.Client{}))
	reset := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	require.NoError(t, k.ResetPassword(t.Context(), reset, newPassword, authkit.Client{}), "the reset, while the rehash is held")
	hold.gate.Open()
	require.NoError(t, testkit.Receive(t, done, "the login whose rehash was held"), "the login itself succeeded")
	hold.armed.Store(false)

	// Login returns only once its rehash was written or refused.
	_, err = k.Login(t.Context(), email, newPassword, authkit.Client{})
	assert.NoError(t, err, "the new password works")
	_, err = k.Login(t.Context(), email, pw, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the old password does not: the rehash wrote nothing back")
}
