package authkit

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// accessTokenType is the "typ" header of access tokens (RFC 9068 §2.1).
// Tokens of any other type are refused even when signed with the same key.
const accessTokenType = "at+jwt"

// errUnknownKeyID marks a token whose "kid" names no known key, so that a
// Verifier knows to look for new keys.
var errUnknownKeyID = errors.New("unknown key id")

// maxTokenBytes bounds the size of an access token the verifier will parse.
const maxTokenBytes = 8 << 10

// Claims are the claims of an access token, those RFC 9068 §2.2 requires
// and the kit's own. Subject ("sub") and UserID ("user_id", the seed
// design's claim) both hold the user's id. The embedded RegisteredClaims
// carry "iss" (Config.Issuer), "sub", "aud" (Config.Audience), "exp",
// "iat" and "jti" (ID: 128 random bits, unique to each token, so that a
// service can tell tokens apart, log them or refuse one it has seen).
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
	// ClientID ("client_id", RFC 9068 §2.2) names the OAuth client the
	// token was issued to. authkit's clients are the service's own front
	// ends, which sign in through its API under one identity, so it is the
	// token's audience: Config.Audience. Tokens issued before authkit wrote
	// it carry none; it is not required when verifying.
	ClientID string `json:"client_id,omitempty"`
	// AuthMethods ("amr", RFC 8176) say how the user proved who they are
	// when the session began, such as ["pwd"]; AuthTime ("auth_time", as
	// in OpenID Connect) is when. Every token of a session carries its
	// session's, refreshes included. Tokens of sessions begun before
	// authkit recorded them carry neither.
	AuthMethods []string         `json:"amr,omitempty"`
	AuthTime    *jwt.NumericDate `json:"auth_time,omitempty"`
	jwt.RegisteredClaims

	// payload is the verified token's JSON claims, from which Custom reads
	// the host's own.
	payload []byte
}

// keyring signs with one key and verifies with any of its keys, pinning each
// key's algorithm. It is immutable: rotation swaps in a new keyring.
type keyring struct {
	signing *Key // nil in a Verifier
	byID    map[string]*Key
	claims  *jwt.Validator
	jwks    JWKSet
	// verified remembers the tokens that verified here (nil: no cache).
	verified *tokenCache
}

// verifyRules are the claim checks of a keyring.
type verifyRules struct {
	issuer, audience string
	leeway           time.Duration
	now              func() time.Time
	// cacheBytes bounds the cache of verified tokens (tokenCache): zero
	// for DefaultTokenCacheBytes, below zero for none.
	cacheBytes int
}

// newKeyring checks the keys and builds the claim checks. signing may be
// nil for a keyring that only verifies, and a Verifier's keyring may hold
// no key at all: it then refuses every token.
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
	// The algorithm is never looked up by the token's "alg": each key
	// verifies with its own (verify), so none of golang-jwt's registry of
	// methods, and only its claim checks, are used here.
	kr.claims = jwt.NewValidator(
		jwt.WithIssuer(r.issuer),
		jwt.WithAudience(r.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(r.leeway),
		jwt.WithTimeFunc(r.now),
	)
	kr.verified = newTokenCache(r.cacheBytes, r.leeway, r.now)
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
	return newKeyring(signing, verification, verifyRules{c.Issuer, c.Audience, c.Leeway, c.Now, c.TokenCacheBytes})
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

// sign returns the signed compact JWT for claims and custom, the host's
// claims as a JSON object (nil for none).
func (kr *keyring) sign(claims *Claims, custom []byte) (string, error) {
	var c jwt.Claims = claims
	if custom != nil {
		c = withCustom{claims, custom}
	}
	t := jwt.NewWithClaims(kr.signing.method, c)
	t.Header["kid"] = kr.signing.id
	t.Header["typ"] = accessTokenType
	s, err := t.SignedString(kr.signing.sign)
	if err != nil {
		return "", fmt.Errorf("authkit: sign access token: %w", err)
	}
	return s, nil
}

// b64 decodes the parts of a compact JWS: base64url without padding,
// refusing nonzero bits after the last byte (RFC 4648 §3.5).
var b64 = base64.RawURLEncoding.Strict()

// decodePart decodes one part of a compact JWS and accepts only the one
// encoding RFC 7515 §2 allows for its bytes: the base64url alphabet, no
// padding, no line breaks or other characters (Go's decoder would skip
// "\r" and "\n"), and no stray bits after the last byte. Any other
// spelling of a genuine token, its signature included, is refused, so a
// token has one spelling: the one its issuer wrote. (An ECDSA signature
// (r, s) has a twin, (r, n−s), that verifies too; so an ES256 token has a
// second form that only its signature's bytes tell apart. Nothing here
// keys on a token's string: a host that keeps lists of tokens should key
// them on the jti claim.)
func decodePart(s string) ([]byte, bool) {
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	b, err := b64.DecodeString(s)
	return b, err == nil
}

// joseHeader is the part of an access token's JOSE header that is read.
type joseHeader struct {
	alg, kid, typ string
}

// parseHeader reads the JOSE header. Member names match exactly, as RFC
// 7515 §4 has them case-sensitive. A header with "crit" is refused: it
// names extensions that the recipient must understand or reject the token
// (RFC 7515 §4.1.11), and authkit understands none. Members that would
// supply a key (jwk, jku, x5u, x5c) are never read.
func parseHeader(raw []byte) (joseHeader, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return joseHeader{}, errors.New("malformed header")
	}
	if _, ok := m["crit"]; ok {
		return joseHeader{}, errors.New("crit header")
	}
	var h joseHeader
	for _, member := range [...]struct {
		name string
		dst  *string
	}{{"alg", &h.alg}, {"kid", &h.kid}, {"typ", &h.typ}} {
		if v, ok := m[member.name]; ok && !jsonString(v, member.dst) {
			return joseHeader{}, fmt.Errorf("malformed %q header", member.name)
		}
	}
	return h, nil
}

// jsonString decodes raw, a JSON value that json.Unmarshal found valid,
// into dst if it is a string, as json.Unmarshal would. A string without
// escapes and of valid UTF-8, as header members are, is its bytes between
// the quotes; others go through json.Unmarshal.
func jsonString(raw json.RawMessage, dst *string) bool {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		s := raw[1 : n-1]
		if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			*dst = string(s)
			return true
		}
	}
	return json.Unmarshal(raw, dst) == nil
}

// isAccessTokenType reports whether typ names the media type
// "application/at+jwt", as RFC 9068 §4 requires of access tokens: compared
// as media types are, without regard to ASCII case, and with the
// "application/" prefix optional (RFC 7515 §4.1.9). "at+jwt",
// "AT+JWT" and "application/at+jwt" pass; "JWT", "at+jwt; x=y" and a
// missing typ do not.
func isAccessTokenType(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && asciiEqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return asciiEqualFold(typ, accessTokenType)
}

// asciiEqualFold is strings.EqualFold for ASCII letters only, so that no
// Unicode folding (such as "K", the Kelvin sign, as "k") lets another
// string through.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	lower := func(c byte) byte {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// verify parses and checks an access token and returns its claims. The
// error wraps ErrTokenExpired or ErrInvalidToken (and errUnknownKeyID when
// "kid" names no key here).
//
// The token is taken apart here rather than by golang-jwt's parser, whose
// registry of algorithms is shared by the whole process: the key named by
// "kid" verifies with its own algorithm, which the header must name, and
// only golang-jwt's signature primitives and claim checks are used. The
// signature is checked before the claims are decoded.
//
// A token that verified before is answered from the keyring's cache
// (tokenCache) while it is within its validity, with a copy of its claims.
func (kr *keyring) verify(token string) (*Claims, error) {
	invalid := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, why) }
	if len(token) > maxTokenBytes {
		return nil, invalid("too large")
	}
	if kr.verified != nil {
		if claims, ok := kr.verified.get(token); ok {
			return claims, nil
		}
	}
	claims, err := kr.verifyFully(token, invalid)
	if err == nil && kr.verified != nil {
		// A copy: the token may be a slice of a far larger string (the
		// whole header it came in), which the cache must not keep alive.
		kr.verified.put(strings.Clone(token), claims.clone())
	}
	return claims, err
}

// verifyFully is verify without the cache.
func (kr *keyring) verifyFully(token string, invalid func(why string) error) (*Claims, error) {
	header64, rest, ok1 := strings.Cut(token, ".")
	payload64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig64, ".") {
		return nil, invalid("not a compact JWS")
	}
	rawHeader, ok := decodePart(header64)
	if !ok {
		return nil, invalid("header encoding")
	}
	h, err := parseHeader(rawHeader)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if !isAccessTokenType(h.typ) {
		return nil, invalid("not an access token")
	}
	k, ok := kr.byID[h.kid]
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, errUnknownKeyID)
	}
	if !k.verifiesAlg(h.alg) {
		return nil, invalid("algorithm does not match the key")
	}
	sig, ok := decodePart(sig64)
	if !ok {
		return nil, invalid("signature encoding")
	}
	if k.method.Verify(token[:len(header64)+1+len(payload64)], sig, k.verify) != nil {
		return nil, invalid("signature")
	}
	rawClaims, ok := decodePart(payload64)
	if !ok {
		return nil, invalid("payload encoding")
	}
	claims := &Claims{payload: rawClaims}
	if json.Unmarshal(rawClaims, claims) != nil {
		return nil, invalid("malformed claims")
	}
	if err := kr.claims.Validate(claims); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	switch {
	case claims.IssuedAt == nil:
		return nil, invalid("no iat")
	case claims.UserID == "" || claims.Subject != claims.UserID:
		return nil, invalid("subject")
	}
	return claims, nil
}

// newAccessToken signs an access token for u in session s, with custom,
// the host's claims for it (customClaims).
func (a *Authenticator) newAccessToken(u User, s Session, custom []byte, now time.Time) (string, time.Time, error) {
	exp := now.Add(a.cfg.AccessTokenTTL)
	claims := &Claims{
		UserID:       u.ID,
		Email:        u.Email,
		SessionID:    s.ID,
		TokenVersion: u.TokenVersion,
		ClientID:     a.cfg.Audience,
		AuthMethods:  s.AuthMethods,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Issuer,
			Subject:   u.ID,
			ID:        rand.Text(),
			Audience:  jwt.ClaimStrings{a.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	if !s.AuthTime.IsZero() {
		claims.AuthTime = jwt.NewNumericDate(s.AuthTime)
	}
	signed, err := a.keys.Load().sign(claims, custom)
	return signed, exp, err
}
