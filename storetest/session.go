package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// testSessions checks CreateSession, Session, UserSessions, RotateSession,
// DeleteSession and DeleteExpiredSessions.
func testSessions(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := newSession(u.ID, now().Add(-time.Hour))
		sess.LastUsedAt = now()
		require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
		got, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, sess, got, "Session")

		bare := newSession(u.ID, now())
		bare.UserAgent, bare.ClientAddr, bare.AuthMethods = "", "", nil
		require.NoError(t, s.CreateSession(ctx, bare), "CreateSession without client details")
		got, err = s.Session(ctx, bare.ID)
		require.NoError(t, err, "Session")
		assertSession(t, bare, got, "Session without client details")
	})

	t.Run("AuthMethods", func(t *testing.T) {
		// Methods come back as given, in order and repeats included; none
		// comes back as none, whether given as nil or empty.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		base := now().Add(-time.Hour)
		var want []authkit.Session
		for i, methods := range [][]string{
			nil, {}, {"pwd"}, {"pwd", "otp"}, {"otp", "pwd"}, {"pwd", "pwd"},
			{"hwk", "user", "pop", "mfa"}, {"sms", "pwd", "face", "mfa", "otp"},
		} {
			sess := newSession(u.ID, base.Add(time.Duration(i)*time.Minute))
			sess.AuthMethods = methods
			require.NoError(t, s.CreateSession(ctx, sess), "CreateSession with AuthMethods %q", methods)
			got, err := s.Session(ctx, sess.ID)
			require.NoError(t, err, "Session")
			assertSession(t, sess, got, fmt.Sprintf("Session with AuthMethods %q", methods))
			want = append(want, sess)
		}
		got, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Equal(t, sessionIDs(want), sessionIDs(got), "UserSessions")
		for i := range want {
			assertSession(t, want[i], got[i], fmt.Sprintf("UserSessions: the session with AuthMethods %q", want[i].AuthMethods))
		}
	})

	t.Run("DuplicateID", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		sess := createSession(t, s, u.ID, now())

		dup := newSession(other.ID, now().Add(time.Minute))
		dup.ID = sess.ID
		assert.ErrorIs(t, s.CreateSession(ctx, dup), authkit.ErrAlreadyExists, "CreateSession with a taken id")
		got, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, sess, got, "Session after the refused duplicate")
		left, err := s.UserSessions(ctx, other.ID)
		require.NoError(t, err, "UserSessions")
		assert.Empty(t, left, "sessions of the user whose duplicate was refused")
	})

	t.Run("SessionNotFound", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		createSession(t, s, u.ID, now())
		_, err := s.Session(ctx, newID())
		assert.ErrorIs(t, err, authkit.ErrNotFound, "Session of an unknown id")
	})

	t.Run("UserSessions", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		base := now().Add(-time.Hour)
		// Each session began another way, so that none can pass for
		// another.
		create := func(userID string, created time.Time, methods ...string) authkit.Session {
			sess := newSession(userID, created)
			sess.AuthMethods = methods
			require.NoError(t, s.CreateSession(ctx, sess), "CreateSession")
			return sess
		}
		// Created out of order: the store sorts by CreatedAt.
		second := create(u.ID, base.Add(2*time.Minute), "pwd")
		create(other.ID, base.Add(time.Minute), "otp")
		first := create(u.ID, base, "pwd", "otp")
		third := create(u.ID, base.Add(3*time.Minute))
		create(other.ID, base.Add(-time.Minute), "pwd", "mfa")

		got, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Equal(t, []string{first.ID, second.ID, third.ID}, sessionIDs(got), "UserSessions: the user's sessions, oldest first")
		for i, want := range []authkit.Session{first, second, third} {
			assertSession(t, want, got[i], "UserSessions")
		}
	})

	t.Run("UserSessionsNone", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		createSession(t, s, other.ID, now())
		for _, id := range []string{u.ID, newID()} {
			got, err := s.UserSessions(ctx, id)
			require.NoError(t, err, "UserSessions of a user without sessions")
			assert.NotNil(t, got, "UserSessions of a user without sessions: want an empty slice, not nil")
			assert.Empty(t, got, "UserSessions of a user without sessions")
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := createSession(t, s, u.ID, now().Add(-time.Hour))
		other := createSession(t, s, u.ID, now().Add(-time.Hour))

		h1, at1 := newHash(), now()
		exp1 := at1.Add(7 * 24 * time.Hour)
		got, err := s.RotateSession(ctx, sess.ID, sess.RefreshHash, h1, at1, exp1)
		require.NoError(t, err, "RotateSession")
		// AuthMethods and AuthTime stay as the session began.
		want := sess
		want.PreviousHash, want.RefreshHash = sess.RefreshHash, h1
		want.RotatedAt, want.LastUsedAt, want.ExpiresAt = at1, at1, exp1
		assertSession(t, want, got, "RotateSession's result")
		got, err = s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after RotateSession")

		// The spent hash cannot rotate again; the current one can.
		_, err = s.RotateSession(ctx, sess.ID, sess.RefreshHash, newHash(), at1.Add(time.Second), exp1.Add(time.Second))
		assert.ErrorIs(t, err, authkit.ErrConflict, "RotateSession from the spent hash")
		h2, at2 := newHash(), at1.Add(time.Minute)
		exp2 := at2.Add(7 * 24 * time.Hour)
		got, err = s.RotateSession(ctx, sess.ID, h1, h2, at2, exp2)
		require.NoError(t, err, "RotateSession from the current hash")
		want.PreviousHash, want.RefreshHash = h1, h2
		want.RotatedAt, want.LastUsedAt, want.ExpiresAt = at2, at2, exp2
		assertSession(t, want, got, "RotateSession's result after the second rotation")
		got, err = s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after the second rotation")

		got, err = s.Session(ctx, other.ID)
		require.NoError(t, err, "Session of another session")
		assertSession(t, other, got, "another session after RotateSession")
	})

	t.Run("RotateWrongHash", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := createSession(t, s, u.ID, now().Add(-time.Hour))
		other := createSession(t, s, u.ID, now().Add(-time.Hour))

		for _, old := range []string{newHash(), other.RefreshHash, ""} {
			_, err := s.RotateSession(ctx, sess.ID, old, newHash(), now(), now().Add(time.Hour))
			assert.ErrorIs(t, err, authkit.ErrConflict, "RotateSession from a hash that is not the session's (%q)", old)
		}
		got, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, sess, got, "Session after the refused rotations")
	})

	t.Run("RotateNotFound", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := createSession(t, s, u.ID, now())
		_, err := s.RotateSession(ctx, newID(), sess.RefreshHash, newHash(), now(), now().Add(time.Hour))
		assert.ErrorIs(t, err, authkit.ErrNotFound, "RotateSession of an unknown id")
	})

	t.Run("DeleteSession", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		sess := createSession(t, s, u.ID, now().Add(-time.Minute))
		mine := createSession(t, s, u.ID, now())
		theirs := createSession(t, s, other.ID, now())

		require.NoError(t, s.DeleteSession(ctx, u.ID, sess.ID), "DeleteSession")
		_, err := s.Session(ctx, sess.ID)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "Session after DeleteSession")
		assert.ErrorIs(t, s.DeleteSession(ctx, u.ID, sess.ID), authkit.ErrNotFound, "DeleteSession of a deleted session")

		for _, id := range []string{mine.ID, theirs.ID} {
			_, err := s.Session(ctx, id)
			assert.NoError(t, err, "Session of a session DeleteSession must keep")
		}
	})

	t.Run("DeleteSessionOfAnotherUser", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u, other := createUser(t, s), createUser(t, s)
		theirs := createSession(t, s, other.ID, now())

		assert.ErrorIs(t, s.DeleteSession(ctx, u.ID, theirs.ID), authkit.ErrNotFound, "DeleteSession of another user's session")
		assert.ErrorIs(t, s.DeleteSession(ctx, newID(), theirs.ID), authkit.ErrNotFound, "DeleteSession with an unknown user")
		got, err := s.Session(ctx, theirs.ID)
		require.NoError(t, err, "Session of the other user's session")
		assertSession(t, theirs, got, "the other user's session after the refused DeleteSession")

		assert.ErrorIs(t, s.DeleteSession(ctx, u.ID, newID()), authkit.ErrNotFound, "DeleteSession of an unknown id")
	})

	t.Run("DeleteExpiredSessions", func(t *testing.T) {
		at := now()
		idleBefore := at.Add(-24 * time.Hour)
		type sessions struct{ expired, atExpiry, fresh, idle, atIdle authkit.Session }
		setup := func(t *testing.T) (authkit.Store, sessions) {
			s := newStore(t)
			u, other := createUser(t, s), createUser(t, s)
			mk := func(userID string, lastUsed, expires time.Time) authkit.Session {
				sess := newSession(userID, at.Add(-72*time.Hour))
				sess.LastUsedAt, sess.ExpiresAt = lastUsed, expires
				require.NoError(t, s.CreateSession(t.Context(), sess), "CreateSession")
				return sess
			}
			return s, sessions{
				expired:  mk(u.ID, at.Add(-time.Minute), at.Add(-time.Microsecond)),
				atExpiry: mk(other.ID, at.Add(-time.Minute), at),
				fresh:    mk(u.ID, at, at.Add(time.Hour)),
				idle:     mk(other.ID, idleBefore.Add(-time.Microsecond), at.Add(time.Hour)),
				atIdle:   mk(u.ID, idleBefore, at.Add(time.Hour)),
			}
		}
		check := func(t *testing.T, s authkit.Store, gone, kept []authkit.Session) {
			t.Helper()
			for _, sess := range gone {
				_, err := s.Session(t.Context(), sess.ID)
				assert.ErrorIs(t, err, authkit.ErrNotFound, "Session of a session DeleteExpiredSessions must delete (expires %v, last used %v)", sess.ExpiresAt, sess.LastUsedAt)
			}
			for _, sess := range kept {
				_, err := s.Session(t.Context(), sess.ID)
				assert.NoError(t, err, "Session of a session DeleteExpiredSessions must keep (expires %v, last used %v)", sess.ExpiresAt, sess.LastUsedAt)
			}
		}

		t.Run("WithoutIdle", func(t *testing.T) {
			s, x := setup(t)
			n, err := s.DeleteExpiredSessions(t.Context(), at, time.Time{})
			require.NoError(t, err, "DeleteExpiredSessions")
			assert.Equal(t, int64(1), n, "DeleteExpiredSessions' count")
			check(t, s, []authkit.Session{x.expired}, []authkit.Session{x.atExpiry, x.fresh, x.idle, x.atIdle})

			n, err = s.DeleteExpiredSessions(t.Context(), at, time.Time{})
			require.NoError(t, err, "DeleteExpiredSessions again")
			assert.Zero(t, n, "DeleteExpiredSessions' count when nothing expired")
		})

		t.Run("WithIdle", func(t *testing.T) {
			s, x := setup(t)
			n, err := s.DeleteExpiredSessions(t.Context(), at, idleBefore)
			require.NoError(t, err, "DeleteExpiredSessions")
			assert.Equal(t, int64(2), n, "DeleteExpiredSessions' count")
			check(t, s, []authkit.Session{x.expired, x.idle}, []authkit.Session{x.atExpiry, x.fresh, x.atIdle})

			n, err = s.DeleteExpiredSessions(t.Context(), at, idleBefore)
			require.NoError(t, err, "DeleteExpiredSessions again")
			assert.Zero(t, n, "DeleteExpiredSessions' count when nothing expired")
		})

		t.Run("ExpiredAndIdle", func(t *testing.T) {
			// A session both expired and idle is deleted, and counted, once.
			s := newStore(t)
			u := createUser(t, s)
			sess := newSession(u.ID, at.Add(-72*time.Hour))
			sess.LastUsedAt, sess.ExpiresAt = idleBefore.Add(-time.Hour), at.Add(-time.Hour)
			require.NoError(t, s.CreateSession(t.Context(), sess), "CreateSession")
			n, err := s.DeleteExpiredSessions(t.Context(), at, idleBefore)
			require.NoError(t, err, "DeleteExpiredSessions")
			assert.Equal(t, int64(1), n, "DeleteExpiredSessions' count")
			check(t, s, []authkit.Session{sess}, nil)
		})
	})
}
