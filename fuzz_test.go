package authkit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/authkit/authkit"
)

// The fuzz targets of the root package. Each states, in its doc comment,
// the property it checks; each fails on a wrong answer, not only on a
// panic. Inputs run one at a time within a process, so a target's fixture
// (an Authenticator, a live session) is shared by its inputs without
// locks. .ci/fuzz runs every target for a short time; the seed corpora
// under testdata/fuzz run with every go test.

// fuzzIssuer is the issuer and audience of newKit's Authenticators: its
// BaseURL.
const fuzzIssuer = "https://app.example.com"

// fuzzEd25519Seed makes the fixed Ed25519 key whose tokens are in the seed
// corpus; fuzzEdKeyID is its key id.
var fuzzEd25519Seed = sha256.Sum256([]byte("authkit fuzz Ed25519 key, tests only"))

const fuzzEdKeyID = "fuzz-eddsa"

// quietKit is the newKit change that keeps a long fuzz run's memory flat:
// no event list and no log buffer that grow with every input.
func quietKit(c *authkit.Config) {
	c.OnEvent = nil
	c.Logger = nil
}

// tokenFixture is an Authenticator that signs with one key, a Verifier of
// the same key, and what the test needs to sign and check tokens on its
// own, without the kit's code.
type tokenFixture struct {
	alg      string
	kit      *kit
	verifier *authkit.Verifier
	// kid, method and signKey sign tokens as the kit does (resign).
	kid     string
	method  jwt.SigningMethod
	signKey any
	// checkSig verifies a signature with the standard library alone.
	checkSig func(input, sig []byte) bool
	// token is a genuine access token, and claims its claims.
	token  string
	claims *authkit.Claims
}

// newTokenFixture builds the fixture of alg (AlgHS256 with testSecret,
// AlgEdDSA with the fixed seed key, AlgES256 with a fresh key) and signs
// up a user whose access token it keeps.
func newTokenFixture(t testing.TB, alg string) *tokenFixture {
	t.Helper()
	fx := &tokenFixture{alg: alg}
	var signing, verifying *authkit.Key
	var err error
	switch alg {
	case authkit.AlgHS256:
		signing, err = authkit.NewHMACKey("", testSecret)
		require.NoError(t, err)
		verifying, fx.method, fx.signKey = signing, jwt.SigningMethodHS256, testSecret
		fx.checkSig = func(input, sig []byte) bool {
			mac := hmac.New(sha256.New, testSecret)
			mac.Write(input)
			return hmac.Equal(mac.Sum(nil), sig)
		}
		signing = nil // the kit signs with Config.Secret
	case authkit.AlgEdDSA:
		priv := ed25519.NewKeyFromSeed(fuzzEd25519Seed[:])
		pub := priv.Public().(ed25519.PublicKey)
		signing, err = authkit.NewSigningKey(fuzzEdKeyID, priv)
		require.NoError(t, err)
		verifying, err = authkit.NewVerificationKey(fuzzEdKeyID, pub)
		require.NoError(t, err)
		fx.method, fx.signKey = jwt.SigningMethodEdDSA, priv
		fx.checkSig = func(input, sig []byte) bool { return ed25519.Verify(pub, input, sig) }
	case authkit.AlgES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		signing, err = authkit.NewSigningKey("fuzz-es256", priv)
		require.NoError(t, err)
		verifying, err = authkit.NewVerificationKey("fuzz-es256", &priv.PublicKey)
		require.NoError(t, err)
		fx.method, fx.signKey = jwt.SigningMethodES256, priv
		fx.checkSig = func(input, sig []byte) bool {
			if len(sig) != 64 {
				return false
			}
			sum := sha256.Sum256(input)
			return ecdsa.Verify(&priv.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		}
	default:
		t.Fatalf("no fixture for %s", alg)
	}
	fx.kid = verifying.ID()
	fx.kit = newKit(t, func(c *authkit.Config) {
		quietKit(c)
		c.SigningKey = signing
	})
	fx.verifier, err = authkit.NewVerifier(context.Background(), authkit.VerifierConfig{
		Keys: []*authkit.Key{verifying}, Issuer: fuzzIssuer, Audience: fuzzIssuer, Now: fx.kit.clock.Now,
	})
	require.NoError(t, err, "NewVerifier")
	tok, _ := fx.kit.register(t, "fuzz-"+strings.ToLower(alg)+"@example.com", pw)
	fx.token = tok.AccessToken
	fx.claims, err = fx.kit.VerifyAccessToken(context.Background(), fx.token)
	require.NoError(t, err, "VerifyAccessToken of a token just issued")
	return fx
}

// resign signs claims with the fixture's key as the kit signs access
// tokens: its algorithm, its "kid", typ "at+jwt".
func (fx *tokenFixture) resign(t testing.TB, claims *authkit.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(fx.method, claims)
	tok.Header["kid"] = fx.kid
	tok.Header["typ"] = "at+jwt"
	s, err := tok.SignedString(fx.signKey)
	require.NoError(t, err, "sign claims again")
	return s
}

// verifyBoth verifies token with the Authenticator and with the Verifier
// of the same key, and fails t unless they agree: both refuse, with the
// same documented error (ErrTokenExpired or else ErrInvalidToken), or
// both accept, with equal claims. It returns the Authenticator's answer.
func (fx *tokenFixture) verifyBoth(t *testing.T, token string) (*authkit.Claims, error) {
	t.Helper()
	ctx := context.Background()
	claims, err := fx.kit.VerifyAccessToken(ctx, token)
	vclaims, verr := fx.verifier.Verify(ctx, token)
	if err != nil {
		require.Truef(t, errors.Is(err, authkit.ErrInvalidToken) || errors.Is(err, authkit.ErrTokenExpired),
			"%s VerifyAccessToken(%q) = %v: not one of the documented errors", fx.alg, token, err)
		require.Nil(t, claims, "claims beside an error")
		require.Errorf(t, verr, "%s: Verifier accepts %q, which the Authenticator refuses (%v)", fx.alg, token, err)
		require.Equalf(t, errors.Is(err, authkit.ErrTokenExpired), errors.Is(verr, authkit.ErrTokenExpired),
			"%s: Authenticator (%v) and Verifier (%v) refuse %q differently", fx.alg, err, verr, token)
		return nil, err
	}
	require.NoErrorf(t, verr, "%s: Verifier refuses %q, which the Authenticator accepts", fx.alg, token)
	require.Equal(t, claims, vclaims, "%s: Authenticator and Verifier read different claims from %q", fx.alg, token)
	return claims, nil
}

// checkGenuine fails t unless an accepted token is what the kit promises
// to accept, judged without the kit's code: three canonical base64url
// parts; a header naming the key's algorithm, its kid and the type
// at+jwt, without "crit"; a signature the standard library verifies over
// the first two parts; and claims with the issuer, the audience, a
// subject that is the user id, an "exp" not passed and an "iat" and "nbf"
// not in the future (each with the leeway).
func (fx *tokenFixture) checkGenuine(t *testing.T, token string, c *authkit.Claims) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "an accepted token %q is a compact JWS", token)
	raw := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		require.NoError(t, err, "part %d of accepted token %q is base64url", i, token)
		require.Equal(t, p, base64.RawURLEncoding.EncodeToString(b), "part %d of accepted token %q is in the one canonical encoding", i, token)
		raw[i] = b
	}
	var h map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw[0], &h), "header of accepted token %q", token)
	require.NotContains(t, h, "crit", "accepted token %q has a crit header", token)
	var alg, kid, typ string
	require.NoError(t, json.Unmarshal(h["alg"], &alg), "alg of accepted token %q", token)
	require.NoError(t, json.Unmarshal(h["kid"], &kid), "kid of accepted token %q", token)
	require.NoError(t, json.Unmarshal(h["typ"], &typ), "typ of accepted token %q", token)
	okAlg := alg == fx.alg || (fx.alg == authkit.AlgEdDSA && alg == authkit.AlgEd25519)
	require.Truef(t, okAlg, "accepted token %q names alg %q, not the key's %s", token, alg, fx.alg)
	require.Equal(t, fx.kid, kid, "kid of accepted token %q", token)
	typ = strings.ToLower(typ)
	require.Truef(t, typ == "at+jwt" || typ == "application/at+jwt", "accepted token %q has typ %q", token, typ)
	require.Truef(t, fx.checkSig([]byte(parts[0]+"."+parts[1]), raw[2]), "accepted token %q has a signature the key did not make", token)

	now, leeway := fx.kit.clock.Now(), authkit.DefaultLeeway
	assert.Equal(t, fuzzIssuer, c.Issuer, "iss of accepted token %q", token)
	assert.Contains(t, c.Audience, fuzzIssuer, "aud of accepted token %q", token)
	assert.NotEmpty(t, c.UserID, "user_id of accepted token %q", token)
	assert.Equal(t, c.UserID, c.Subject, "sub of accepted token %q", token)
	if assert.NotNil(t, c.ExpiresAt, "exp of accepted token %q", token) {
		assert.True(t, now.Before(c.ExpiresAt.Add(leeway)), "accepted token %q expired at %v", token, c.ExpiresAt)
	}
	if assert.NotNil(t, c.IssuedAt, "iat of accepted token %q", token) {
		assert.False(t, now.Before(c.IssuedAt.Add(-leeway)), "accepted token %q issued in the future, at %v", token, c.IssuedAt)
	}
	if c.NotBefore != nil {
		assert.False(t, now.Before(c.NotBefore.Add(-leeway)), "accepted token %q not valid before %v", token, c.NotBefore)
	}
}

// checkResigned fails t unless claims, accepted from token, signed again
// with the same key as the kit signs, verify again to equal claims. (Times
// compare exactly: the kit reads and writes them in whole seconds. The
// claims compare as JSON, every exported field, since each keeps the
// payload it was read from.)
func (fx *tokenFixture) checkResigned(t *testing.T, token string, claims *authkit.Claims) {
	t.Helper()
	again := fx.resign(t, claims)
	c2, err := fx.verifyBoth(t, again)
	require.NoError(t, err, "claims of %q, signed again as %q, are refused", token, again)
	fx.checkGenuine(t, again, c2)
	want, err := json.Marshal(claims)
	require.NoError(t, err)
	got, err := json.Marshal(c2)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got), "claims of %q, signed again as %q", token, again)
}

// FuzzVerifyAccessToken feeds arbitrary strings to VerifyAccessToken and
// to a Verifier, for an HS256 and an EdDSA key, and checks that a token
// is either refused with ErrInvalidToken or ErrTokenExpired, by both
// alike, or accepted by both with equal claims; that an accepted token is
// genuine by an independent check with the standard library
// (checkGenuine); and that its claims, signed again, verify again to equal
// claims (checkResigned).
func FuzzVerifyAccessToken(f *testing.F) {
	fixtures := []*tokenFixture{newTokenFixture(f, authkit.AlgHS256), newTokenFixture(f, authkit.AlgEdDSA)}
	for _, fx := range fixtures {
		f.Add(fx.token)
		parts := strings.Split(fx.token, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[1] + "." + parts[0] + "." + parts[2])
		f.Add(fx.token + "=")
	}
	f.Fuzz(func(t *testing.T, token string) {
		for _, fx := range fixtures {
			claims, err := fx.verifyBoth(t, token)
			if err != nil {
				continue
			}
			fx.checkGenuine(t, token, claims)
			fx.checkResigned(t, token, claims)
		}
	})
}

// FuzzSignedAccessTokenClaims signs an arbitrary header and payload with
// the HS256 key the Authenticator and a Verifier trust, so that every
// input reaches the header rules and the claim checks behind the
// signature. The token is refused with a documented error, by both alike,
// or it is accepted, with equal claims, only when the header and claims
// keep every rule (checkGenuine), and its claims, signed again, verify
// again to equal claims (checkResigned).
func FuzzSignedAccessTokenClaims(f *testing.F) {
	fx := newTokenFixture(f, authkit.AlgHS256)
	parts := strings.Split(fx.token, ".")
	for _, p := range parts[:2] {
		b, err := base64.RawURLEncoding.DecodeString(p)
		require.NoError(f, err)
		parts = append(parts, string(b))
	}
	f.Add(parts[3], parts[4])
	f.Fuzz(func(t *testing.T, header, payload string) {
		enc := base64.RawURLEncoding.EncodeToString
		input := enc([]byte(header)) + "." + enc([]byte(payload))
		mac := hmac.New(sha256.New, testSecret)
		mac.Write([]byte(input))
		token := input + "." + enc(mac.Sum(nil))
		claims, err := fx.verifyBoth(t, token)
		if err != nil {
			return
		}
		fx.checkGenuine(t, token, claims)
		fx.checkResigned(t, token, claims)
	})
}

// Tampering operations of FuzzTamperedAccessToken.
const (
	tamperFlipBit = iota
	tamperSetByte
	tamperInsert
	tamperDelete
	tamperTruncate
	tamperAppend
	tamperSegments
	tamperHeaderMember
	tamperPayload
	tamperConfusion
	tamperNone
	tamperReencode
	tamperOps
)

// tamper applies operation op to token, with pos and data as its
// arguments, the way an attacker would change a token it holds: bytes
// flipped, inserted or cut; segments swapped or repeated; a header member
// (alg, kid, typ, crit, jwk, jku) rewritten; the payload replaced; the
// token re-signed with HMAC under a key the attacker chose, or with the
// public key (algorithm confusion); alg "none"; parts encoded otherwise.
// publicKey is the bytes a confused verifier would take as an HMAC key.
func tamper(token string, op uint8, pos uint16, data []byte, publicKey []byte) string {
	b := []byte(token)
	at := int(pos) % (len(b) + 1)
	var d byte
	if len(data) > 0 {
		d = data[0]
	}
	parts := strings.Split(token, ".")
	enc := base64.RawURLEncoding.EncodeToString
	header := func() map[string]any {
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var h map[string]any
		if json.Unmarshal(raw, &h) != nil || h == nil {
			h = map[string]any{}
		}
		return h
	}
	withHeader := func(h map[string]any, sig string) string {
		raw, _ := json.Marshal(h)
		return enc(raw) + "." + parts[1] + "." + sig
	}
	switch op % tamperOps {
	case tamperFlipBit:
		if at < len(b) {
			b[at] ^= 1 << (d % 8)
		}
	case tamperSetByte:
		if at < len(b) {
			b[at] = d
		}
	case tamperInsert:
		b = slices.Insert(b, at, data...)
	case tamperDelete:
		b = slices.Delete(b, at, min(len(b), at+1+int(d%16)))
	case tamperTruncate:
		b = b[:at]
	case tamperAppend:
		b = append(b, data...)
	case tamperSegments:
		// Every arrangement of three of the segments, repeats included.
		i, j, k := int(d)%3, int(d/3)%3, int(d/9)%3
		return parts[i] + "." + parts[j] + "." + parts[k]
	case tamperHeaderMember:
		names := []string{"alg", "kid", "typ", "crit", "jwk", "jku"}
		h := header()
		h[names[int(pos)%len(names)]] = string(data)
		return withHeader(h, parts[2])
	case tamperPayload:
		return parts[0] + "." + enc(data) + "." + parts[2]
	case tamperConfusion:
		// Re-signed with HMAC-SHA256: under the key's public half (the
		// classic confusion of an asymmetric key with an HMAC secret), or
		// under any key the attacker likes, with alg HS256 or another.
		h := header()
		key := data
		if pos%2 == 0 {
			key = publicKey
			h["alg"] = authkit.AlgHS256
		} else if len(data) > 0 && pos%3 == 0 {
			h["alg"] = string(data[:1+int(d)%len(data)])
		}
		raw, _ := json.Marshal(h)
		input := enc(raw) + "." + parts[1]
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(input))
		return input + "." + enc(mac.Sum(nil))
	case tamperNone:
		h := header()
		h["alg"] = []string{"none", "None", "NONE", "nOnE", ""}[int(d)%5]
		sig := ""
		if pos%2 == 1 {
			sig = parts[2]
		}
		return withHeader(h, sig)
	case tamperReencode:
		// The same bytes, written in another base64 alphabet or with
		// padding: standard, URL-safe padded, or with a line break.
		raw, err := base64.RawURLEncoding.DecodeString(parts[int(pos)%3])
		if err != nil {
			return token
		}
		alt := []func([]byte) string{
			base64.StdEncoding.EncodeToString, base64.URLEncoding.EncodeToString, base64.RawStdEncoding.EncodeToString,
			func(b []byte) string { s := enc(b); return s[:len(s)/2] + "\r\n" + s[len(s)/2:] },
		}[int(d)%4]
		parts[int(pos)%3] = alt(raw)
		return strings.Join(parts, ".")
	}
	return string(b)
}

// FuzzTamperedAccessToken changes a genuine access token as an attacker
// would (tamper) and checks, for HS256, EdDSA and ES256 keys, that the
// token itself verifies to its own claims and that every change to its
// signed part (header and payload) is refused with ErrInvalidToken, by the
// Authenticator and a Verifier alike. A changed signature over the same
// signed part is refused too, except with ES256, whose signatures are not
// unique (the same key may sign the same input as (r, s) and (r, n-s)):
// there it may only give the same claims.
func FuzzTamperedAccessToken(f *testing.F) {
	fixtures := []*tokenFixture{
		newTokenFixture(f, authkit.AlgHS256), newTokenFixture(f, authkit.AlgEdDSA), newTokenFixture(f, authkit.AlgES256),
	}
	publicKeys := make([][]byte, len(fixtures))
	for i, fx := range fixtures {
		switch k := fx.signKey.(type) {
		case ed25519.PrivateKey:
			publicKeys[i] = k.Public().(ed25519.PublicKey)
		case *ecdsa.PrivateKey:
			publicKeys[i], _ = k.PublicKey.Bytes()
		}
	}
	for op := range uint8(tamperOps) {
		f.Add(uint8(0), op, uint16(7), []byte("HS256"))
	}
	f.Fuzz(func(t *testing.T, which, op uint8, pos uint16, data []byte) {
		i := int(which) % len(fixtures)
		fx := fixtures[i]
		if op%tamperOps == tamperConfusion && fx.alg == authkit.AlgHS256 && bytes.Equal(data, testSecret) {
			t.Skip("an attacker who knows the secret signs genuine tokens")
		}
		changed := tamper(fx.token, op, pos, data, publicKeys[i])
		claims, err := fx.verifyBoth(t, changed)
		if changed == fx.token {
			require.NoError(t, err, "%s: the untouched token is refused", fx.alg)
			require.Equal(t, fx.claims, claims, "%s: the untouched token's claims", fx.alg)
			return
		}
		signed := func(tok string) string { return tok[:max(0, strings.LastIndexByte(tok, '.'))] }
		if fx.alg == authkit.AlgES256 && strings.Count(changed, ".") == 2 && signed(changed) == signed(fx.token) {
			if err == nil {
				require.Equal(t, fx.claims, claims, "%s: another signature over the same signed part", fx.alg)
			}
			return
		}
		require.Errorf(t, err, "%s: tampered token %q (operation %d of %q) is accepted", fx.alg, changed, op%tamperOps, fx.token)
		require.ErrorIs(t, err, authkit.ErrInvalidToken, "%s: tampered token %q", fx.alg, changed)
		require.NotErrorIs(t, err, authkit.ErrTokenExpired, "%s: tampered token %q got as far as its expiry", fx.alg, changed)
	})
}

// spentToken is a refresh token a rotation spent, and when.
type spentToken struct {
	token string
	at    time.Time
}

// refreshFixture is a user with a live session whose refresh tokens the
// refresh target spends, replays and ends, on a clock that inputs move.
type refreshFixture struct {
	kit     *kit
	email   string
	user    authkit.User
	sid     string
	live    string        // the session's current refresh token
	expires time.Time     // when live stops working
	spent   [2]spentToken // the tokens the last two rotations spent, latest first
}

// newRefreshFixture signs a user up and starts its session.
func newRefreshFixture(t testing.TB) *refreshFixture {
	t.Helper()
	rf := &refreshFixture{email: "fuzz-refresh@example.com"}
	rf.kit = newKit(t, func(c *authkit.Config) {
		quietKit(c)
		// The fixture logs in again after every session an input ends:
		// the account's budgets of guesses are not what is under test.
		c.Limits.LoginFailures.Off = true
		c.Limits.LoginFailuresSustained.Off = true
	})
	tok, _ := rf.kit.register(t, rf.email, pw)
	rf.user = tok.User
	rf.start(t, tok)
	return rf
}

// start takes tok's session as the live one and rotates it twice, so
// that there are spent tokens to replay.
func (rf *refreshFixture) start(t testing.TB, tok authkit.Tokens) {
	t.Helper()
	rf.sid, rf.live, rf.expires, rf.spent = tok.SessionID, tok.RefreshToken, tok.RefreshExpiresAt, [2]spentToken{}
	for range 2 {
		next, err := rf.kit.Refresh(context.Background(), rf.live, authkit.Client{})
		require.NoError(t, err, "Refresh of a fresh session")
		rf.rotated(next)
	}
}

// rotated records that the live token was spent for next.
func (rf *refreshFixture) rotated(next authkit.Tokens) {
	rf.spent[1], rf.spent[0] = rf.spent[0], spentToken{rf.live, rf.kit.clock.Now()}
	rf.live, rf.expires = next.RefreshToken, next.RefreshExpiresAt
}

// sessionLive reports whether the fixture's session is listed as live.
func (rf *refreshFixture) sessionLive(t testing.TB) bool {
	t.Helper()
	all, err := rf.kit.Sessions(context.Background(), rf.user.ID)
	require.NoError(t, err, "Sessions")
	return slices.ContainsFunc(all, func(s authkit.Session) bool { return s.ID == rf.sid })
}

// checkRotated fails t unless next is what a good refresh of the session
// gives: a new refresh token "<session id>.<secret>" of the same session
// with a 256-bit base64url secret, and an access token of the user and
// session.
func (rf *refreshFixture) checkRotated(t *testing.T, spent string, next authkit.Tokens) {
	t.Helper()
	sid, secret, ok := strings.Cut(next.RefreshToken, ".")
	require.True(t, ok, "refresh token %q is <session>.<secret>", next.RefreshToken)
	assert.Equal(t, rf.sid, sid, "a refresh keeps the session")
	assert.Equal(t, rf.sid, next.SessionID, "Tokens.SessionID")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if assert.NoError(t, err, "secret of %q is base64url", next.RefreshToken) {
		assert.Len(t, raw, 32, "secret of %q holds 256 bits", next.RefreshToken)
	}
	assert.NotEqual(t, spent, next.RefreshToken, "a refresh issues a new refresh token")
	assert.True(t, rf.kit.clock.Now().Before(next.RefreshExpiresAt), "a new refresh token has expired already")
	claims, err := rf.kit.VerifyAccessToken(context.Background(), next.AccessToken)
	require.NoError(t, err, "access token of a refresh")
	assert.Equal(t, rf.user.ID, claims.UserID, "user of the refreshed access token")
	assert.Equal(t, rf.sid, claims.SessionID, "session of the refreshed access token")
}

// FuzzRefreshToken moves the clock on by wait (its low 15 bits are
// seconds, or hours when its top bit is set) and gives Refresh
// (op even) or Logout (op odd) an arbitrary refresh token, in which
// "{{live}}" stands for the live refresh token, "{{prev}}" and "{{old}}"
// for the ones the last two rotations spent, and "{{sid}}" for the session
// id. It checks the rules session.go documents:
//
//   - Refresh accepts the live token, while it has not expired, and no
//     other string: the new refresh token is of the same session, carries
//     a 256-bit secret and itself refreshes at once (it round-trips); an
//     expired one is refused with ErrTokenExpired and ends the session;
//   - Refresh refuses every other token with ErrInvalidToken, never with a
//     Store error (ErrNotFound, ErrConflict, ErrAlreadyExists);
//   - a spent token replayed within the reuse grace (Config
//     RefreshReuseGrace, 10 seconds) ends nothing; replayed after it, it
//     ends the session, for the live token too; a token the session never
//     issued ends nothing;
//   - Logout never fails, and ends the session exactly when it is given
//     the live token or the one spent just before it.
func FuzzRefreshToken(f *testing.F) {
	rf := newRefreshFixture(f)
	f.Add(uint8(0), uint16(0), "{{live}}")
	f.Add(uint8(0), uint16(11), "{{prev}}")
	f.Fuzz(func(t *testing.T, op uint8, wait uint16, token string) {
		ctx := context.Background()
		if !rf.sessionLive(t) {
			rf.relogin(t) // the last input ended the session, or failed midway
		}
		unit := time.Second
		if wait&0x8000 != 0 {
			unit = time.Hour
		}
		rf.kit.clock.Advance(time.Duration(wait&0x7fff) * unit)
		now := rf.kit.clock.Now()
		token = strings.NewReplacer("{{live}}", rf.live, "{{prev}}", rf.spent[0].token, "{{old}}", rf.spent[1].token, "{{sid}}", rf.sid).Replace(token)
		expired := !now.Before(rf.expires)

		if op%2 == 1 {
			require.NoError(t, rf.kit.Logout(ctx, token, authkit.Client{}), "Logout(%q) fails", token)
			ends := token == rf.live || token == rf.spent[0].token
			require.Equal(t, !ends && !expired, rf.sessionLive(t), "Logout(%q): the session is live afterwards (expired: %v)", token, expired)
			if ends {
				_, err := rf.kit.Refresh(ctx, rf.live, authkit.Client{})
				require.ErrorIs(t, err, authkit.ErrInvalidToken, "Refresh after Logout(%q)", token)
			}
			return
		}

		next, err := rf.kit.Refresh(ctx, token, authkit.Client{})
		if token == rf.live {
			if expired {
				require.ErrorIs(t, err, authkit.ErrTokenExpired, "Refresh of %q, which expired at %v, at %v", token, rf.expires, now)
				require.False(t, rf.sessionLive(t), "Refresh of an expired token leaves its session")
				return
			}
			require.NoError(t, err, "Refresh of the live token %q", token)
			rf.checkRotated(t, token, next)
			rf.rotated(next)
			again, err := rf.kit.Refresh(ctx, next.RefreshToken, authkit.Client{})
			require.NoError(t, err, "the refresh token %q that Refresh gave does not refresh", next.RefreshToken)
			rf.checkRotated(t, next.RefreshToken, again)
			rf.rotated(again)
			return
		}
		require.Errorf(t, err, "Refresh(%q) accepts a token that is not the live one (%q)", token, rf.live)
		require.ErrorIs(t, err, authkit.ErrInvalidToken, "Refresh(%q)", token)
		for _, storeErr := range []error{authkit.ErrNotFound, authkit.ErrConflict, authkit.ErrAlreadyExists, authkit.ErrTokenExpired} {
			require.NotErrorIs(t, err, storeErr, "Refresh(%q) lets out %v", token, storeErr)
		}
		theft := false
		for _, s := range rf.spent {
			if s.token != "" && token == s.token && now.Sub(s.at) > authkit.DefaultRefreshReuseGrace {
				theft = true
			}
		}
		require.Equal(t, !theft && !expired, rf.sessionLive(t), "Refresh(%q) at %v: the session is live afterwards (a replay after the grace: %v; expired: %v)", token, now, theft, expired)
		if theft {
			_, err := rf.kit.Refresh(ctx, rf.live, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidToken, "the live token after the replay of a spent one")
		}
	})
}

// relogin starts a new session after the live one ended, and deletes
// what has expired, so that the Store does not grow with every input.
func (rf *refreshFixture) relogin(t testing.TB) {
	t.Helper()
	_, err := rf.kit.Cleanup(context.Background())
	require.NoError(t, err, "Cleanup")
	tok, err := rf.kit.Login(context.Background(), rf.email, pw, authkit.Client{})
	require.NoError(t, err, "Login")
	rf.start(t, tok)
}

// maxFuzzEmailBytes bounds the bytes of an address the kit stores
// (RFC 5321's path less its angle brackets), maxFuzzLocalBytes its local
// part and maxFuzzDomainBytes its domain.
const (
	maxFuzzEmailBytes  = 254
	maxFuzzLocalBytes  = 64
	maxFuzzDomainBytes = 253
)

// controlOrSeparator reports whether r is a control, format or separator
// character (Unicode Cc, Cf, Zl, Zp, Zs), which no address may hold.
func controlOrSeparator(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs)
}

// registerAccepts reports whether Register takes email: whether it finds
// nothing wrong with the "email" field. The password is left empty, so
// that Register stops at the input checks and creates nothing.
func registerAccepts(t *testing.T, k *kit, email string) bool {
	t.Helper()
	_, err := k.Register(context.Background(), authkit.Registration{Email: email}, authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v, "Register(%q) without a password", email)
	require.ErrorIs(t, err, authkit.ErrInvalidInput)
	for _, fe := range v.Fields["email"] {
		require.Contains(t, []authkit.FieldCode{authkit.CodeRequired, authkit.CodeInvalidEmail}, fe.Code, "code for email %q", email)
	}
	return len(v.Fields["email"]) == 0
}

// FuzzEmail checks NormalizeEmail and the email check of Register on
// arbitrary strings, against the rules validate.go promises:
//
//   - NormalizeEmail is idempotent, and keeps an ASCII address the same
//     whatever its case;
//   - an address Register accepts is, once normalized, valid UTF-8 in NFC,
//     lower case, at most 254 bytes, with exactly one "@", a local part of
//     1 to 64 bytes and a domain of at most 253 bytes in its ASCII (IDNA)
//     form: at least two labels of 1 to 63 bytes, a top-level label that
//     is not all digits, no upper case;
//   - no address is accepted that holds, once trimmed of white space, a
//     control, format or separator character or other white space, or
//     invalid UTF-8;
//   - an accepted address is its own normal form, and Register judges an
//     address and its normal form alike.
func FuzzEmail(f *testing.F) {
	k := newKit(f, quietKit)
	for _, s := range []string{"user@example.com", " User@Bücher.Example ", "a@b", "a\u200b@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		n := authkit.NormalizeEmail(email)
		require.Equal(t, n, authkit.NormalizeEmail(n), "NormalizeEmail is not idempotent on %q", email)
		if isASCII(email) {
			assert.Equal(t, n, authkit.NormalizeEmail(strings.ToUpper(email)), "NormalizeEmail of %q upper-cased", email)
		}
		accepted := registerAccepts(t, k, email)
		require.Equal(t, accepted, registerAccepts(t, k, n), "Register judges %q and its normal form %q differently", email, n)
		trimmed := strings.TrimSpace(email)
		if !utf8.ValidString(trimmed) || strings.ContainsFunc(trimmed, controlOrSeparator) || strings.ContainsFunc(trimmed, unicode.IsSpace) {
			require.False(t, accepted, "Register accepts %q, which holds invalid UTF-8, white space or a control, format or separator character", email)
		}
		if !accepted {
			return
		}
		require.True(t, utf8.ValidString(n), "accepted %q is not UTF-8", n)
		require.False(t, strings.ContainsFunc(n, controlOrSeparator), "accepted %q holds a control, format or separator character", n)
		require.True(t, norm.NFC.IsNormalString(n), "accepted %q is not NFC", n)
		require.Equal(t, strings.ToLower(n), n, "accepted %q is not lower case", n)
		require.LessOrEqual(t, len(n), maxFuzzEmailBytes, "accepted %q is too long", n)
		require.Equal(t, 1, strings.Count(n, "@"), "accepted %q has not exactly one @", n)
		local, domain, _ := strings.Cut(n, "@")
		require.NotEmpty(t, local, "accepted %q has an empty local part", n)
		require.LessOrEqual(t, len(local), maxFuzzLocalBytes, "local part of accepted %q", n)
		require.LessOrEqual(t, len(domain), maxFuzzDomainBytes, "domain of accepted %q", n)
		require.True(t, isASCII(domain), "domain of accepted %q is not in its ASCII form", n)
		ascii, err := idna.Registration.ToASCII(domain)
		require.NoError(t, err, "domain of accepted %q is not a valid IDNA host name", n)
		require.Equal(t, domain, ascii, "domain of accepted %q is not in its ASCII form", n)
		unicodeForm, err := idna.Registration.ToUnicode(domain)
		require.NoError(t, err, "domain of accepted %q has no Unicode form", n)
		require.False(t, strings.ContainsFunc(unicodeForm, controlOrSeparator), "domain of accepted %q spells a control, format or separator character: %q", n, unicodeForm)
		labels := strings.Split(domain, ".")
		require.GreaterOrEqual(t, len(labels), 2, "domain of accepted %q is not dotted", n)
		for _, l := range labels {
			require.NotEmpty(t, l, "domain of accepted %q has an empty label", n)
			require.LessOrEqual(t, len(l), 63, "domain of accepted %q has a label over 63 bytes", n)
		}
		require.NotEqual(t, "", strings.Trim(labels[len(labels)-1], "0123456789"), "accepted %q has a numeric top-level label", n)
		require.Equal(t, n, authkit.NormalizeEmail(n), "accepted %q is not its own normal form", n)
	})
}

// isASCII reports whether s holds ASCII bytes only.
func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
}

// keyRecorder is a Limiter that allows everything and records the keys it
// is asked about.
type keyRecorder struct {
	authkit.MemoryLimiter
	mu   sync.Mutex
	keys []string
}

// Allow records key and allows the event.
func (r *keyRecorder) Allow(_ context.Context, key string, _ authkit.Limit, _ time.Time) (bool, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, key)
	return true, 0, nil
}

// budgetOf returns the key of the per-address budget that a refresh from
// addr spends, or "" when it spends none.
func budgetOf(t *testing.T, k *kit, rec *keyRecorder, addr string) string {
	t.Helper()
	rec.mu.Lock()
	rec.keys = rec.keys[:0]
	rec.mu.Unlock()
	_, err := k.Refresh(context.Background(), "not a refresh token", authkit.Client{Addr: addr})
	require.ErrorIs(t, err, authkit.ErrInvalidToken, "Refresh from %q", addr)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.LessOrEqual(t, len(rec.keys), 1, "Refresh from %q spends one per-address budget", addr)
	if len(rec.keys) == 0 {
		return ""
	}
	return rec.keys[0]
}

// parseFuzzAddr parses a client address in the notations Limits documents:
// an IP address with or without a port or brackets (surrounding white
// space aside), an IPv4-mapped IPv6 address counting as IPv4 and a zone
// dropped.
func parseFuzzAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// flipBit returns a with bit i (0 is the most significant) flipped.
func flipBit(a netip.Addr, i int) netip.Addr {
	if a.Is4() {
		b := a.As4()
		b[i/8] ^= 0x80 >> (i % 8)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	b[i/8] ^= 0x80 >> (i % 8)
	return netip.AddrFrom16(b)
}

// FuzzClientNetwork checks on which budget a per-address rate limit counts
// a client address (Limits, IPv4Prefix and IPv6Prefix at their defaults:
// a /32 and a /64): an address in any documented notation counts on the
// budget of the address written plainly, shares it with every address of
// its network and with none outside it; anything that is not an IP address
// counts on the one budget all such values share, so that made-up values
// never buy a fresh budget; an empty address counts on none.
func FuzzClientNetwork(f *testing.F) {
	rec := &keyRecorder{}
	k := newKit(f, func(c *authkit.Config) {
		quietKit(c)
		c.Limiter = rec
	})
	for _, s := range []string{"192.0.2.7", "[2001:db8::1]:443", "::ffff:192.0.2.7", "fe80::1%eth0", " 192.0.2.7 ", "[192.0.2.7]", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		got := budgetOf(t, k, rec, addr)
		if addr == "" {
			require.Empty(t, got, "an empty address spends a budget")
			return
		}
		require.NotEmpty(t, got, "Refresh from %q spends no per-address budget", addr)
		ip, ok := parseFuzzAddr(addr)
		if !ok {
			require.Equal(t, budgetOf(t, k, rec, "not an address"), got, "%q, no IP address, gets a budget of its own", addr)
			return
		}
		require.Equal(t, budgetOf(t, k, rec, ip.String()), got, "%q counts apart from %s", addr, ip)
		network, host := 32, 31 // the bit that leaves the network, one that stays in it
		if ip.Is6() {
			network, host = 64, 127
		}
		if host >= network {
			require.Equal(t, got, budgetOf(t, k, rec, flipBit(ip, host).String()), "%q and its neighbour %s in one /%d count apart", addr, flipBit(ip, host), network)
		}
		require.NotEqual(t, got, budgetOf(t, k, rec, flipBit(ip, network-1).String()), "%q shares a budget with %s of another network", addr, flipBit(ip, network-1))
	})
}
