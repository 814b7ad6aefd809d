package authkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// PasswordHasher hashes and checks passwords. Implementations must be safe
// for concurrent use. The Authenticator bounds how many calls run at once.
//
// The Authenticator hands Hash every password in its NFKC form (Unicode
// compatibility normalization, as NIST SP 800-63B recommends), never over
// MaxPasswordBytes bytes. Verify gets the NFKC form of the password given
// and, when that fails and the password as given differs from it, the
// password as given, which is what hashes made before authkit normalized
// passwords hold.
type PasswordHasher interface {
	// Hash returns an encoded hash of password.
	Hash(password string) (string, error)
	// Verify reports whether password matches hash. It returns an error
	// only when hash is unusable (corrupt, or beyond the hasher's limits),
	// never for a plain mismatch.
	Verify(hash, password string) (bool, error)
	// NeedsRehash reports whether hash should be replaced by a fresh one,
	// for example because its cost differs from the configured cost.
	NeedsRehash(hash string) bool
}

// ErrCorruptHash is returned by Verify when a stored hash cannot be used.
var ErrCorruptHash = errors.New("authkit: stored password hash is unusable")

// DefaultMaxBcryptCost is the highest bcrypt cost BcryptHasher computes
// unless told otherwise: a hash of a higher cost (an import gone wrong, or a
// hostile one) would pin a CPU for seconds on every login.
const DefaultMaxBcryptCost = 14

// BcryptHasher is the default PasswordHasher. It produces "$2a$" hashes and
// verifies "$2a$", "$2b$" and "$2y$" ones, so a database of passlib or PHP
// hashes works as it is.
type BcryptHasher struct {
	// Cost is the cost of new hashes; bcrypt.MinCost (4) to 31.
	Cost int
	// MaxCost is the highest cost Verify will compute. If zero,
	// max(DefaultMaxBcryptCost, Cost).
	MaxCost int
}

// Hash returns the bcrypt hash of password. Passwords over 72 bytes are
// refused rather than silently truncated.
func (h BcryptHasher) Hash(password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("%w: password over %d bytes", ErrInvalidInput, MaxPasswordBytes)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.Cost)
	if err != nil {
		return "", fmt.Errorf("authkit: hash password: %w", err)
	}
	return string(b), nil
}

// Verify reports whether password matches the bcrypt hash.
func (h BcryptHasher) Verify(hash, password string) (bool, error) {
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrCorruptHash, err)
	}
	if cost > h.maxCost() {
		return false, fmt.Errorf("%w: cost %d above the maximum %d", ErrCorruptHash, cost, h.maxCost())
	}
	err = bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: %v", ErrCorruptHash, err)
	}
}

// NeedsRehash reports whether hash has a cost other than h.Cost.
func (h BcryptHasher) NeedsRehash(hash string) bool {
	cost, err := bcrypt.Cost([]byte(hash))
	return err == nil && cost != h.Cost
}

func (h BcryptHasher) maxCost() int {
	if h.MaxCost != 0 {
		return h.MaxCost
	}
	return max(DefaultMaxBcryptCost, h.Cost)
}

// hashPassword hashes the NFKC form of password (see normalizePassword)
// under the concurrency bound.
func (a *Authenticator) hashPassword(ctx context.Context, password string) (string, error) {
	if err := a.acquireHash(ctx); err != nil {
		return "", err
	}
	defer a.releaseHash()
	return a.hasher.Hash(normalizePassword(password))
}

// verifyPassword reports whether password matches hash, checking under the
// concurrency bound as matchPassword does.
func (a *Authenticator) verifyPassword(ctx context.Context, hash, password string) (bool, error) {
	ok, _, err := a.matchPassword(ctx, hash, password)
	return ok, err
}

// matchPassword reports whether password matches hash. It compares the
// NFKC form of password, the form hashPassword hashes; when that does not
// match and the password as given is another string, it compares that
// too, since a hash made before authkit normalized passwords holds the
// password as it was typed. legacy reports a match of that second form
// only: the hash should then be replaced by one of the NFKC form, after
// which either spelling works.
//
// The second comparison depends on the password alone, never on the hash
// or the account, so a password that is not in NFKC form costs two
// comparisons alike against a user's hash and against the dummy hash of an
// unknown email: an unknown email still costs what a wrong password does.
// Neither comparison is made with a form over MaxPasswordBytes, which
// bcrypt would silently truncate (no stored hash holds one), and none at
// all for a password over maxGivenPasswordBytes. Both run under one
// hashing slot.
func (a *Authenticator) matchPassword(ctx context.Context, hash, password string) (ok, legacy bool, err error) {
	if len(password) > maxGivenPasswordBytes {
		return false, false, nil
	}
	if err := a.acquireHash(ctx); err != nil {
		return false, false, err
	}
	defer a.releaseHash()
	normalized := normalizePassword(password)
	if len(normalized) <= MaxPasswordBytes {
		if ok, err := a.hasher.Verify(hash, normalized); ok || err != nil {
			return ok, false, err
		}
	}
	if password == normalized || len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	ok, err = a.hasher.Verify(hash, password)
	return ok, ok, err
}

// acquireHash takes a hashing slot, waiting at most MaxHashWait and never
// past ctx. It reports the wait, and a refusal, to Config.Observer.HashWait.
func (a *Authenticator) acquireHash(ctx context.Context) (err error) {
	select {
	case a.hashSlots <- struct{}{}:
		a.observeHashWait(ctx, time.Time{}, nil)
		return nil
	default:
	}
	started := time.Now()
	defer func() { a.observeHashWait(ctx, started, err) }()
	wait := time.NewTimer(a.cfg.MaxHashWait)
	defer wait.Stop()
	select {
	case a.hashSlots <- struct{}{}:
		return nil
	case <-wait.C:
		return fmt.Errorf("%w: no password hashing slot within %s", ErrBusy, a.cfg.MaxHashWait)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (a *Authenticator) releaseHash() { <-a.hashSlots }
