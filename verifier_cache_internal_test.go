package authkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifierKeepsItsCacheWhileTheKeysStay checks that a refetch of the
// same key set, such as one a made-up key id asks for, keeps the tokens
// the Verifier has verified, and that a set with another key starts
// afresh.
func TestVerifierKeepsItsCacheWhileTheKeysStay(t *testing.T) {
	first, err := GenerateKey("one", AlgEdDSA)
	require.NoError(t, err)
	second, err := GenerateKey("two", AlgEdDSA)
	require.NoError(t, err)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	published := JWKSet{Keys: []JWK{mustJWK(t, first)}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		set := published
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	v, err := NewVerifier(t.Context(), VerifierConfig{JWKSURL: srv.URL, Issuer: benchIssuer, Audience: benchIssuer, Now: clock})
	require.NoError(t, err)
	signer, err := newKeyring(first, nil, verifyRules{issuer: benchIssuer, audience: benchIssuer, leeway: time.Second, now: clock})
	require.NoError(t, err)
	tok, err := signer.sign(&Claims{UserID: "u", RegisteredClaims: jwt.RegisteredClaims{
		Issuer: benchIssuer, Subject: "u", Audience: jwt.ClaimStrings{benchIssuer},
		IssuedAt: jwt.NewNumericDate(clock()), ExpiresAt: jwt.NewNumericDate(clock().Add(time.Hour)),
	}}, nil)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err)
	cache := v.fetched.Load().keys.verified

	advance(2 * defaultMinRefreshInterval)
	madeUp := b64.EncodeToString([]byte(`{"alg":"EdDSA","kid":"nope","typ":"at+jwt"}`)) + "." + strings.Split(tok, ".")[1] + ".AAAA"
	_, err = v.Verify(t.Context(), madeUp)
	require.Error(t, err)
	assert.Same(t, cache, v.fetched.Load().keys.verified, "the same keys keep their cache")

	mu.Lock()
	published = JWKSet{Keys: []JWK{mustJWK(t, first), mustJWK(t, second)}}
	mu.Unlock()
	advance(2 * defaultMinRefreshInterval)
	_, err = v.Verify(t.Context(), madeUp)
	require.Error(t, err)
	assert.NotSame(t, cache, v.fetched.Load().keys.verified, "another key set starts afresh")
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err, "the first key still verifies")
}

func mustJWK(t *testing.T, k *Key) JWK {
	t.Helper()
	j, ok := k.JWK()
	require.True(t, ok)
	return j
}
