package authkit

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The limits of what a FactorStore must keep of a second factor: the SQL
// Store's columns, the same on every engine. The Authenticator never goes
// beyond them; a Store refuses what does, so that a host that tests
// against memstore meets them before production does.
const (
	// MaxTOTPSecretBytes is the longest TOTPFactor.Secret.
	MaxTOTPSecretBytes = 512
	// MaxTOTPKeyIDBytes is the longest TOTPFactor.KeyID.
	MaxTOTPKeyIDBytes = 64
	// MaxRecoveryCodeHashBytes is the longest recovery code hash.
	MaxRecoveryCodeHashBytes = 128
)

// CheckTOTPFactor returns an error wrapping ErrInvalidInput when f is
// beyond what a FactorStore keeps: a Secret over MaxTOTPSecretBytes, or a
// KeyID over MaxTOTPKeyIDBytes, not valid UTF-8 or holding NUL (which
// PostgreSQL's text refuses). Stores call it in PutTOTP.
func CheckTOTPFactor(f TOTPFactor) error {
	switch {
	case len(f.Secret) > MaxTOTPSecretBytes:
		return fmt.Errorf("%w: TOTP secret of %d bytes, over %d", ErrInvalidInput, len(f.Secret), MaxTOTPSecretBytes)
	case len(f.KeyID) > MaxTOTPKeyIDBytes:
		return fmt.Errorf("%w: TOTP key id of %d bytes, over %d", ErrInvalidInput, len(f.KeyID), MaxTOTPKeyIDBytes)
	case !utf8.ValidString(f.KeyID) || strings.ContainsRune(f.KeyID, 0):
		return fmt.Errorf("%w: TOTP key id is not UTF-8 or holds NUL", ErrInvalidInput)
	}
	return nil
}

// CheckRecoveryCodeHashes returns an error wrapping ErrInvalidInput when a
// hash is beyond what a FactorStore keeps (empty, over
// MaxRecoveryCodeHashBytes, not valid UTF-8 or holding NUL) or two are the
// same. Stores call it in ReplaceRecoveryCodes and UseRecoveryCode.
func CheckRecoveryCodeHashes(hashes []string) error {
	seen := make(map[string]struct{}, len(hashes))
	for _, h := range hashes {
		if h == "" || len(h) > MaxRecoveryCodeHashBytes || !utf8.ValidString(h) || strings.ContainsRune(h, 0) {
			return fmt.Errorf("%w: a recovery code hash is empty, over %d bytes, not UTF-8 or holds NUL", ErrInvalidInput, MaxRecoveryCodeHashBytes)
		}
		if _, ok := seen[h]; ok {
			return fmt.Errorf("%w: recovery code hashes repeat", ErrInvalidInput)
		}
		seen[h] = struct{}{}
	}
	return nil
}
