package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

// recoveryCode is one recovery code of a user as the store keeps it; its
// hash is its key.
type recoveryCode struct {
	createdAt, usedAt time.Time
	// used is set once the code is used, at usedAt (which may be zero).
	used bool
}

// PutTOTP stores f, pending, as the user's TOTP factor, replacing a pending
// one. It returns authkit.ErrConflict, changing nothing, when the user has a
// confirmed factor and authkit.ErrNotFound when there is no such user. The
// factor is stored with ConfirmedAt zero and LastStep 0, whatever f holds,
// and with a copy of f.Secret. It returns an error wrapping
// authkit.ErrInvalidInput for a Secret over 512 bytes or a KeyID over 64
// bytes, not valid UTF-8 or holding NUL, which the SQL Store could not keep
// either.
func (s *Store) PutTOTP(ctx context.Context, f authkit.TOTPFactor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := authkit.CheckTOTPFactor(f); err != nil {
		return err
	}
	f.Secret = slices.Clone(f.Secret)
	f.CreatedAt = f.CreatedAt.UTC()
	f.ConfirmedAt, f.LastStep = time.Time{}, 0
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[f.UserID]; !ok {
		return authkit.ErrNotFound
	}
	if old, ok := s.totp[f.UserID]; ok && !old.ConfirmedAt.IsZero() {
		return authkit.ErrConflict
	}
	s.totp[f.UserID] = f
	return nil
}

// TOTP returns the user's TOTP factor, pending or confirmed, with a Secret
// of its own, or authkit.ErrNotFound.
func (s *Store) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	if err := ctx.Err(); err != nil {
		return authkit.TOTPFactor{}, err
	}
	s.mu.RLock()
	f, ok := s.totp[userID]
	s.mu.RUnlock()
	if !ok {
		return authkit.TOTPFactor{}, authkit.ErrNotFound
	}
	// The kept Secret is never written to, so it may be copied after the
	// lock is released.
	f.Secret = slices.Clone(f.Secret)
	return f, nil
}

// ConfirmTOTP marks the user's pending factor confirmed at `at`, with step as
// its LastStep. It returns authkit.ErrNotFound when the user has no factor or
// it is confirmed already, so of concurrent confirmations exactly one
// succeeds, and an error wrapping authkit.ErrInvalidInput for a zero `at`,
// which would read back as pending.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("%w: TOTP confirmed at the zero time", authkit.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.totp[userID]
	if !ok || !f.ConfirmedAt.IsZero() {
		return authkit.ErrNotFound
	}
	f.ConfirmedAt, f.LastStep = at.UTC(), step
	s.totp[userID] = f
	return nil
}

// UseTOTPStep moves the LastStep of the user's confirmed factor to step
// under the write lock, if step is greater. It returns authkit.ErrConflict,
// changing nothing, when it is not and authkit.ErrNotFound when the user has
// no confirmed factor.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.totp[userID]
	if !ok || f.ConfirmedAt.IsZero() {
		return authkit.ErrNotFound
	}
	if step <= f.LastStep {
		return authkit.ErrConflict
	}
	f.LastStep = step
	s.totp[userID] = f
	return nil
}

// DeleteTOTP deletes the user's TOTP factor and all their recovery codes at
// once. It is not an error if there are none.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.totp, userID)
	delete(s.recovery, userID)
	return nil
}

// ReplaceRecoveryCodes replaces all of the user's recovery codes with unused
// ones of the given hashes, created at `at`, at once. It returns
// authkit.ErrNotFound when there is no such user, and an error wrapping
// authkit.ErrInvalidInput, changing nothing, when a hash is empty, over 128
// bytes, not valid UTF-8 or holds NUL, or two hashes are the same.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := authkit.CheckRecoveryCodeHashes(hashes); err != nil {
		return err
	}
	codes := make(map[string]recoveryCode, len(hashes))
	for _, h := range hashes {
		codes[h] = recoveryCode{createdAt: at.UTC()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		return authkit.ErrNotFound
	}
	s.recovery[userID] = codes
	return nil
}

// UseRecoveryCode marks the user's unused recovery code with hash used at
// `at` under the write lock. It returns authkit.ErrNotFound when the code is
// unknown or used, so of concurrent calls with one code exactly one
// succeeds.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.recovery[userID][hash]
	if !ok || c.used {
		return authkit.ErrNotFound
	}
	c.usedAt, c.used = at.UTC(), true
	s.recovery[userID][hash] = c
	return nil
}

// RecoveryCodesLeft counts the user's unused recovery codes: 0 for a user
// with none, or no such user.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, c := range s.recovery[userID] {
		if !c.used {
			n++
		}
	}
	return n, nil
}
