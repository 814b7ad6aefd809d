package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/authkit/authkit"
)

// testContext checks that every method fails when its context is already
// cancelled. Which error it returns is up to the store.
func testContext(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	s := newStore(t)
	u := createUser(t, s)
	tok := createToken(t, s, u.ID, authkit.PurposeVerifyEmail, now())
	sess := createSession(t, s, u.ID, now())
	at := now()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	calls := []struct {
		name string
		call func() error
	}{
		{"CreateUser", func() error { return s.CreateUser(ctx, newUser()) }},
		{"UserByID", func() error { _, err := s.UserByID(ctx, u.ID); return err }},
		{"UserByEmail", func() error { _, err := s.UserByEmail(ctx, u.Email); return err }},
		{"UpdateUser", func() error {
			_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: at})
			return err
		}},
		{"CreateToken", func() error { return s.CreateToken(ctx, newToken(u.ID, authkit.PurposeVerifyEmail, at)) }},
		{"ConsumeToken", func() error {
			_, err := s.ConsumeToken(ctx, tok.Hash, authkit.PurposeVerifyEmail, at)
			return err
		}},
		{"Token", func() error { _, err := s.Token(ctx, tok.Hash); return err }},
		{"DeleteUserTokens", func() error { return s.DeleteUserTokens(ctx, u.ID, authkit.PurposeVerifyEmail) }},
		{"DeleteExpiredTokens", func() error { _, err := s.DeleteExpiredTokens(ctx, at.Add(time.Hour)); return err }},
		{"CreateSession", func() error { return s.CreateSession(ctx, newSession(u.ID, at)) }},
		{"Session", func() error { _, err := s.Session(ctx, sess.ID); return err }},
		{"UserSessions", func() error { _, err := s.UserSessions(ctx, u.ID); return err }},
		{"RotateSession", func() error {
			_, err := s.RotateSession(ctx, sess.ID, sess.RefreshHash, newHash(), at, at.Add(time.Hour))
			return err
		}},
		{"DeleteSession", func() error { return s.DeleteSession(ctx, u.ID, sess.ID) }},
		{"DeleteExpiredSessions", func() error { _, err := s.DeleteExpiredSessions(ctx, at.Add(time.Hour), at); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			assert.Error(t, c.call(), "%s with a cancelled context", c.name)
		})
	}
}
