package faults

import (
	"context"
	"time"

	"github.com/authkit/authkit"
)

var (
	_ authkit.FactorStore = (*FactorStore)(nil)
	_ Faulty              = (*FactorStore)(nil)
	_ Faulty              = (*Store)(nil)
)

// Faulty is what Wrap returns, a *Store or a *FactorStore: the Store (and
// Limiter) to give an Authenticator, and the handle that arms it.
type Faulty interface {
	authkit.Store
	authkit.Limiter
	// Arm, Disarm and Report are Store's.
	Arm(f Fault)
	Disarm() Report
	Report() Report
}

// Wrap returns a Store that wraps next, unarmed (see NewStore), with the
// second factors next has and no others: a *FactorStore when next is an
// authkit.FactorStore, whose factor calls count and fail like the rest,
// and a *Store otherwise, which an Authenticator finds without second
// factors, as it would find next.
func Wrap(next authkit.Store) Faulty {
	s := NewStore(next)
	if fs, ok := next.(authkit.FactorStore); ok {
		return &FactorStore{Store: s, factors: fs}
	}
	return s
}

// FactorStore is a Store that is also an authkit.FactorStore: it passes
// the FactorStore calls to the Store it wraps, and counts and fails them
// with the others, under the same Fault and in the same Report. Make one
// with Wrap. It is safe for concurrent use.
type FactorStore struct {
	*Store
	factors authkit.FactorStore
}

// PutTOTP implements authkit.FactorStore.
func (s *FactorStore) PutTOTP(ctx context.Context, f authkit.TOTPFactor) error {
	return exec(s.Store, ctx, "PutTOTP", func(ctx context.Context) error { return s.factors.PutTOTP(ctx, f) })
}

// TOTP implements authkit.FactorStore.
func (s *FactorStore) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	return call(s.Store, ctx, "TOTP", func(ctx context.Context) (authkit.TOTPFactor, error) { return s.factors.TOTP(ctx, userID) })
}

// ConfirmTOTP implements authkit.FactorStore.
func (s *FactorStore) ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error {
	return exec(s.Store, ctx, "ConfirmTOTP", func(ctx context.Context) error { return s.factors.ConfirmTOTP(ctx, userID, at, step) })
}

// UseTOTPStep implements authkit.FactorStore.
func (s *FactorStore) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return exec(s.Store, ctx, "UseTOTPStep", func(ctx context.Context) error { return s.factors.UseTOTPStep(ctx, userID, step) })
}

// DeleteTOTP implements authkit.FactorStore.
func (s *FactorStore) DeleteTOTP(ctx context.Context, userID string) error {
	return exec(s.Store, ctx, "DeleteTOTP", func(ctx context.Context) error { return s.factors.DeleteTOTP(ctx, userID) })
}

// ReplaceRecoveryCodes implements authkit.FactorStore.
func (s *FactorStore) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	return exec(s.Store, ctx, "ReplaceRecoveryCodes", func(ctx context.Context) error {
		return s.factors.ReplaceRecoveryCodes(ctx, userID, hashes, at)
	})
}

// UseRecoveryCode implements authkit.FactorStore.
func (s *FactorStore) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	return exec(s.Store, ctx, "UseRecoveryCode", func(ctx context.Context) error {
		return s.factors.UseRecoveryCode(ctx, userID, hash, at)
	})
}

// RecoveryCodesLeft implements authkit.FactorStore.
func (s *FactorStore) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return call(s.Store, ctx, "RecoveryCodesLeft", func(ctx context.Context) (int, error) { return s.factors.RecoveryCodesLeft(ctx, userID) })
}
