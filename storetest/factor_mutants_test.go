package storetest_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/authkit/authkit"
)

// Stores that break the contract of authkit.FactorStore, each in one way,
// built on a correct store that keeps second factors; see mutants.

// factors is a Store that keeps second factors.
type factors interface {
	authkit.Store
	authkit.FactorStore
}

// withoutFactors hides the second factors of a correct store, as a Store
// written before authkit.FactorStore would.
type withoutFactors struct{ authkit.Store }

// putOverConfirmed replaces a confirmed factor.
type putOverConfirmed struct{ factors }

func (s putOverConfirmed) PutTOTP(ctx context.Context, f authkit.TOTPFactor) error {
	if old, err := s.TOTP(ctx, f.UserID); err == nil && !old.ConfirmedAt.IsZero() {
		_ = s.DeleteTOTP(ctx, f.UserID)
	}
	return s.factors.PutTOTP(ctx, f)
}

// putKeepsConfirmedAt stores a factor confirmed when it is given one with
// ConfirmedAt set.
type putKeepsConfirmedAt struct{ factors }

func (s putKeepsConfirmedAt) PutTOTP(ctx context.Context, f authkit.TOTPFactor) error {
	if err := s.factors.PutTOTP(ctx, f); err != nil || f.ConfirmedAt.IsZero() {
		return err
	}
	return s.ConfirmTOTP(ctx, f.UserID, f.ConfirmedAt, f.LastStep)
}

// confirmTwice confirms a confirmed factor again, at the new time and step.
type confirmTwice struct{ factors }

func (s confirmTwice) ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error {
	if f, err := s.TOTP(ctx, userID); err == nil && !f.ConfirmedAt.IsZero() {
		_ = s.DeleteTOTP(ctx, userID)
		_ = s.factors.PutTOTP(ctx, f)
	}
	return s.factors.ConfirmTOTP(ctx, userID, at, step)
}

// stepReplay accepts the last step again.
type stepReplay struct{ factors }

func (s stepReplay) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	if f, err := s.TOTP(ctx, userID); err == nil && !f.ConfirmedAt.IsZero() && f.LastStep == step {
		return nil
	}
	return s.factors.UseTOTPStep(ctx, userID, step)
}

// usedCodesCounted counts the codes last given, used or not.
type usedCodesCounted struct {
	factors
	mu    *sync.Mutex
	given map[string]int
}

func newUsedCodesCounted(s factors) usedCodesCounted {
	return usedCodesCounted{factors: s, mu: new(sync.Mutex), given: make(map[string]int)}
}

func (s usedCodesCounted) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	err := s.factors.ReplaceRecoveryCodes(ctx, userID, hashes, at)
	if err == nil {
		s.mu.Lock()
		s.given[userID] = len(hashes)
		s.mu.Unlock()
	}
	return err
}

func (s usedCodesCounted) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if _, err := s.factors.RecoveryCodesLeft(ctx, userID); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.given[userID], nil
}

// deleteUserLeavesFactor deletes a user but still hands out their factor.
type deleteUserLeavesFactor struct {
	factors
	mu   *sync.Mutex
	left map[string]authkit.TOTPFactor
}

func newDeleteUserLeavesFactor(s factors) deleteUserLeavesFactor {
	return deleteUserLeavesFactor{factors: s, mu: new(sync.Mutex), left: make(map[string]authkit.TOTPFactor)}
}

func (s deleteUserLeavesFactor) DeleteUser(ctx context.Context, id string) error {
	f, ferr := s.factors.TOTP(ctx, id)
	if err := s.factors.DeleteUser(ctx, id); err != nil {
		return err
	}
	if ferr == nil {
		s.mu.Lock()
		s.left[id] = f
		s.mu.Unlock()
	}
	return nil
}

func (s deleteUserLeavesFactor) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	f, err := s.factors.TOTP(ctx, userID)
	if errors.Is(err, authkit.ErrNotFound) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if left, ok := s.left[userID]; ok {
			return left, nil
		}
	}
	return f, err
}

// secretShared hands every caller of TOTP the same Secret slice for a
// user, the one it handed out first.
type secretShared struct {
	factors
	mu     *sync.Mutex
	shared map[string][]byte
}

func newSecretShared(s factors) secretShared {
	return secretShared{factors: s, mu: new(sync.Mutex), shared: make(map[string][]byte)}
}

func (s secretShared) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	f, err := s.factors.TOTP(ctx, userID)
	if err != nil {
		return f, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if secret, ok := s.shared[userID]; ok {
		f.Secret = secret
	} else {
		s.shared[userID] = f.Secret
	}
	return f, nil
}

// factorIgnoresContext reads factors whatever the state of ctx.
type factorIgnoresContext struct{ factors }

func (s factorIgnoresContext) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	return s.factors.TOTP(context.WithoutCancel(ctx), userID)
}

// recoveryCodeRace checks that it has not seen a code used, then uses it
// without caring whether the store still held it unused.
type recoveryCodeRace struct {
	factors
	mu   *sync.Mutex
	used map[[2]string]bool
}

func newRecoveryCodeRace(s factors) recoveryCodeRace {
	return recoveryCodeRace{factors: s, mu: new(sync.Mutex), used: make(map[[2]string]bool)}
}

func (s recoveryCodeRace) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	key := [2]string{userID, hash}
	s.mu.Lock()
	seen := s.used[key]
	s.mu.Unlock()
	if seen {
		return authkit.ErrNotFound
	}
	time.Sleep(time.Millisecond)
	runtime.Gosched()
	err := s.factors.UseRecoveryCode(ctx, userID, hash, at)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && !s.used[key] {
		return err
	}
	s.used[key] = true
	return nil
}

// stepWithoutCAS checks the step against the factor it read, then moves the
// factor on whatever it holds by then.
type stepWithoutCAS struct{ factors }

func (s stepWithoutCAS) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	f, err := s.TOTP(ctx, userID)
	if err != nil || f.ConfirmedAt.IsZero() {
		return authkit.ErrNotFound
	}
	if step <= f.LastStep {
		return authkit.ErrConflict
	}
	time.Sleep(time.Millisecond)
	runtime.Gosched()
	if err := s.factors.UseTOTPStep(ctx, userID, step); err != nil && !errors.Is(err, authkit.ErrConflict) {
		return err
	}
	return nil
}

// replaceNotAtomic deletes the codes, then adds the new ones one by one.
type replaceNotAtomic struct {
	factors
	mu      *sync.Mutex
	current map[string][]string
}

func newReplaceNotAtomic(s factors) replaceNotAtomic {
	return replaceNotAtomic{factors: s, mu: new(sync.Mutex), current: make(map[string][]string)}
}

func (s replaceNotAtomic) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	s.mu.Lock()
	s.current[userID] = nil
	err := s.factors.ReplaceRecoveryCodes(ctx, userID, nil, at)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, h := range hashes {
		runtime.Gosched()
		s.mu.Lock()
		s.current[userID] = append(s.current[userID], h)
		err := s.factors.ReplaceRecoveryCodes(ctx, userID, slices.Clone(s.current[userID]), at)
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
