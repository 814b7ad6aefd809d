package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.FactorStore = (*Store)(nil)

// The columns that hold second factors take authkit.MaxTOTPSecretBytes,
// MaxTOTPKeyIDBytes and MaxRecoveryCodeHashBytes on every engine (MySQL's
// VARBINARY widths).
const (
	// codesPerInsert is how many recovery codes one INSERT adds at most,
	// far below every engine's limit on parameters.
	codesPerInsert = 100
)

// txUserWrite runs, in tx, first (a write statement whose one parameter is
// the user's id) and then rest, in turn with every other transaction that
// does the same for the user: the writers of a user's second factor and
// DeleteUser. It returns authkit.ErrNotFound, before rest, when there is no
// such user.
//
// Where the engine locks rows, the user's row is locked before first, so
// that those writers queue on it before they touch anything else (and so
// never deadlock on the gaps MySQL locks). SQLite locks the whole database
// at a transaction's first write, so there first runs before the user is
// looked up: a transaction that read first could fail to take the write
// lock if the host opened the database without IMMEDIATE transactions.
func (s *Store) txUserWrite(ctx context.Context, tx *sql.Tx, userID, first string, rest func() error) error {
	rowLocks := s.d.lockSuffix != ""
	if rowLocks {
		if _, err := txLookup(ctx, tx, s.q.lockUser, userID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, first, userID); err != nil {
		return err
	}
	if !rowLocks {
		if _, err := txLookup(ctx, tx, s.q.lockUser, userID); err != nil {
			return err
		}
	}
	return rest()
}

// PutTOTP stores f, pending, as the user's TOTP factor, replacing a pending
// one, in one transaction queued on the user (see DeleteUser). It returns
// authkit.ErrConflict, changing nothing, when the user has a confirmed
// factor, which the primary key on authkit_totp.user_id keeps, and
// authkit.ErrNotFound when there is no such user. The factor is stored with
// confirmed_at NULL and last_step 0, whatever f holds.
//
// It returns an error wrapping authkit.ErrInvalidInput, storing nothing, for
// a Secret over 512 bytes or a KeyID over 64 bytes, not valid UTF-8 or
// holding NUL.
func (s *Store) PutTOTP(ctx context.Context, f authkit.TOTPFactor) error {
	if err := authkit.CheckTOTPFactor(f); err != nil {
		return fmt.Errorf("sqlstore: put totp: %w", err)
	}
	secret := f.Secret
	if secret == nil {
		secret = []byte{} // NULL otherwise
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.txUserWrite(ctx, tx, f.UserID, s.q.deletePendingTOTP, func() error {
			_, err := tx.ExecContext(ctx, s.q.putTOTP, f.UserID, secret, f.KeyID, s.d.timeArg(f.CreatedAt))
			if s.d.isUniqueViolation(err) {
				// Only a confirmed factor is left to collide with.
				return storeError{authkit.ErrConflict}
			}
			return err
		})
	})
	if err != nil {
		return wrap("put totp", err)
	}
	return nil
}

// TOTP returns the user's TOTP factor, pending or confirmed, or
// authkit.ErrNotFound. It runs one prepared query on the primary key.
func (s *Store) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	var f authkit.TOTPFactor
	err := s.queryRow(ctx, s.q.totp, userID).Scan(&f.UserID, &f.Secret, &f.KeyID,
		s.d.scanTime(&f.CreatedAt), s.d.scanTime(&f.ConfirmedAt), &f.LastStep)
	if err != nil {
		return authkit.TOTPFactor{}, wrap("totp", err)
	}
	return f, nil
}

// ConfirmTOTP marks the user's pending factor confirmed at `at`, with step as
// its LastStep, with one conditional UPDATE (… AND confirmed_at IS NULL). It
// returns authkit.ErrNotFound when the user has no factor or it is confirmed
// already, so of concurrent confirmations exactly one succeeds. A zero `at`
// would read back as pending: it is refused with an error wrapping
// authkit.ErrInvalidInput.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error {
	if at.IsZero() {
		return fmt.Errorf("sqlstore: confirm totp: %w: confirmed at the zero time", authkit.ErrInvalidInput)
	}
	n, err := s.exec(ctx, s.q.confirmTOTP, s.d.timeArg(at), step, userID)
	if err == nil && n == 0 {
		err = authkit.ErrNotFound
	}
	if err != nil {
		return wrap("confirm totp", err)
	}
	return nil
}

// UseTOTPStep moves the LastStep of the user's confirmed factor to step with
// one conditional UPDATE (… AND last_step < step), so that of concurrent
// calls with one step exactly one succeeds. It returns authkit.ErrConflict,
// changing nothing, when step is not greater than LastStep and
// authkit.ErrNotFound when the user has no confirmed factor.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	n, err := s.exec(ctx, s.q.useTOTPStep, step, userID, step)
	if err != nil {
		return wrap("use totp step", err)
	}
	if n == 1 {
		return nil
	}
	// Nothing matched: no confirmed factor, or a step already passed.
	var confirmed time.Time
	if err := s.queryRow(ctx, s.q.totpConfirmedAt, userID).Scan(s.d.scanTime(&confirmed)); err != nil {
		return wrap("use totp step", err)
	}
	if confirmed.IsZero() {
		return wrap("use totp step", authkit.ErrNotFound)
	}
	return wrap("use totp step", authkit.ErrConflict)
}

// DeleteTOTP deletes the user's TOTP factor and all their recovery codes in
// one transaction queued on the user. It is not an error if there are none,
// or if there is no such user.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.txUserWrite(ctx, tx, userID, s.q.deleteRecoveryCodes, func() error {
			_, err := tx.ExecContext(ctx, s.q.deleteTOTP, userID)
			return err
		})
	})
	if err != nil && !errors.Is(err, authkit.ErrNotFound) {
		return wrap("delete totp", err)
	}
	return nil
}

// ReplaceRecoveryCodes deletes all of the user's recovery codes and inserts
// unused ones of the given hashes, created at `at`, in one transaction queued
// on the user, so that of concurrent replacements the last leaves its whole
// set and nothing of the others. It returns authkit.ErrNotFound when there is
// no such user.
//
// It returns an error wrapping authkit.ErrInvalidInput, changing nothing,
// when a hash is empty, over 128 bytes, not valid UTF-8 or holds NUL, or two
// hashes are the same.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if err := authkit.CheckRecoveryCodeHashes(hashes); err != nil {
		return fmt.Errorf("sqlstore: replace recovery codes: %w", err)
	}
	created := s.d.timeArg(at)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.txUserWrite(ctx, tx, userID, s.q.deleteRecoveryCodes, func() error {
			for chunk := range slices.Chunk(hashes, codesPerInsert) {
				args := make([]any, 0, 3*len(chunk))
				for _, h := range chunk {
					args = append(args, userID, h, created)
				}
				if _, err := tx.ExecContext(ctx, s.d.insertRecoveryCodes(len(chunk)), args...); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return wrap("replace recovery codes", err)
	}
	return nil
}

// UseRecoveryCode marks the user's unused recovery code with hash used at
// `at` with one conditional UPDATE (… AND used_at IS NULL), so that of
// concurrent calls with one code exactly one succeeds; the others, and a
// call with a code that is unknown or used, get authkit.ErrNotFound.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	if err := authkit.CheckRecoveryCodeHashes([]string{hash}); err != nil {
		// No stored code has this hash; some engines would fail on it.
		return wrap("use recovery code", authkit.ErrNotFound)
	}
	// used_at is NOT NULL afterwards even for the zero time, which
	// timeArg writes as a value.
	n, err := s.exec(ctx, s.q.useRecoveryCode, s.d.timeArg(at), userID, hash)
	if err == nil && n == 0 {
		err = authkit.ErrNotFound
	}
	if err != nil {
		return wrap("use recovery code", err)
	}
	return nil
}

// RecoveryCodesLeft counts the user's unused recovery codes: 0 for a user
// with none, or no such user.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, s.q.recoveryCodesLeft, userID).Scan(&n); err != nil {
		return 0, wrap("recovery codes left", err)
	}
	return n, nil
}
