package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// racers is how many goroutines each concurrency test runs at once.
const racers = 50

// race runs f(0) … f(n-1) in n goroutines released together and returns
// their errors by index.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one of errs is nil and every other one is
// loser, and returns the index of the winner (or -1).
func oneWinner(t testing.TB, errs []error, loser error, call string) int {
	t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case !errors.Is(err, loser):
			t.Errorf("%s in goroutine %d: got error %v, want %v", call, i, err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d concurrent calls succeeded, want exactly 1", call, wins, len(errs))
		return -1
	}
	return winner
}

// mixCase returns email with the case of its letters chosen by the bits of
// i, so that the variants of one address differ from each other.
func mixCase(email string, i int) string {
	var b strings.Builder
	bit := 0
	for _, r := range email {
		if unicode.IsLetter(r) {
			if i>>(bit%8)&1 == 1 {
				r = unicode.ToUpper(r)
			}
			bit++
		}
		b.WriteRune(r)
	}
	return b.String()
}

// testConcurrency checks the atomicity promises of the Store under real
// concurrency.
func testConcurrency(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("CreateUserSameEmail", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		email := newEmail()
		users := make([]authkit.User, racers)
		for i := range users {
			users[i] = newUser()
			users[i].Email = mixCase(email, i)
		}
		errs := race(racers, func(i int) error { return s.CreateUser(ctx, users[i]) })
		winner := oneWinner(t, errs, authkit.ErrAlreadyExists, "CreateUser of one email")
		if winner < 0 {
			return
		}
		got, err := s.UserByEmail(ctx, email)
		require.NoError(t, err, "UserByEmail")
		assertUser(t, users[winner], got, "UserByEmail after the race")
		for i, u := range users {
			if i == winner {
				continue
			}
			_, err := s.UserByID(ctx, u.ID)
			assert.ErrorIs(t, err, authkit.ErrNotFound, "UserByID of a user whose creation lost")
		}
	})

	t.Run("ConsumeToken", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		tok := createToken(t, s, u.ID, authkit.PurposeResetPassword, now().Add(-time.Minute))
		base := now()
		results := make([]authkit.OneTimeToken, racers)
		errs := race(racers, func(i int) error {
			var err error
			results[i], err = s.ConsumeToken(ctx, tok.Hash, authkit.PurposeResetPassword, base.Add(time.Duration(i)*time.Microsecond))
			return err
		})
		winner := oneWinner(t, errs, authkit.ErrNotFound, "ConsumeToken of one token")
		if winner < 0 {
			return
		}
		usedAt := base.Add(time.Duration(winner) * time.Microsecond)
		assertTime(t, usedAt, results[winner].UsedAt, "UsedAt returned to the winner")
		got, err := s.Token(ctx, tok.Hash)
		require.NoError(t, err, "Token")
		assertTime(t, usedAt, got.UsedAt, "UsedAt after the race")
	})

	t.Run("RotateSession", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		sess := createSession(t, s, u.ID, now().Add(-time.Hour))
		at := now()
		hashes := make([]string, racers)
		for i := range hashes {
			hashes[i] = newHash()
		}
		results := make([]authkit.Session, racers)
		errs := race(racers, func(i int) error {
			var err error
			results[i], err = s.RotateSession(ctx, sess.ID, sess.RefreshHash, hashes[i], at, at.Add(time.Hour))
			return err
		})
		winner := oneWinner(t, errs, authkit.ErrConflict, "RotateSession from one hash")
		if winner < 0 {
			return
		}
		// The winner's rotation, and nothing of the losers'; AuthMethods
		// and AuthTime stay as the session began.
		want := sess
		want.PreviousHash, want.RefreshHash = sess.RefreshHash, hashes[winner]
		want.RotatedAt, want.LastUsedAt, want.ExpiresAt = at, at, at.Add(time.Hour)
		assertSession(t, want, results[winner], "RotateSession's result to the winner")
		got, err := s.Session(ctx, sess.ID)
		require.NoError(t, err, "Session")
		assertSession(t, want, got, "Session after the race")
	})

	t.Run("RotateSessions", func(t *testing.T) {
		// Sessions rotated at once, each by its own goroutine, each keep
		// their own AuthMethods and AuthTime; each goroutine changes what it
		// gets back, which must reach neither the store nor the others.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		base := now().Add(-time.Hour)
		sessions := make([]authkit.Session, racers)
		for i := range sessions {
			sessions[i] = newSession(u.ID, base.Add(time.Duration(i)*time.Second))
			sessions[i].AuthMethods = []string{"pwd", "otp" + strconv.Itoa(i)}
			sessions[i].AuthTime = base.Add(-time.Duration(i) * time.Minute)
			require.NoError(t, s.CreateSession(ctx, sessions[i]), "CreateSession")
		}
		const rounds = 3
		at := now()
		current := make([]string, racers)
		errs := race(racers, func(i int) error {
			want, hash := sessions[i], sessions[i].RefreshHash
			for r := range rounds {
				next := newHash()
				got, err := s.RotateSession(ctx, want.ID, hash, next, at.Add(time.Duration(r)*time.Second), at.Add(time.Hour))
				if err != nil {
					return err
				}
				if !slices.Equal(want.AuthMethods, got.AuthMethods) || !want.AuthTime.Equal(got.AuthTime) {
					return fmt.Errorf("rotation %d returned AuthMethods %q and AuthTime %v, want %q and %v",
						r+1, got.AuthMethods, got.AuthTime, want.AuthMethods, want.AuthTime)
				}
				overwrite(got.AuthMethods)
				hash = next
			}
			current[i] = hash
			return nil
		})
		for i, err := range errs {
			assert.NoError(t, err, "RotateSession of session %d, %d times", i, rounds)
		}
		got, err := s.UserSessions(ctx, u.ID)
		require.NoError(t, err, "UserSessions")
		require.Equal(t, sessionIDs(sessions), sessionIDs(got), "UserSessions after the race")
		for i, sess := range got {
			assert.Equal(t, current[i], sess.RefreshHash, "RefreshHash of session %d after the race", i)
			assertMethods(t, sessions[i].AuthMethods, sess.AuthMethods, fmt.Sprintf("AuthMethods of session %d after the race", i))
			assertTime(t, sessions[i].AuthTime, sess.AuthTime, fmt.Sprintf("AuthTime of session %d after the race", i))
		}
	})

	t.Run("UpdateUserIfPasswordHash", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		hashes := make([]string, racers)
		for i := range hashes {
			hashes[i] = newPasswordHash()
		}
		errs := race(racers, func(i int) error {
			_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{
				PasswordHash: &hashes[i], IfPasswordHash: u.PasswordHash, BumpTokenVersion: true, UpdatedAt: now(),
			})
			return err
		})
		winner := oneWinner(t, errs, authkit.ErrConflict, "UpdateUser with IfPasswordHash")
		if winner < 0 {
			return
		}
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assert.Equal(t, hashes[winner], got.PasswordHash, "PasswordHash after the race: the winner's")
		assert.Equal(t, u.TokenVersion+1, got.TokenVersion, "TokenVersion after the race: bumped once")
	})

	t.Run("BumpTokenVersion", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		versions := make([]int64, racers)
		errs := race(racers, func(i int) error {
			got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
			versions[i] = got.TokenVersion
			return err
		})
		for i, err := range errs {
			assert.NoError(t, err, "UpdateUser with BumpTokenVersion in goroutine %d", i)
		}
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err, "UserByID")
		assert.Equal(t, u.TokenVersion+racers, got.TokenVersion, "TokenVersion after %d concurrent bumps", racers)

		// Each call saw the user as its own update left it.
		want := make([]int64, racers)
		for i := range want {
			want[i] = u.TokenVersion + int64(i) + 1
		}
		slices.Sort(versions)
		assert.Equal(t, want, versions, "TokenVersions returned by %d concurrent bumps", racers)
	})
}

// testFactorConcurrency checks the atomicity promises of a FactorStore
// under real concurrency.
func testFactorConcurrency(t *testing.T, newStore func(t testing.TB) factorStore) {
	t.Run("UseRecoveryCode", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		codes := replaceCodes(t, s, u.ID, 10)
		errs := race(racers, func(int) error { return s.UseRecoveryCode(ctx, u.ID, codes[4], now()) })
		oneWinner(t, errs, authkit.ErrNotFound, "UseRecoveryCode of one code")
		assertCodesLeft(t, s, u.ID, 9, "after the race")
	})

	t.Run("UseRecoveryCodes", func(t *testing.T) {
		// Each goroutine uses a code of its own: every one succeeds and
		// every one counts.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		codes := replaceCodes(t, s, u.ID, racers+2)
		errs := race(racers, func(i int) error { return s.UseRecoveryCode(ctx, u.ID, codes[i], now()) })
		for i, err := range errs {
			assert.NoError(t, err, "UseRecoveryCode of code %d", i)
		}
		assertCodesLeft(t, s, u.ID, 2, fmt.Sprintf("after %d codes were used at once", racers))
	})

	t.Run("UseTOTPStep", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := confirmFactor(t, s, u.ID, 1000)
		errs := race(racers, func(int) error { return s.UseTOTPStep(ctx, u.ID, 1001) })
		oneWinner(t, errs, authkit.ErrConflict, "UseTOTPStep of one step")
		f.LastStep = 1001
		assertFactorOf(t, s, f, "after the race")
	})

	t.Run("UseTOTPSteps", func(t *testing.T) {
		// Goroutines with steps of their own: the last step never goes
		// back, and the newest one always gets through.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := confirmFactor(t, s, u.ID, 1000)
		errs := race(racers, func(i int) error { return s.UseTOTPStep(ctx, u.ID, 1001+int64(i)) })
		for i, err := range errs {
			if err != nil && !errors.Is(err, authkit.ErrConflict) {
				t.Errorf("UseTOTPStep(%d): got error %v, want nil or %v", 1001+i, err, authkit.ErrConflict)
			}
		}
		assert.NoError(t, errs[racers-1], "UseTOTPStep of the newest step")
		f.LastStep = 1000 + racers
		assertFactorOf(t, s, f, "after the race")
	})

	t.Run("ConfirmTOTP", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := putFactor(t, s, u.ID)
		base := now()
		errs := race(racers, func(i int) error {
			return s.ConfirmTOTP(ctx, u.ID, base.Add(time.Duration(i)*time.Microsecond), 500+int64(i))
		})
		winner := oneWinner(t, errs, authkit.ErrNotFound, "ConfirmTOTP of one factor")
		if winner < 0 {
			return
		}
		f.ConfirmedAt, f.LastStep = base.Add(time.Duration(winner)*time.Microsecond), 500+int64(winner)
		assertFactorOf(t, s, f, "after the race: the winner's confirmation")
	})

	t.Run("PutTOTP", func(t *testing.T) {
		// Enrolments at once each replace the pending factor: every one
		// succeeds, and one of them is left whole.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		factors := make([]authkit.TOTPFactor, racers)
		for i := range factors {
			factors[i] = newFactor(u.ID, now().Add(time.Duration(i)*time.Second))
			factors[i].KeyID = "key-" + strconv.Itoa(i)
		}
		errs := race(racers, func(i int) error { return s.PutTOTP(ctx, factors[i]) })
		for i, err := range errs {
			assert.NoError(t, err, "PutTOTP %d over a pending factor", i)
		}
		got, err := s.TOTP(ctx, u.ID)
		require.NoError(t, err, "TOTP")
		i, err := strconv.Atoi(strings.TrimPrefix(got.KeyID, "key-"))
		require.NoError(t, err, "KeyID after the race: %q", got.KeyID)
		require.Less(t, i, racers, "KeyID after the race: %q", got.KeyID)
		assertFactor(t, factors[i], got, "TOTP after the race: one enrolment, whole")
	})

	t.Run("PutTOTPOverConfirmed", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		f := confirmFactor(t, s, u.ID, 1)
		errs := race(racers, func(int) error { return s.PutTOTP(ctx, newFactor(u.ID, now())) })
		for i, err := range errs {
			assert.ErrorIs(t, err, authkit.ErrConflict, "PutTOTP %d over a confirmed factor", i)
		}
		assertFactorOf(t, s, f, "after the race")
	})

	t.Run("ReplaceRecoveryCodes", func(t *testing.T) {
		// Replacements at once leave exactly one of the sets, whole, and
		// nothing of the others.
		const size = 10
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		replaceCodes(t, s, u.ID, size)
		sets := make([][]string, racers)
		for i := range sets {
			sets[i] = newCodeHashes(size)
		}
		errs := race(racers, func(i int) error { return s.ReplaceRecoveryCodes(ctx, u.ID, sets[i], now()) })
		for i, err := range errs {
			assert.NoError(t, err, "ReplaceRecoveryCodes %d", i)
		}
		assertCodesLeft(t, s, u.ID, size, "after the race")

		// The first code of exactly one set works: that set is left.
		winner := -1
		for i, set := range sets {
			err := s.UseRecoveryCode(ctx, u.ID, set[0], now())
			switch {
			case err == nil && winner >= 0:
				t.Errorf("the first codes of sets %d and %d both work after the race", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, authkit.ErrNotFound):
				t.Errorf("UseRecoveryCode of the first code of set %d: %v", i, err)
			}
		}
		require.GreaterOrEqual(t, winner, 0, "one set is left after the race")
		for i, set := range sets {
			for j, h := range set[1:] {
				err := s.UseRecoveryCode(ctx, u.ID, h, now())
				if i == winner {
					assert.NoError(t, err, "UseRecoveryCode of code %d of the set left", j+1)
				} else {
					assert.ErrorIs(t, err, authkit.ErrNotFound, "UseRecoveryCode of code %d of set %d, which lost", j+1, i)
				}
			}
		}
		assertCodesLeft(t, s, u.ID, 0, "after every code of the set left was used")
	})

	t.Run("DeleteUserWhileEnrolling", func(t *testing.T) {
		// A user deleted while their factor and codes are being written
		// leaves nothing behind; every call either happens before the
		// deletion or finds no user.
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		confirmFactor(t, s, u.ID, 1)
		replaceCodes(t, s, u.ID, 5)
		errs := race(racers, func(i int) error {
			switch i % 5 {
			case 0:
				return s.DeleteUser(ctx, u.ID)
			case 1:
				return s.PutTOTP(ctx, newFactor(u.ID, now()))
			case 2:
				return s.ReplaceRecoveryCodes(ctx, u.ID, newCodeHashes(5), now())
			case 3:
				return s.DeleteTOTP(ctx, u.ID)
			default:
				return s.UseTOTPStep(ctx, u.ID, 2+int64(i))
			}
		})
		deleted := 0
		for i, err := range errs {
			switch {
			case i%5 == 0 && err == nil:
				deleted++
			case err == nil, errors.Is(err, authkit.ErrNotFound):
			case i%5 == 1 && errors.Is(err, authkit.ErrConflict): // a factor still confirmed
			case i%5 == 4 && errors.Is(err, authkit.ErrConflict): // a newer step used
			default:
				t.Errorf("call %d: %v", i, err)
			}
		}
		assert.Equal(t, 1, deleted, "DeleteUser calls that succeeded")
		assertNoFactor(t, s, u.ID, "of the deleted user")
		assertCodesLeft(t, s, u.ID, 0, "of the deleted user")
	})

	t.Run("ReplaceAndDelete", func(t *testing.T) {
		// DeleteTOTP takes every code, even with replacements under way:
		// afterwards either no codes are left or one whole set is (a
		// replacement that came after).
		const size = 5
		s, ctx := newStore(t), t.Context()
		u := createUser(t, s)
		confirmFactor(t, s, u.ID, 1)
		sets := make([][]string, racers)
		for i := range sets {
			sets[i] = newCodeHashes(size)
		}
		errs := race(racers, func(i int) error {
			if i%2 == 0 {
				return s.DeleteTOTP(ctx, u.ID)
			}
			return s.ReplaceRecoveryCodes(ctx, u.ID, sets[i], now())
		})
		for i, err := range errs {
			assert.NoError(t, err, "call %d", i)
		}
		n, err := s.RecoveryCodesLeft(ctx, u.ID)
		require.NoError(t, err, "RecoveryCodesLeft")
		assert.Contains(t, []int{0, size}, n, "RecoveryCodesLeft after the race: none or one whole set")
	})
}
