package authkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// The signing algorithms the kit supports, by their JWS names.
const (
	AlgHS256 = "HS256" // HMAC with SHA-256: one shared secret signs and verifies
	AlgEdDSA = "EdDSA" // Ed25519: small, fast, the best default for new systems
	AlgES256 = "ES256" // ECDSA on P-256 with SHA-256
	AlgRS256 = "RS256" // RSA PKCS#1 v1.5 with SHA-256, 2048 bits or more
)

// AlgEd25519 is the fully-specified name of EdDSA on Ed25519 (RFC 9864),
// which deprecates the polymorphic "EdDSA". Keys made by the kit still sign
// as AlgEdDSA, which every verifier knows; an Ed25519 key verifies tokens
// whose "alg" is either name, and a JWK whose "alg" is either name is
// accepted as an Ed25519 key. Both names mean the same computation on the
// same key, so accepting both confuses no algorithm with another.
const AlgEd25519 = "Ed25519"

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// Key is a key that signs or verifies access tokens, named by an id that
// goes into the token's "kid" header so that keys can rotate.
type Key struct {
	id     string
	method jwt.SigningMethod
	sign   any // the private key or HMAC secret
	verify any // the public key or HMAC secret
}

// NewHMACKey returns an HS256 key with the given id. The secret must be at
// least 32 bytes of random data; anyone who knows it can mint tokens. If id
// is empty, it is derived from the secret (one-way) as Config.Secret's is,
// so the key of a former Config.Secret, listed in VerificationKeys, keeps
// verifying the tokens that secret signed.
func NewHMACKey(id string, secret []byte) (*Key, error) {
	if len(secret) < minSecretBytes {
		return nil, configError("HS256 secret must be at least %d bytes", minSecretBytes)
	}
	if id == "" {
		id = secretKeyID(secret)
	}
	s := append([]byte(nil), secret...)
	return &Key{id: id, method: jwt.SigningMethodHS256, sign: s, verify: s}, nil
}

// ID returns the key id written to the "kid" header.
func (k *Key) ID() string {
	if k == nil {
		return ""
	}
	return k.id
}

// Algorithm returns the JWS algorithm name, such as "HS256", or "" for a
// nil or zero Key.
func (k *Key) Algorithm() string {
	if !k.usable() {
		return ""
	}
	return k.method.Alg()
}

// verifiesAlg reports whether a token whose header names alg may be
// verified with k: alg must be k's own algorithm (or, for an Ed25519 key,
// its RFC 9864 name). The algorithm is the key's, never the token's.
func (k *Key) verifiesAlg(alg string) bool {
	return alg == k.method.Alg() || (k.method == jwt.SigningMethodEdDSA && alg == AlgEd25519)
}

// usable reports whether k came from one of the constructors (NewHMACKey,
// NewSigningKey, NewVerificationKey, GenerateKey, ParseKeyPEM): a nil or
// zero Key holds no key and can neither sign nor verify.
func (k *Key) usable() bool {
	return k != nil && k.method != nil && k.verify != nil
}

// secretKeyID derives a key id from an HS256 secret, so that two different
// secrets never share an id. The id reveals nothing useful about the secret.
func secretKeyID(secret []byte) string {
	sum := sha256.Sum256(append([]byte("authkit key id\x00"), secret...))
	return "hs-" + base64.RawURLEncoding.EncodeToString(sum[:9])
}

// NewSigningKey returns a key that signs (and verifies) with private: an
// ed25519.PrivateKey (EdDSA), an *ecdsa.PrivateKey on P-256 (ES256) or an
// *rsa.PrivateKey of at least 2048 bits (RS256). The algorithm follows from
// the key. If id is empty, the key's RFC 7638 thumbprint is used.
func NewSigningKey(id string, private crypto.Signer) (*Key, error) {
	var method jwt.SigningMethod
	switch p := private.(type) {
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return nil, configError("malformed Ed25519 private key")
		}
		method = jwt.SigningMethodEdDSA
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, configError("ECDSA keys must be on P-256 (ES256)")
		}
		method = jwt.SigningMethodES256
	case *rsa.PrivateKey:
		if p.N.BitLen() < minRSABits {
			return nil, configError("RSA keys must have at least %d bits", minRSABits)
		}
		method = jwt.SigningMethodRS256
	default:
		return nil, configError("unsupported private key type %T", private)
	}
	k := &Key{id: id, method: method, sign: private, verify: private.Public()}
	return k.withID()
}

// NewVerificationKey returns a key that only verifies, from an
// ed25519.PublicKey, an *ecdsa.PublicKey on P-256 or an *rsa.PublicKey of at
// least 2048 bits. If id is empty, the key's RFC 7638 thumbprint is used.
func NewVerificationKey(id string, public crypto.PublicKey) (*Key, error) {
	var method jwt.SigningMethod
	switch p := public.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, configError("malformed Ed25519 public key")
		}
		method = jwt.SigningMethodEdDSA
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, configError("ECDSA keys must be on P-256 (ES256)")
		}
		method = jwt.SigningMethodES256
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, configError("RSA keys must have at least %d bits", minRSABits)
		}
		method = jwt.SigningMethodRS256
	default:
		return nil, configError("unsupported public key type %T", public)
	}
	k := &Key{id: id, method: method, verify: public}
	return k.withID()
}

// GenerateKey makes a new signing key for alg (AlgEdDSA, AlgES256 or
// AlgRS256, the last with 2048 bits). Keep its PEM (Key.MarshalPEM) safe:
// tokens signed with a key lost at restart no longer verify.
func GenerateKey(id, alg string) (*Key, error) {
	var private crypto.Signer
	var err error
	switch alg {
	case AlgEdDSA:
		_, private, err = ed25519.GenerateKey(rand.Reader)
	case AlgES256:
		private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		private, err = rsa.GenerateKey(rand.Reader, minRSABits)
	default:
		return nil, configError("cannot generate a key for algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("authkit: generate %s key: %w", alg, err)
	}
	return NewSigningKey(id, private)
}

// ParseKeyPEM reads a key from PEM. A private key gives a signing key: PKCS#8
// ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY", as openssl genrsa writes
// it) or SEC 1 ("EC PRIVATE KEY", as openssl ecparam -genkey writes it).
// A public key gives a verification-only key: PKIX ("PUBLIC KEY") or
// PKCS#1 ("RSA PUBLIC KEY"). The algorithm follows from the key. If id is
// empty, the key's RFC 7638 thumbprint is used.
func ParseKeyPEM(id string, data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, configError("no PEM block found")
	}
	var (
		private any
		public  any
		err     error
	)
	switch block.Type {
	case "PRIVATE KEY":
		private, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		private, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		private, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY":
		public, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		public, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, configError("PEM block %q: want a private key (PKCS#8, PKCS#1 or SEC 1) or a public key (PKIX or PKCS#1)", block.Type)
	}
	if err != nil {
		return nil, configError("parse %s: %v", block.Type, err)
	}
	if public != nil {
		return NewVerificationKey(id, public)
	}
	signer, ok := private.(crypto.Signer)
	if !ok {
		return nil, configError("unsupported private key type %T", private)
	}
	return NewSigningKey(id, signer)
}

// MarshalPEM returns the key in PEM: PKCS#8 for a signing key, PKIX for a
// verification-only key. HS256 keys have no PEM form.
func (k *Key) MarshalPEM() ([]byte, error) {
	if !k.usable() {
		return nil, fmt.Errorf("authkit: a zero Key has no PEM form")
	}
	if k.method == jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("authkit: an HS256 key has no PEM form")
	}
	if k.sign != nil {
		der, err := x509.MarshalPKCS8PrivateKey(k.sign)
		if err != nil {
			return nil, fmt.Errorf("authkit: marshal private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.verify)
	if err != nil {
		return nil, fmt.Errorf("authkit: marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Public returns the public key, or nil for an HS256 key (which has none)
// and for a zero Key.
func (k *Key) Public() crypto.PublicKey {
	if !k.usable() || k.method == jwt.SigningMethodHS256 {
		return nil
	}
	return k.verify
}

// CanSign reports whether the key holds a private key or secret.
func (k *Key) CanSign() bool { return k.usable() && k.sign != nil }

// withID fills in the thumbprint id when none was given.
func (k *Key) withID() (*Key, error) {
	if k.id == "" {
		jwk, _ := k.JWK()
		k.id = jwk.thumbprint()
	}
	return k, nil
}

// JWK returns the public half of the key as a JWK with use "sig". ok is
// false for HS256 keys (a shared secret is never published) and for a zero
// Key.
func (k *Key) JWK() (jwk JWK, ok bool) {
	if !k.usable() {
		return JWK{}, false
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwk = JWK{KeyID: k.id, Algorithm: k.method.Alg(), Use: "sig"}
	switch p := k.verify.(type) {
	case ed25519.PublicKey:
		jwk.KeyType, jwk.Curve, jwk.X = "OKP", "Ed25519", b64(p)
	case *ecdsa.PublicKey:
		pt, err := p.Bytes() // 0x04 || X || Y, fixed width
		if err != nil {
			return JWK{}, false
		}
		jwk.KeyType, jwk.Curve, jwk.X, jwk.Y = "EC", "P-256", b64(pt[1:33]), b64(pt[33:])
	case *rsa.PublicKey:
		jwk.KeyType, jwk.N, jwk.E = "RSA", b64(p.N.Bytes()), b64(big.NewInt(int64(p.E)).Bytes())
	default:
		return JWK{}, false
	}
	return jwk, true
}
