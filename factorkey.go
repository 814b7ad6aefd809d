package authkit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// FactorKey is a key that encrypts the secrets of second factors at rest
// (AES-256-GCM): the Store only ever sees them encrypted. ID names it in
// what it encrypts, so that a key can rotate: put the new key first in
// Config.FactorKeys and keep the old ones after it until no stored secret
// names them.
type FactorKey struct {
	// ID names the key: 1 to 64 bytes, unique among Config.FactorKeys.
	ID string
	// Key is 32 random bytes.
	Key []byte
}

// factorKeyBytes is the size of a FactorKey's Key (AES-256).
const factorKeyBytes = 32

// errNoFactorKey means a stored secret names a key Config.FactorKeys does
// not hold (any more).
var errNoFactorKey = errors.New("authkit: the key of a stored second factor is not in Config.FactorKeys")

// factorKeyring encrypts with the first of its keys and decrypts with any.
type factorKeyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// newFactorKeyring checks keys and builds their ciphers; no keys is a nil
// keyring, which leaves second factors off.
func newFactorKeyring(keys []FactorKey) (*factorKeyring, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	r := &factorKeyring{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		switch {
		case k.ID == "" || len(k.ID) > 64:
			return nil, configError("FactorKeys: each ID must be 1 to 64 bytes")
		case len(k.Key) != factorKeyBytes:
			return nil, configError("FactorKeys: key %q must be %d bytes", k.ID, factorKeyBytes)
		case r.aeads[k.ID] != nil:
			return nil, configError("FactorKeys: key id %q appears twice", k.ID)
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, configError("FactorKeys: %v", err)
		}
		if r.aeads[k.ID], err = cipher.NewGCM(block); err != nil {
			return nil, configError("FactorKeys: %v", err)
		}
	}
	return r, nil
}

// seal encrypts secret for userID under the current key, which it names.
// The user id is authenticated with it, so a ciphertext copied to another
// user's row does not open.
func (r *factorKeyring) seal(userID string, secret []byte) (ciphertext []byte, keyID string, err error) {
	aead := r.aeads[r.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("authkit: random: %w", err)
	}
	return aead.Seal(nonce, nonce, secret, []byte(userID)), r.current, nil
}

// open decrypts what seal encrypted for userID under keyID.
func (r *factorKeyring) open(userID string, ciphertext []byte, keyID string) ([]byte, error) {
	aead := r.aeads[keyID]
	if aead == nil {
		return nil, errNoFactorKey
	}
	if len(ciphertext) < aead.NonceSize() {
		return nil, errors.New("authkit: stored second factor is corrupt")
	}
	nonce, sealed := ciphertext[:aead.NonceSize()], ciphertext[aead.NonceSize():]
	secret, err := aead.Open(nil, nonce, sealed, []byte(userID))
	if err != nil {
		return nil, errors.New("authkit: stored second factor does not open")
	}
	return secret, nil
}
