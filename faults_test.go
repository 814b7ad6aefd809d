package authkit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// Injected faults in the flows only the Go API offers: disabling and
// enabling an account, the housekeeping of Cleanup, and an operator's
// removal of a user's second factor. The flows of the
// HTTP API are driven in httpauth/faults_test.go; the harness is in
// faultkit_test.go.

// libRun is what a library flow acts on.
type libRun struct {
	// user is the account the flow acts on.
	user *faultUser
	// expired is an account whose sessions and links have expired.
	expired *faultUser
}

// libFlow is a flow of the Go API for the fault drives.
type libFlow struct {
	name string
	// prepare makes what the flow acts on, with no fault armed.
	prepare func(k *faultKit) *libRun
	// act runs the flow with the fault armed, under ctx.
	act func(ctx context.Context, k *faultKit, r *libRun) error
	// holds checks what must hold whatever act did: after act, and
	// again after retry.
	holds func(k *faultKit, r *libRun)
	// retry, with no fault armed, takes the flow to its end.
	retry func(k *faultKit, r *libRun)
}

// driveLib runs fl once for each N = 1, 2, …, failing the Nth Store (or
// Limiter) call it makes in mode, until a run makes fewer than N calls.
// Every run reads clock: the runs share the Store's rate-limit counters,
// which a clock that went back would find in the future.
// After each run it checks the error and the invariants, retries on a
// fresh Authenticator without faults, and checks them again. It returns
// how many faults it injected.
func driveLib(t *testing.T, raw authkit.Store, clock *testkit.Clock, fl libFlow, mode faults.Mode) int {
	injected := 0
	for n := 1; ; n++ {
		require.LessOrEqual(t, n, 60, "%s makes too many calls", fl.name)
		var rep faults.Report
		t.Run(fmt.Sprintf("call%02d", n), func(t *testing.T) {
			k := newFaultKit(t, raw, clock)
			r := fl.prepare(k)
			k.store.Arm(faults.Fault{Call: n, Mode: mode, Counts: faults.Marked})
			err := fl.act(faults.Mark(context.Background()), k, r)
			k.close()
			rep = k.store.Disarm()
			what := fmt.Sprintf("%s, %s at call %d of %v", fl.name, mode, n, rep.Methods)
			if err != nil {
				assert.True(t, rep.Injected, "%s: an error with no fault: %v", what, err)
				// The Store's failure comes out as itself, so that a host
				// tells an outage from a refusal.
				storeFailure := errors.Is(err, faults.ErrInjected) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
				assert.True(t, storeFailure, "%s: the error wraps the Store's: %v", what, err)
			}
			if r.user != nil {
				k.assertSound(what, r.user)
			}
			fl.holds(k, r)

			g := newFaultKit(t, raw, clock)
			defer g.close()
			fl.retry(g, r)
			if r.user != nil {
				g.assertSound(what+", retried", r.user)
			}
			fl.holds(g, r)
		})
		if rep.Injected {
			injected++
		}
		if !rep.Injected || t.Failed() {
			return injected
		}
	}
}

// runs numbers the accounts of the drives, which share databases.
var runs atomic.Int64

// runName returns an email, starting with prefix, that no other run uses.
func runName(prefix string) string {
	return fmt.Sprintf("%s-%d@example.com", prefix, runs.Add(1))
}

// libFlows are the flows of the Go API that no HTTP endpoint serves.
var libFlows = []libFlow{
	{
		name: "disable",
		prepare: func(k *faultKit) *libRun {
			return &libRun{user: k.signUp(runName("disable"))}
		},
		act: func(ctx context.Context, k *faultKit, r *libRun) error {
			return k.SetActive(ctx, r.user.id, false, faultClient)
		},
		holds: func(*faultKit, *libRun) {},
		retry: func(k *faultKit, r *libRun) {
			require.NoError(k.t, k.SetActive(context.Background(), r.user.id, false, faultClient), "SetActive(false) again")
			for i, c := range r.user.creds {
				assert.False(k.t, k.refreshAccepted(c.RefreshToken), "refresh token %d of a disabled account", i)
				assert.False(k.t, k.accessAccepted(c.AccessToken), "access token %d of a disabled account", i)
			}
			_, err := k.Login(context.Background(), r.user.email, faultPassword, faultClient)
			assert.ErrorIs(k.t, err, authkit.ErrAccountDisabled, "Login of a disabled account")
		},
	},
	{
		name: "enable",
		prepare: func(k *faultKit) *libRun {
			u := k.signUp(runName("enable"))
			require.NoError(k.t, k.SetActive(context.Background(), u.id, false, faultClient), "SetActive(false)")
			return &libRun{user: u}
		},
		act: func(ctx context.Context, k *faultKit, r *libRun) error {
			return k.SetActive(ctx, r.user.id, true, faultClient)
		},
		holds: func(*faultKit, *libRun) {},
		retry: func(k *faultKit, r *libRun) {
			require.NoError(k.t, k.SetActive(context.Background(), r.user.id, true, faultClient), "SetActive(true) again")
			k.signIn(r.user)
			for i, c := range r.user.creds[:len(r.user.creds)-1] {
				assert.False(k.t, k.refreshAccepted(c.RefreshToken), "refresh token %d from before the disabling", i)
			}
		},
	},
	{
		name: "remove second factor",
		prepare: func(k *faultKit) *libRun {
			u := k.signUp(runName("remove"))
			k.enrol(u)
			return &libRun{user: u}
		},
		act: func(ctx context.Context, k *faultKit, r *libRun) error {
			return k.RemoveSecondFactor(ctx, r.user.id, faultClient)
		},
		// Fully on or fully off, which the account's checks say.
		holds: func(*faultKit, *libRun) {},
		retry: func(k *faultKit, r *libRun) {
			require.NoError(k.t, k.RemoveSecondFactor(context.Background(), r.user.id, faultClient), "RemoveSecondFactor again")
			st, err := k.SecondFactor(context.Background(), r.user.id)
			require.NoError(k.t, err, "SecondFactor")
			assert.Equal(k.t, authkit.SecondFactorStatus{}, st, "no factor and no recovery codes once removed")
			k.signIn(r.user) // in one step
		},
	},
	{
		name: "cleanup",
		prepare: func(k *faultKit) *libRun {
			r := &libRun{expired: k.signUp(runName("expired"))}
			// Past every default lifetime: the sessions (30 days), the
			// verification link (24 hours) and the rate-limit counters.
			k.clock.Advance(authkit.DefaultRefreshTokenTTL + time.Hour)
			r.user = k.signUp(runName("live"))
			return r
		},
		act: func(ctx context.Context, k *faultKit, r *libRun) error {
			_, err := k.Cleanup(ctx)
			return err
		},
		// Cleanup never takes what is live, failing or not.
		holds: func(k *faultKit, r *libRun) {
			for i, c := range r.user.creds {
				assert.True(k.t, k.refreshAccepted(c.RefreshToken), "live session %d after Cleanup", i)
			}
			assert.True(k.t, k.verifyAccepted(r.user.verify), "live verification link after Cleanup")
		},
		retry: func(k *faultKit, r *libRun) {
			_, err := k.Cleanup(context.Background())
			require.NoError(k.t, err, "Cleanup again")
			sessions, err := k.raw.UserSessions(context.Background(), r.expired.id)
			require.NoError(k.t, err, "raw UserSessions")
			assert.Empty(k.t, sessions, "expired sessions after Cleanup")
			_, err = k.raw.Token(context.Background(), tokenHash(r.expired.verify))
			assert.ErrorIs(k.t, err, authkit.ErrNotFound, "an expired link after Cleanup")
		},
	},
}

// tokenHash is the hash under which the Store keeps a token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TestFaultsStoreInLibraryFlows proves that disabling, enabling, Cleanup
// and the removal of a second factor fail safe when any one Store (or
// Limiter) call they make fails, is cancelled or loses its answer, on
// memstore and SQLite: the error is the Store's; no credential of a
// disabled account, or from before it was disabled, is accepted; Cleanup
// takes nothing live; a second factor is fully on or fully off; and each
// flow then succeeds when retried.
func TestFaultsStoreInLibraryFlows(t *testing.T) {
	for _, s := range faultStores {
		for _, fl := range libFlows {
			t.Run(s.name+"/"+fl.name, func(t *testing.T) {
				t.Parallel()
				raw, clock := s.open(t), testkit.NewClock()
				for _, mode := range faults.Modes {
					t.Run(mode.String(), func(t *testing.T) {
						t.Logf("%d faults injected", driveLib(t, raw, clock, fl, mode))
					})
				}
			})
		}
	}
}

// TestFaultKitChecksCatchBrokenState proves that the invariants the
// library drives check are real: a disabling or a logout everywhere that
// did not end the sessions, a lost password hash, a second factor half
// removed or half enrolled, and a sign-in that skipped it, are reported.
func TestFaultKitChecksCatchBrokenState(t *testing.T) {
	no := false
	for _, tc := range []struct {
		name string
		upd  authkit.UserUpdate
		want string
	}{
		{"disabled, its sessions left", authkit.UserUpdate{Active: &no, BumpTokenVersion: true}, "disabled user keeps 2 sessions"},
		{"token version moved, its sessions left", authkit.UserUpdate{BumpTokenVersion: true}, "credential 0 of token version 0 is accepted at version 1"},
		{"password hash lost", authkit.UserUpdate{PasswordHash: new(string)}, "has no usable password hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFaultKit(t, memstore.New(), testkit.NewClock())
			defer k.close()
			u := k.signUp("broken@example.com")
			require.Empty(t, k.violations(u), "the sound state")
			_, err := k.raw.UpdateUser(context.Background(), u.id, tc.upd)
			require.NoError(t, err, "raw UpdateUser")
			assert.Contains(t, strings.Join(k.violations(u), "\n"), tc.want, "the violations reported")
		})
	}

	for _, tc := range []struct {
		name   string
		breaks func(ctx context.Context, fs authkit.FactorStore, k *faultKit, u *faultUser)
		want   string
	}{{
		name: "a factor removed, its recovery codes left",
		breaks: func(ctx context.Context, fs authkit.FactorStore, k *faultKit, u *faultUser) {
			require.NoError(t, fs.DeleteTOTP(ctx, u.id))
			require.NoError(t, fs.ReplaceRecoveryCodes(ctx, u.id, []string{tokenHash("left")}, k.clock.Now()))
		},
		want: "no factor, yet 1 recovery codes are left",
	}, {
		name: "a confirmed factor without its recovery codes",
		breaks: func(ctx context.Context, fs authkit.FactorStore, k *faultKit, u *faultUser) {
			require.NoError(t, fs.ReplaceRecoveryCodes(ctx, u.id, nil, k.clock.Now()))
		},
		want: "a confirmed factor has 0 recovery codes left",
	}, {
		name: "a sign-in that skipped the second factor",
		breaks: func(ctx context.Context, _ authkit.FactorStore, k *faultKit, u *faultUser) {
			now := k.clock.Now()
			require.NoError(t, k.raw.CreateSession(ctx, authkit.Session{
				ID: "00000000-0000-4000-8000-000000000001", UserID: u.id, RefreshHash: tokenHash("refresh"),
				CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), AuthMethods: []string{authkit.MethodPassword}, AuthTime: now,
			}))
		},
		want: "a session begun after the factor was confirmed lacks the second factor",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFaultKit(t, memstore.New(), testkit.NewClock())
			defer k.close()
			u := k.signUp("broken@example.com")
			k.enrol(u)
			require.Empty(t, k.violations(u), "the sound state")
			fs, ok := k.raw.(authkit.FactorStore)
			require.True(t, ok, "memstore keeps second factors")
			tc.breaks(context.Background(), fs, k, u)
			assert.Contains(t, strings.Join(k.violations(u), "\n"), tc.want, "the violations reported")
		})
	}
}
