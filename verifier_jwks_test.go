package authkit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// jwksServer is an issuer's JWKS endpoint on loopback that serves whatever
// document it was last given, or fails, and counts the fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t testing.TB, keys ...*authkit.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.publish(t, keys...)
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	doc, status := s.doc, s.status
	s.mu.Unlock()
	if status != http.StatusOK {
		http.Error(w, "down", status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(doc)
}

// publish serves the public halves of keys, in their order.
func (s *jwksServer) publish(t testing.TB, keys ...*authkit.Key) {
	t.Helper()
	set := authkit.JWKSet{Keys: []authkit.JWK{}}
	for _, k := range keys {
		jwk, ok := k.JWK()
		require.True(t, ok)
		set.Keys = append(set.Keys, jwk)
	}
	doc, err := json.Marshal(set)
	require.NoError(t, err)
	s.publishRaw(string(doc))
}

// publishRaw serves doc as it is.
func (s *jwksServer) publishRaw(doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc, s.status = []byte(doc), http.StatusOK
}

// fail answers every fetch with 500.
func (s *jwksServer) fail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = http.StatusInternalServerError
}

// longKit is a kit whose access tokens outlive the Verifier's key ages,
// with one user, so that only the keys decide whether a token verifies.
func longKit(t *testing.T) *kit {
	t.Helper()
	first, err := authkit.GenerateKey("first", authkit.AlgEdDSA)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = first; c.AccessTokenTTL = 30 * 24 * time.Hour })
	k.register(t, "keys@example.com", pw)
	return k
}

// tokenBy returns an access token of k's user signed by key.
func tokenBy(t *testing.T, k *kit, key *authkit.Key) string {
	t.Helper()
	require.NoError(t, k.SetKeys(key))
	tok, err := k.Login(t.Context(), "keys@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	return tok.AccessToken
}

// public is the verification-only half of key, as a JWK Set delivers it.
func public(t testing.TB, key *authkit.Key) *authkit.Key {
	t.Helper()
	pub, err := jwkOf(t, key).PublicKey()
	require.NoError(t, err)
	return pub
}

// mustKey generates a key of alg with the id.
func mustKey(t testing.TB, id, alg string) *authkit.Key {
	t.Helper()
	k, err := authkit.GenerateKey(id, alg)
	require.NoError(t, err)
	return k
}

// refetch lets MinRefreshInterval pass and makes v fetch the keys now, and
// wait for them, with a token whose kid no set lists.
func refetch(t *testing.T, k *kit, v *authkit.Verifier) {
	t.Helper()
	k.clock.Advance(2 * time.Minute)
	claims := map[string]any{"iss": kitIssuer, "aud": kitIssuer, "sub": "u", "user_id": "u", "iat": k.clock.Now().Unix(), "exp": k.clock.Now().Add(time.Hour).Unix()}
	unknown := signJWS(t, jwt.SigningMethodHS256, testSecret, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": "listed-nowhere"}, claims)
	_, err := v.Verify(t.Context(), unknown)
	require.ErrorIs(t, err, authkit.ErrInvalidToken)
}

// TestVerifierFollowsTheFetchedSet: the issuer withdraws keys (because one
// leaked, say); each fetched set is authoritative, down to a set with no
// keys, while static Keys stay and a broken document changes nothing.
func TestVerifierFollowsTheFetchedSet(t *testing.T) {
	k := longKit(t)
	keyA, keyB, keyS := mustKey(t, "a", authkit.AlgEdDSA), mustKey(t, "b", authkit.AlgES256), mustKey(t, "s", authkit.AlgEdDSA)
	tokA, tokB, tokS := tokenBy(t, k, keyA), tokenBy(t, k, keyB), tokenBy(t, k, keyS)
	srv := newJWKSServer(t, keyA, keyB)
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
		JWKSURL: srv.URL, Keys: []*authkit.Key{public(t, keyS)},
		Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
	})
	require.NoError(t, err)
	check := func(step string, want map[string]bool) {
		t.Helper()
		for name, tok := range map[string]string{"a": tokA, "b": tokB, "s": tokS} {
			_, err := v.Verify(t.Context(), tok)
			if want[name] {
				assert.NoError(t, err, "%s: a token of key %s verifies", step, name)
			} else {
				assert.ErrorIs(t, err, authkit.ErrInvalidToken, "%s: a token of key %s is refused", step, name)
			}
		}
	}
	check("both published", map[string]bool{"a": true, "b": true, "s": true})

	srv.publish(t, keyB)
	refetch(t, k, v)
	check("a withdrawn", map[string]bool{"b": true, "s": true})

	for _, broken := range []string{`{}`, `null`, `{"keys": null}`, `{"keys": "none"}`, `<html>`} {
		srv.publishRaw(broken)
		refetch(t, k, v)
		check("after a broken document "+broken, map[string]bool{"b": true, "s": true})
	}

	srv.publish(t) // {"keys": []}
	refetch(t, k, v)
	check("an empty set", map[string]bool{"s": true})

	srv.publish(t, keyA)
	k.clock.Advance(2 * time.Minute)
	check("a published again", map[string]bool{"a": true, "s": true})
}

// TestFetchedKeysExpireWhileTheIssuerIsUnreachable: an issuer that
// withdrew a leaked key but cannot be reached (or is kept unreachable by
// the attacker holding the key) no longer vouches for its fetched keys
// after MaxKeyAge; static keys stay.
func TestFetchedKeysExpireWhileTheIssuerIsUnreachable(t *testing.T) {
	for name, maxAge := range map[string]time.Duration{"default": 0, "configured": 3 * time.Hour} {
		t.Run(name, func(t *testing.T) {
			limit := maxAge
			if limit == 0 {
				limit = authkit.DefaultMaxKeyAge
			}
			k := longKit(t)
			keyA, keyS := mustKey(t, "a", authkit.AlgEdDSA), mustKey(t, "s", authkit.AlgEdDSA)
			tokA, tokS := tokenBy(t, k, keyA), tokenBy(t, k, keyS)
			srv := newJWKSServer(t, keyA)
			v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
				JWKSURL: srv.URL, Keys: []*authkit.Key{public(t, keyS)}, MaxKeyAge: maxAge,
				Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
			})
			require.NoError(t, err)

			srv.fail()
			k.clock.Advance(limit - time.Minute)
			_, err = v.Verify(t.Context(), tokA)
			assert.NoError(t, err, "within MaxKeyAge, the keys at hand verify while refreshes fail")

			k.clock.Advance(2 * time.Minute)
			_, err = v.Verify(t.Context(), tokA)
			assert.ErrorIs(t, err, authkit.ErrInvalidToken, "past MaxKeyAge, fetched keys no longer verify")
			_, err = v.Verify(t.Context(), tokS)
			assert.NoError(t, err, "static keys do not expire")

			srv.publish(t, keyA)
			k.clock.Advance(2 * time.Minute)
			_, err = v.Verify(t.Context(), tokA)
			assert.NoError(t, err, "once the issuer answers, the first verification waits for the fetch")
		})
	}
}

// TestVerifierFollowsNoRedirectAway: an attacker who can make the issuer's
// JWKS URL redirect (an open redirect, a hijacked path) sends the Verifier
// to a key set of its own and presents a token of its own key. The
// Verifier must not follow a redirect to another origin or to plain http,
// with its own client or with the caller's.
func TestVerifierFollowsNoRedirectAway(t *testing.T) {
	k := longKit(t)
	keyA, keyX := mustKey(t, "a", authkit.AlgEdDSA), mustKey(t, "attacker", authkit.AlgEdDSA)
	tokA, forged := tokenBy(t, k, keyA), tokenBy(t, k, keyX)
	attacker := newJWKSServer(t, keyX)

	var redirect atomic.Pointer[string]
	legit := func(w http.ResponseWriter, r *http.Request) {
		if to := redirect.Load(); to != nil && r.URL.Path != "/moved" {
			http.Redirect(w, r, *to, http.StatusFound)
			return
		}
		_ = json.NewEncoder(w).Encode(authkit.JWKSet{Keys: []authkit.JWK{jwkOf(t, keyA)}})
	}
	plain := httptest.NewServer(http.HandlerFunc(legit))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(legit))
	defer secure.Close()
	callersClient := secure.Client()

	cases := map[string]struct {
		url    string
		client *http.Client
	}{
		"default client, to another origin":                 {plain.URL + "/jwks.json", nil},
		"caller's client, from https to http and elsewhere": {secure.URL + "/jwks.json", callersClient},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			redirect.Store(nil)
			v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
				JWKSURL: c.url, HTTPClient: c.client, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
			})
			require.NoError(t, err)
			_, err = v.Verify(t.Context(), tokA)
			require.NoError(t, err)

			to := attacker.URL + "/jwks.json"
			redirect.Store(&to)
			refetch(t, k, v)
			_, err = v.Verify(t.Context(), forged)
			assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a token of the attacker's key")
			assert.Zero(t, attacker.fetches.Load(), "the attacker's key set is never fetched")
			_, err = v.Verify(t.Context(), tokA)
			assert.NoError(t, err, "the refused redirect is a failed fetch: the keys at hand stay")

			_, err = authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
				JWKSURL: c.url, HTTPClient: c.client, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
			})
			assert.Error(t, err, "a Verifier that starts behind the redirect fails to start")
			assert.Zero(t, attacker.fetches.Load())
		})
	}
	assert.Nil(t, callersClient.CheckRedirect, "the caller's client is not changed")

	t.Run("within the origin", func(t *testing.T) {
		to := "/moved"
		redirect.Store(&to)
		var asked atomic.Int32
		client := secure.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { asked.Add(1); return nil }
		v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
			JWKSURL: secure.URL + "/jwks.json", HTTPClient: client, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
		})
		require.NoError(t, err, "a redirect within the origin is followed")
		_, err = v.Verify(t.Context(), tokA)
		assert.NoError(t, err)
		assert.EqualValues(t, 1, asked.Load(), "the caller's own CheckRedirect still has its say")
	})
}

// jwkOf returns the JWK of a key that has one.
func jwkOf(t testing.TB, key *authkit.Key) authkit.JWK {
	t.Helper()
	jwk, ok := key.JWK()
	require.True(t, ok)
	return jwk
}

// TestDuplicateKeyIDsInTheFetchedSet: a key set that lists a kid twice, or
// lists the kid of a static key, does not stop the Verifier: the first
// key (static keys first) is kept and the later one skipped, so a key
// slipped in under a known kid verifies nothing.
func TestDuplicateKeyIDsInTheFetchedSet(t *testing.T) {
	k := longKit(t)
	keyA, keyX := mustKey(t, "dup", authkit.AlgEdDSA), mustKey(t, "dup", authkit.AlgEdDSA)
	keyS, keyY := mustKey(t, "s", authkit.AlgEdDSA), mustKey(t, "s", authkit.AlgEdDSA)
	tokA, tokX, tokS, tokY := tokenBy(t, k, keyA), tokenBy(t, k, keyX), tokenBy(t, k, keyS), tokenBy(t, k, keyY)
	srv := newJWKSServer(t, keyA, keyX, keyY)

	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
		JWKSURL: srv.URL, Keys: []*authkit.Key{public(t, keyS)}, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now,
	})
	require.NoError(t, err, "a duplicate kid is skipped, not fatal")
	verify := func(tok string) error { _, err := v.Verify(t.Context(), tok); return err }
	assert.NoError(t, verify(tokA), "the first key listed under a kid verifies")
	assert.ErrorIs(t, verify(tokX), authkit.ErrInvalidToken, "the second under the same kid does not")
	assert.NoError(t, verify(tokS), "the static key verifies")
	assert.ErrorIs(t, verify(tokY), authkit.ErrInvalidToken, "a fetched key with a static key's kid does not")

	// The first listed wins, whichever it is.
	srv.publish(t, keyX, keyA)
	refetch(t, k, v)
	assert.NoError(t, verify(tokX))
	assert.ErrorIs(t, verify(tokA), authkit.ErrInvalidToken)
}

// TestEd25519AlgorithmName: the fully-specified "Ed25519" (RFC 9864) is
// accepted for Ed25519 keys, in token headers and in JWKs, and for no
// other key.
func TestEd25519AlgorithmName(t *testing.T) {
	k := longKit(t)
	ed, es := mustKey(t, "ed", authkit.AlgEdDSA), mustKey(t, "es", authkit.AlgES256)
	tok := tokenBy(t, k, ed)
	require.NoError(t, k.SetKeys(ed, es))
	h, claims := jwtPart(t, tok, 0), jwtPart(t, tok, 1)
	require.Equal(t, authkit.AlgEdDSA, h["alg"], "the kit signs as EdDSA")
	named := func(alg, kid string) string {
		return signJWS(t, jwt.SigningMethodEdDSA, mustPrivate(t, ed), with(h, map[string]any{"alg": alg, "kid": kid}), claims)
	}

	jwk := jwkOf(t, ed)
	jwk.Algorithm = authkit.AlgEd25519
	_, err := jwk.PublicKey()
	require.NoError(t, err, "a JWK with alg Ed25519")
	srv := newJWKSServer(t)
	doc, err := json.Marshal(authkit.JWKSet{Keys: []authkit.JWK{jwk, jwkOf(t, es)}})
	require.NoError(t, err)
	srv.publishRaw(string(doc))
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{JWKSURL: srv.URL, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now})
	require.NoError(t, err)

	for _, alg := range []string{authkit.AlgEd25519, authkit.AlgEdDSA} {
		_, err = v.Verify(t.Context(), named(alg, "ed"))
		assert.NoError(t, err, "Verifier: alg %s under the Ed25519 key", alg)
		_, err = k.VerifyAccessToken(t.Context(), named(alg, "ed"))
		assert.NoError(t, err, "Authenticator: alg %s under the Ed25519 key", alg)
	}
	for alg, kid := range map[string]string{"Ed25519": "es", "ed25519": "ed", "ED25519": "ed", "Ed448": "ed", "EdDSA ": "ed"} {
		_, err = v.Verify(t.Context(), named(alg, kid))
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "Verifier: alg %q under kid %s", alg, kid)
		_, err = k.VerifyAccessToken(t.Context(), named(alg, kid))
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, "Authenticator: alg %q under kid %s", alg, kid)
	}

	wrong := jwkOf(t, es)
	wrong.Algorithm = authkit.AlgEd25519
	_, err = wrong.PublicKey()
	assert.Error(t, err, "alg Ed25519 on a P-256 key")
	wrong = jwkOf(t, ed)
	wrong.Algorithm = authkit.AlgES256
	_, err = wrong.PublicKey()
	assert.Error(t, err, "alg ES256 on an Ed25519 key")
}

// TestNewVerifierConfigErrors: what a careful host gets wrong is refused
// at start, with an error that wraps ErrConfig, before anything is
// fetched.
func TestNewVerifierConfigErrors(t *testing.T) {
	srv := newJWKSServer(t, mustKey(t, "a", authkit.AlgEdDSA))
	good := authkit.VerifierConfig{JWKSURL: srv.URL, Issuer: kitIssuer, Audience: kitIssuer}
	cases := map[string]func(*authkit.VerifierConfig){
		"no Issuer":                 func(c *authkit.VerifierConfig) { c.Issuer = "" },
		"no Audience":               func(c *authkit.VerifierConfig) { c.Audience = "" },
		"neither JWKSURL nor Keys":  func(c *authkit.VerifierConfig) { c.JWKSURL = "" },
		"relative JWKSURL":          func(c *authkit.VerifierConfig) { c.JWKSURL = "/api/auth/jwks.json" },
		"JWKSURL of another scheme": func(c *authkit.VerifierConfig) { c.JWKSURL = "file:///etc/jwks.json" },
		"JWKSURL without host":      func(c *authkit.VerifierConfig) { c.JWKSURL = "https:///jwks.json" },
		"negative MaxKeyAge":        func(c *authkit.VerifierConfig) { c.MaxKeyAge = -time.Hour },
		"negative RefreshInterval":  func(c *authkit.VerifierConfig) { c.RefreshInterval = -time.Hour },
		"negative Leeway":           func(c *authkit.VerifierConfig) { c.Leeway = -time.Second },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			change(&cfg)
			v, err := authkit.NewVerifier(t.Context(), cfg)
			assert.Nil(t, v)
			assert.ErrorIs(t, err, authkit.ErrConfig)
		})
	}
	assert.Zero(t, srv.fetches.Load(), "nothing fetched for a bad config")
	_, err := authkit.NewVerifier(t.Context(), good)
	assert.NoError(t, err, "the good config starts")
}
