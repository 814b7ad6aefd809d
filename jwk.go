package authkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// JWK is a public key as RFC 7517 writes it. It never holds private members.
type JWK struct {
	KeyType   string `json:"kty"`
	KeyID     string `json:"kid,omitempty"`
	Algorithm string `json:"alg,omitempty"`
	Use       string `json:"use,omitempty"`
	Curve     string `json:"crv,omitempty"`
	X         string `json:"x,omitempty"`
	Y         string `json:"y,omitempty"`
	N         string `json:"n,omitempty"`
	E         string `json:"e,omitempty"`
}

// JWKSet is an RFC 7517 JWK Set.
type JWKSet struct {
	Keys []JWK `json:"keys"`
}

// thumbprint is the RFC 7638 SHA-256 thumbprint, base64url.
func (j JWK) thumbprint() string {
	var members any
	switch j.KeyType {
	case "OKP":
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Curve, j.KeyType, j.X}
	case "EC":
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Curve, j.KeyType, j.X, j.Y}
	default:
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.KeyType, j.N}
	}
	b, _ := json.Marshal(members)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PublicKey returns the key the JWK describes, as a verification-only Key
// with the JWK's kid. Symmetric ("oct") keys, other curves, RSA under 2048
// bits and a JWK whose "alg" contradicts its key type are refused. An
// Ed25519 key may name its algorithm "EdDSA" or, as RFC 9864 has it,
// "Ed25519"; it verifies tokens of either name.
func (j JWK) PublicKey() (*Key, error) {
	dec := base64.RawURLEncoding.DecodeString
	var public crypto.PublicKey
	switch {
	case j.KeyType == "OKP" && j.Curve == "Ed25519":
		x, err := dec(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("authkit: JWK %q: malformed Ed25519 key", j.KeyID)
		}
		public = ed25519.PublicKey(x)
	case j.KeyType == "EC" && j.Curve == "P-256":
		x, errX := dec(j.X)
		y, errY := dec(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("authkit: JWK %q: malformed P-256 key", j.KeyID)
		}
		pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("authkit: JWK %q: %w", j.KeyID, err)
		}
		public = pk
	case j.KeyType == "RSA":
		n, errN := dec(j.N)
		e, errE := dec(j.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("authkit: JWK %q: malformed RSA key", j.KeyID)
		}
		public = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	default:
		return nil, fmt.Errorf("authkit: JWK %q: unsupported key type %q", j.KeyID, j.KeyType)
	}
	if j.KeyID == "" {
		return nil, fmt.Errorf("authkit: JWK without kid")
	}
	k, err := NewVerificationKey(j.KeyID, public)
	if err != nil {
		return nil, err
	}
	if j.Algorithm != "" && !k.verifiesAlg(j.Algorithm) {
		return nil, fmt.Errorf("authkit: JWK %q: alg %q does not fit its key", j.KeyID, j.Algorithm)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("authkit: JWK %q: use %q is not sig", j.KeyID, j.Use)
	}
	return k, nil
}
