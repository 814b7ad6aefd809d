package authkit_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

var algorithms = []string{authkit.AlgEdDSA, authkit.AlgES256, authkit.AlgRS256}

func TestEveryAlgorithmSignsAndVerifies(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			key, err := authkit.GenerateKey("", alg)
			require.NoError(t, err)
			assert.Equal(t, alg, key.Algorithm())
			assert.NotEmpty(t, key.ID(), "the thumbprint is the default id")

			k := newKit(t, func(c *authkit.Config) { c.SigningKey = key; c.Secret = nil })
			tok, _ := k.register(t, alg+"@example.com", pw)
			h := jwtPart(t, tok.AccessToken, 0)
			assert.Equal(t, alg, h["alg"])
			assert.Equal(t, key.ID(), h["kid"])
			_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
			require.NoError(t, err)

			// PEM round trip: the private key signs, the public one verifies.
			pemPrivate, err := key.MarshalPEM()
			require.NoError(t, err)
			again, err := authkit.ParseKeyPEM("", pemPrivate)
			require.NoError(t, err)
			assert.Equal(t, key.ID(), again.ID())
			assert.True(t, again.CanSign())
			jwk, ok := key.JWK()
			require.True(t, ok)
			public, err := jwk.PublicKey()
			require.NoError(t, err)
			assert.False(t, public.CanSign())
			pemPublic, err := public.MarshalPEM()
			require.NoError(t, err)
			pub2, err := authkit.ParseKeyPEM(key.ID(), pemPublic)
			require.NoError(t, err)
			v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{Keys: []*authkit.Key{pub2}, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now})
			require.NoError(t, err)
			claims, err := v.Verify(t.Context(), tok.AccessToken)
			require.NoError(t, err, "the public half alone verifies")
			assert.Equal(t, tok.User.ID, claims.UserID)
		})
	}
}

func TestWeakOrForeignKeysAreRefused(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, err = authkit.NewSigningKey("", small)
	assert.ErrorIs(t, err, authkit.ErrConfig, "RSA under 2048 bits")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = authkit.NewSigningKey("", p384)
	assert.ErrorIs(t, err, authkit.ErrConfig, "ES256 means P-256")
	_, err = authkit.ParseKeyPEM("", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	assert.ErrorIs(t, err, authkit.ErrConfig)
	_, err = authkit.NewHMACKey("k", []byte("short"))
	assert.ErrorIs(t, err, authkit.ErrConfig)

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	verifyOnly, err := authkit.NewVerificationKey("v", pub)
	require.NoError(t, err)
	_, err = authkit.New(authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), BaseURL: "https://x.example", SigningKey: verifyOnly})
	assert.ErrorIs(t, err, authkit.ErrConfig, "a public key cannot sign")
}

func TestKeyRotationOnALiveAuthenticator(t *testing.T) {
	first, err := authkit.GenerateKey("2026-01", authkit.AlgEdDSA)
	require.NoError(t, err)
	second, err := authkit.GenerateKey("2026-02", authkit.AlgES256)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = first })
	old, _ := k.register(t, "rotate@example.com", pw)

	require.NoError(t, k.SetKeys(second, first), "rotate: sign with the new key, keep the old one for verifying")
	fresh, err := k.Login(t.Context(), "rotate@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "2026-02", jwtPart(t, fresh.AccessToken, 0)["kid"])
	for _, tok := range []string{old.AccessToken, fresh.AccessToken} {
		_, err := k.VerifyAccessToken(t.Context(), tok)
		assert.NoError(t, err, "both generations verify")
	}
	ids := []string{}
	for _, j := range k.JWKS().Keys {
		ids = append(ids, j.KeyID)
	}
	assert.ElementsMatch(t, []string{"2026-01", "2026-02"}, ids)

	require.NoError(t, k.SetKeys(second), "retire the old key")
	_, err = k.VerifyAccessToken(t.Context(), old.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the old generation is refused once removed")
	_, err = k.VerifyAccessToken(t.Context(), fresh.AccessToken)
	assert.NoError(t, err)
}

func TestJWKSHoldsPublicMembersOnly(t *testing.T) {
	var keys []*authkit.Key
	for _, alg := range algorithms {
		key, err := authkit.GenerateKey("", alg)
		require.NoError(t, err)
		keys = append(keys, key)
	}
	hmac, err := authkit.NewHMACKey("old-hmac", testSecret)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = keys[0]; c.VerificationKeys = append(keys[1:], hmac) })

	raw, err := json.Marshal(k.JWKS())
	require.NoError(t, err)
	var set struct{ Keys []map[string]any }
	require.NoError(t, json.Unmarshal(raw, &set))
	require.Len(t, set.Keys, 3, "the HS256 key is never published")
	for _, jwk := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			assert.NotContains(t, jwk, private, "JWK %v", jwk["kid"])
		}
		assert.Equal(t, "sig", jwk["use"])
		assert.NotEmpty(t, jwk["kid"])
		assert.NotEmpty(t, jwk["alg"])
	}

	hs := newKit(t, nil)
	assert.Empty(t, hs.JWKS().Keys, "HS256 alone publishes nothing")
}

func TestAsymmetricTokenAttacks(t *testing.T) {
	key, err := authkit.GenerateKey("ed", authkit.AlgEdDSA)
	require.NoError(t, err)
	rsaKey, err := authkit.GenerateKey("rsa", authkit.AlgRS256)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = key; c.VerificationKeys = []*authkit.Key{rsaKey} })
	tok, _ := k.register(t, "attack@example.com", pw)
	claims := jwt.MapClaims{}
	for name, v := range jwtPart(t, tok.AccessToken, 1) {
		claims[name] = v
	}
	pubPEM, err := rsaKey.MarshalPEM()
	require.NoError(t, err)
	_, attacker, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	attackerKey, err := authkit.NewSigningKey("", attacker)
	require.NoError(t, err)
	attackerJWK, _ := attackerKey.JWK()

	var fetched atomic.Int32
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		_ = json.NewEncoder(w).Encode(authkit.JWKSet{Keys: []authkit.JWK{attackerJWK}})
	}))
	defer jku.Close()

	nbf := func(c jwt.MapClaims) jwt.MapClaims {
		out := jwt.MapClaims{}
		for k, v := range c {
			out[k] = v
		}
		out["nbf"] = k.clock.Now().Add(5 * time.Minute).Unix()
		return out
	}
	rsaPublicPEM, err := func() ([]byte, error) {
		jwk, _ := rsaKey.JWK()
		pub, err := jwk.PublicKey()
		if err != nil {
			return nil, err
		}
		return pub.MarshalPEM()
	}()
	require.NoError(t, err)
	_ = pubPEM

	cases := map[string]string{
		// Algorithm confusion: HS256 keyed with the RSA public key's bytes,
		// naming the RSA key.
		"HS256 with the public key": forge(t, jwt.SigningMethodHS256, rsaPublicPEM, claims, map[string]any{"kid": "rsa", "typ": "at+jwt"}),
		// The EdDSA key's id with another algorithm.
		"RS256 under the EdDSA kid": forge(t, jwt.SigningMethodRS256, mustRSA(t), claims, map[string]any{"kid": "ed", "typ": "at+jwt"}),
		"jwk header":                forge(t, jwt.SigningMethodEdDSA, attacker, claims, map[string]any{"kid": attackerKey.ID(), "typ": "at+jwt", "jwk": attackerJWK}),
		"jwk header, real kid":      forge(t, jwt.SigningMethodEdDSA, attacker, claims, map[string]any{"kid": "ed", "typ": "at+jwt", "jwk": attackerJWK}),
		"jku header":                forge(t, jwt.SigningMethodEdDSA, attacker, claims, map[string]any{"kid": attackerKey.ID(), "typ": "at+jwt", "jku": jku.URL}),
		"x5u header":                forge(t, jwt.SigningMethodEdDSA, attacker, claims, map[string]any{"kid": "ed", "typ": "at+jwt", "x5u": jku.URL}),
		"not yet valid":             forge(t, jwt.SigningMethodEdDSA, mustPrivate(t, key), nbf(claims), map[string]any{"kid": "ed", "typ": "at+jwt"}),
		"other typ, same key":       forge(t, jwt.SigningMethodEdDSA, mustPrivate(t, key), claims, map[string]any{"kid": "ed", "typ": "JWT"}),
	}
	for name, forged := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := k.VerifyAccessToken(t.Context(), forged)
			assert.ErrorIs(t, err, authkit.ErrInvalidToken)
		})
	}
	assert.Zero(t, fetched.Load(), "keys named by a token are never fetched")
	_, err = k.VerifyAccessToken(t.Context(), forge(t, jwt.SigningMethodEdDSA, mustPrivate(t, key), claims, map[string]any{"kid": "ed", "typ": "at+jwt"}))
	assert.NoError(t, err, "the same claims signed properly verify")
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

// mustPrivate digs the private key out of a Key through its PEM form.
func mustPrivate(t testing.TB, k *authkit.Key) any {
	t.Helper()
	p, err := k.MarshalPEM()
	require.NoError(t, err)
	priv, err := jwt.ParseEdPrivateKeyFromPEM(p)
	require.NoError(t, err)
	return priv
}

func TestZeroOrNilKeysAreConfigErrors(t *testing.T) {
	good, err := authkit.GenerateKey("good", authkit.AlgEdDSA)
	require.NoError(t, err)
	base := func() authkit.Config {
		return authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", BcryptCost: 4}
	}
	cases := map[string]func(*authkit.Config){
		"zero signing key":        func(c *authkit.Config) { c.SigningKey = &authkit.Key{} },
		"zero signing, no secret": func(c *authkit.Config) { c.SigningKey, c.Secret = &authkit.Key{}, nil },
		"nil verification key":    func(c *authkit.Config) { c.VerificationKeys = []*authkit.Key{nil} },
		"zero verification key":   func(c *authkit.Config) { c.VerificationKeys = []*authkit.Key{&authkit.Key{}} },
		"zero beside a good one":  func(c *authkit.Config) { c.SigningKey, c.VerificationKeys = good, []*authkit.Key{{}} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base()
			change(&cfg)
			var a *authkit.Authenticator
			require.NotPanics(t, func() { a, err = authkit.New(cfg) })
			assert.Nil(t, a)
			assert.ErrorIs(t, err, authkit.ErrConfig, "New(%s)", name)
		})
	}
	k := newKit(t, nil)
	require.NotPanics(t, func() { err = k.SetKeys(&authkit.Key{}) })
	assert.ErrorIs(t, err, authkit.ErrConfig, "SetKeys with a zero key")
	require.NotPanics(t, func() { err = k.SetKeys(good, &authkit.Key{}) })
	assert.ErrorIs(t, err, authkit.ErrConfig, "SetKeys with a zero verification key")
	require.NotPanics(t, func() {
		_, err = authkit.NewVerifier(t.Context(), authkit.VerifierConfig{Keys: []*authkit.Key{{}}, Issuer: kitIssuer, Audience: kitIssuer})
	})
	assert.ErrorIs(t, err, authkit.ErrConfig, "NewVerifier with a zero key")

	for _, z := range []*authkit.Key{{}, nil} {
		require.NotPanics(t, func() {
			assert.Empty(t, z.ID())
			assert.Empty(t, z.Algorithm())
			assert.False(t, z.CanSign())
			assert.Nil(t, z.Public())
			_, ok := z.JWK()
			assert.False(t, ok)
			_, err := z.MarshalPEM()
			assert.Error(t, err)
		})
	}
}
