package authkit_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// header and payload decode the parts of a compact JWT without checking it.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func TestAccessTokenClaims(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "claims@example.com", pw)

	h := jwtPart(t, tok.AccessToken, 0)
	assert.Equal(t, "HS256", h["alg"])
	assert.Equal(t, "at+jwt", h["typ"])
	assert.NotEmpty(t, h["kid"])

	p := jwtPart(t, tok.AccessToken, 1)
	assert.Equal(t, tok.User.ID, p["sub"])
	assert.Equal(t, tok.User.ID, p["user_id"], "the seed's claim")
	assert.Equal(t, "claims@example.com", p["email"])
	assert.Equal(t, tok.SessionID, p["sid"])
	assert.Equal(t, kitIssuer, p["iss"], "Config.BaseURL by default")
	assert.Equal(t, []any{kitIssuer}, p["aud"], "Config.BaseURL by default")
	assert.Equal(t, kitIssuer, p["client_id"], "RFC 9068 §2.2: the audience")
	assert.NotEmpty(t, p["jti"], "RFC 9068 §2.2")
	assert.EqualValues(t, 0, p["ver"])
	now := k.clock.Now().Unix()
	assert.EqualValues(t, now, p["iat"])
	assert.EqualValues(t, now+15*60, p["exp"], "15 minutes by default")
	assert.Equal(t, 15*time.Minute, tok.ExpiresIn)

	claims, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, tok.User.ID, claims.UserID)
	assert.Equal(t, tok.SessionID, claims.SessionID)
	assert.Equal(t, p["jti"], claims.ID)
	assert.Equal(t, kitIssuer, claims.ClientID)
}

func TestSevenDayTokensCanBeConfigured(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.AccessTokenTTL = 7 * 24 * time.Hour })
	tok, _ := k.register(t, "seed@example.com", pw)
	assert.Equal(t, 7*24*time.Hour, tok.ExpiresIn)
	k.clock.Advance(7*24*time.Hour - time.Minute)
	_, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "still valid after 6 days 23 h 59 min")
	k.clock.Advance(2 * time.Minute)
	_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrTokenExpired)
}

func TestLeewayIsSmall(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "l@example.com", pw)
	k.clock.Advance(15*time.Minute + 20*time.Second)
	_, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "within the 30 s leeway")
	k.clock.Advance(20 * time.Second)
	_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrTokenExpired)
}

// forge signs claims with the given method and key, copying kid and typ
// unless overridden.
func forge(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestForgedAccessTokensAreRefused(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "victim@example.com", pw)
	h := jwtPart(t, tok.AccessToken, 0)
	good := jwtPart(t, tok.AccessToken, 1)
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		if change != nil {
			change(c)
		}
		return c
	}
	std := map[string]any{"kid": h["kid"], "typ": "at+jwt"}
	parts := strings.Split(tok.AccessToken, ".")
	evil := jwtPart(t, tok.AccessToken, 1)
	evil["user_id"], evil["sub"] = "someone-else", "someone-else"
	evilJSON, _ := json.Marshal(evil)
	exp := k.clock.Now().Add(-time.Hour).Unix()

	cases := map[string]string{
		"alg none":         forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil), std),
		"other secret":     forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-32b!"), claims(nil), std),
		"HS512 same key":   forge(t, jwt.SigningMethodHS512, testSecret, claims(nil), std),
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString(evilJSON) + "." + parts[2],
		"tampered header":  tamperedHeader(t, parts) + "." + parts[1] + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, parts[2]),
		"expired":     forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["exp"] = exp }), std),
		"no exp":      forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { delete(c, "exp") }), std),
		"wrong aud":   forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["aud"] = "other-service" }), std),
		"wrong iss":   forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["iss"] = "evil" }), std),
		"future iat":  forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["iat"] = k.clock.Now().Add(time.Hour).Unix() }), std),
		"sub differs": forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["sub"] = "someone-else" }), std),
		"unknown kid": forge(t, jwt.SigningMethodHS256, testSecret, claims(nil), map[string]any{"kid": "nope", "typ": "at+jwt"}),
		"no kid":      forge(t, jwt.SigningMethodHS256, testSecret, claims(nil), map[string]any{"typ": "at+jwt"}),
		"other typ":   forge(t, jwt.SigningMethodHS256, testSecret, claims(nil), map[string]any{"kid": h["kid"], "typ": "JWT"}),
		"oversized":   forge(t, jwt.SigningMethodHS256, testSecret, claims(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 9000) }), std),
		"garbage":     "not.a.jwt",
		"empty":       "",
	}
	for name, forged := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := k.VerifyAccessToken(t.Context(), forged)
			require.Error(t, err, "Authenticate(%s) must fail", name)
			if name == "expired" {
				assert.ErrorIs(t, err, authkit.ErrTokenExpired)
			} else {
				assert.ErrorIs(t, err, authkit.ErrInvalidToken)
			}
		})
	}
	// The same claims signed properly do verify: the cases above fail for
	// the reason they name.
	_, err := k.VerifyAccessToken(t.Context(), forge(t, jwt.SigningMethodHS256, testSecret, claims(nil), std))
	assert.NoError(t, err)
}

func TestRotatingTheHMACSecretKeepsOldTokensUntilRemoved(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "rot@example.com", pw)
	newKey, err := authkit.NewHMACKey("new", []byte("a-brand-new-secret-of-32-bytes-or-more"))
	require.NoError(t, err)

	// The old secret, listed without an id, keeps verifying beside the new key.
	k2 := newKit(t, func(c *authkit.Config) {
		c.Store = k.store
		c.SigningKey = newKey
		c.VerificationKeys = []*authkit.Key{mustKeyFromSecret(t, "")}
	})
	_, err = k2.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "a token of the retired key verifies while it is configured")
	k3 := newKit(t, func(c *authkit.Config) { c.Store = k.store; c.SigningKey = newKey })
	_, err = k3.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "refused once the key is removed")
}

func mustKeyFromSecret(t testing.TB, kid string) *authkit.Key {
	t.Helper()
	k, err := authkit.NewHMACKey(kid, testSecret)
	require.NoError(t, err)
	return k
}

// tamperedHeader returns the header of a token's parts with one more
// member: still valid JSON naming the same algorithm and key, but not the
// header that was signed.
func tamperedHeader(t *testing.T, parts []string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	h["cty"] = "JWT"
	out, err := json.Marshal(h)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(out)
}
