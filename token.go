package authkit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// accessTokenType is the "typ" header of access tokens (RFC 9068). Tokens of
// any other type are refused even when signed with the same key.
const accessTokenType = "at+jwt"

// errUnknownKeyID marks a token whose "kid" names no known key, so that a
// Verifier knows to look for new keys.
var errUnknownKeyID = errors.New("unknown key id")

// maxTokenBytes bounds the size of an access token the verifier will parse.
const maxTokenBytes = 8 << 10

// Claims are the claims of an access token. Subject ("sub") and UserID
// ("user_id", the seed design's claim) both hold the user's id.
type Claims struct {
	// UserID is the user's id, the same as Subject.
	UserID string `json:"user_id"`
	// Email is the user's normalized email when the token was issued.
	Email string `json:"email"`
	// SessionID ("sid") names the session the token was issued for.
	SessionID string `json:"sid,omitempty"`
	// TokenVersion ("ver") is the user's token version when the token was
	// issued; a token whose version is below the user's current one is
	// refused wherever the user is loaded.
	TokenVersion int64 `json:"ver"`
	jwt.RegisteredClaims
}

// keyring signs with one key and verifies with any of its keys, pinning each
// key's algorithm. It is immutable: rotation swaps in a new keyring.
type keyring struct {
	signing *Key // nil in a Verifier
	byID    map[string]*Key
	parser  *jwt.Parser
	jwks    JWKSet
}

// verifyRules are the claim checks of a keyring.
type verifyRules struct {
	issuer, audience string
	leeway           time.Duration
	now              func() time.Time
}

// newKeyring checks the keys and builds the parser. signing may be nil for
// a keyring that only verifies.
func newKeyring(signing *Key, verification []*Key, r verifyRules) (*keyring, error) {
	kr := &keyring{signing: signing, byID: map[string]*Key{}, jwks: JWKSet{Keys: []JWK{}}}
	keys := verification
	if signing != nil {
		if !signing.usable() {
			return nil, configError("the signing key is a zero Key; make keys with NewSigningKey, GenerateKey, ParseKeyPEM or NewHMACKey")
		}
		if !signing.CanSign() {
			return nil, configError("the signing key %q holds no private key", signing.id)
		}
		keys = append([]*Key{signing}, verification...)
	}
	if len(keys) == 0 {
		return nil, configError("no keys")
	}
	for _, k := range keys {
		if k == nil {
			return nil, configError("keys must not be nil")
		}
		if !k.usable() {
			return nil, configError("a verification key is a zero Key; make keys with NewVerificationKey, ParseKeyPEM, NewHMACKey or the other constructors")
		}
		if _, dup := kr.byID[k.id]; dup {
			return nil, configError("two keys share the id %q", k.id)
		}
		kr.byID[k.id] = k
		if jwk, ok := k.JWK(); ok {
			kr.jwks.Keys = append(kr.jwks.Keys, jwk)
		}
	}
	// Each key pins its own algorithm in keyFor; the list here only keeps
	// every other algorithm out before any key is looked at.
	kr.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{AlgHS256, AlgEdDSA, AlgES256, AlgRS256}),
		jwt.WithIssuer(r.issuer),
		jwt.WithAudience(r.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(r.leeway),
		jwt.WithTimeFunc(r.now),
	)
	return kr, nil
}

// configKeyring builds the keyring of a Config.
func configKeyring(c Config, signing *Key, verification []*Key) (*keyring, error) {
	if signing == nil {
		k, err := NewHMACKey("", c.Secret)
		if err != nil {
			return nil, err
		}
		signing = k
	}
	return newKeyring(signing, verification, verifyRules{c.Issuer, c.Audience, c.Leeway, c.Now})
}

// SetKeys rotates the keys of a running Authenticator: signing signs every
// token from now on, and tokens signed by any of verification (or signing)
// keep verifying. A token whose key is no longer listed is refused from the
// next request on. A nil signing key means the HS256 Config.Secret. It is
// safe to call while requests are being served.
func (a *Authenticator) SetKeys(signing *Key, verification ...*Key) error {
	kr, err := configKeyring(a.cfg, signing, verification)
	if err != nil {
		return err
	}
	a.keys.Store(kr)
	return nil
}

// JWKS returns the public keys that verify this Authenticator's tokens, as
// an RFC 7517 JWK Set, for other services to verify tokens without the
// secret. HS256 keys are never included: with only a shared secret, the set
// is empty.
func (a *Authenticator) JWKS() JWKSet {
	return a.keys.Load().jwks
}

// sign returns the signed compact JWT for claims.
func (kr *keyring) sign(claims *Claims) (string, error) {
	t := jwt.NewWithClaims(kr.signing.method, claims)
	t.Header["kid"] = kr.signing.id
	t.Header["typ"] = accessTokenType
	s, err := t.SignedString(kr.signing.sign)
	if err != nil {
		return "", fmt.Errorf("authkit: sign access token: %w", err)
	}
	return s, nil
}

// keyFor is the jwt.Keyfunc: the key named by "kid", only for the algorithm
// that key was made for. Headers that try to supply their own key (jku, x5u,
// jwk) are never looked at.
func (kr *keyring) keyFor(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, accessTokenType) {
		return nil, errors.New("not an access token")
	}
	kid, _ := t.Header["kid"].(string)
	k, ok := kr.byID[kid]
	if !ok {
		return nil, errUnknownKeyID
	}
	if t.Method.Alg() != k.method.Alg() {
		return nil, errors.New("algorithm does not match the key")
	}
	return k.verify, nil
}

// verify parses and checks an access token and returns its claims. The
// error wraps ErrTokenExpired or ErrInvalidToken.
func (kr *keyring) verify(token string) (*Claims, error) {
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: too large", ErrInvalidToken)
	}
	claims := new(Claims)
	_, err := kr.parser.ParseWithClaims(token, claims, kr.keyFor)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, errUnknownKeyID):
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, errUnknownKeyID)
	case err != nil:
		return nil, ErrInvalidToken
	case claims.UserID == "" || claims.Subject != claims.UserID:
		return nil, fmt.Errorf("%w: subject", ErrInvalidToken)
	}
	return claims, nil
}

// newAccessToken signs an access token for u in session sid.
func (a *Authenticator) newAccessToken(u User, sid string, now time.Time) (string, time.Time, error) {
	exp := now.Add(a.cfg.AccessTokenTTL)
	claims := &Claims{
		UserID:       u.ID,
		Email:        u.Email,
		SessionID:    sid,
		TokenVersion: u.TokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{a.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := a.keys.Load().sign(claims)
	return s, exp, err
}
