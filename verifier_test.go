package authkit_test

import (
	"context"
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
	"github.com/authkit/authkit/internal/testkit"
)

// kitIssuer is the issuer and audience of newKit's tokens: its BaseURL.
const kitIssuer = "https://app.example.com"

func TestVerifierFetchesKeysAndRefreshesSparingly(t *testing.T) {
	key, err := authkit.GenerateKey("one", authkit.AlgEdDSA)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = key })
	var fetches atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(k.JWKS())
	}))
	defer jwks.Close()

	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{JWKSURL: jwks.URL, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now})
	require.NoError(t, err)
	tok, _ := k.register(t, "v@example.com", pw)
	_, err = v.Verify(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	assert.EqualValues(t, 1, fetches.Load())

	// A flood of unknown key ids costs at most one fetch per interval.
	claims := jwt.MapClaims{}
	for name, val := range jwtPart(t, tok.AccessToken, 1) {
		claims[name] = val
	}
	for i := range 100 {
		forged := forge(t, jwt.SigningMethodEdDSA, mustPrivate(t, key), claims, map[string]any{"kid": "forged-" + string(rune('a'+i%26)), "typ": "at+jwt"})
		_, err := v.Verify(t.Context(), forged)
		require.ErrorIs(t, err, authkit.ErrInvalidToken)
	}
	assert.LessOrEqual(t, fetches.Load(), int32(2), "unknown kids may refresh the keys once, not once each")

	// The issuer rotates; after the interval the Verifier learns the new key.
	second, err := authkit.GenerateKey("two", authkit.AlgES256)
	require.NoError(t, err)
	require.NoError(t, k.SetKeys(second, key))
	fresh, err := k.Login(t.Context(), "v@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	k.clock.Advance(2 * time.Minute)
	_, err = v.Verify(t.Context(), fresh.AccessToken)
	assert.NoError(t, err, "an unknown kid after the interval fetches the new keys")
	_, err = v.Verify(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "the old key still verifies while published")
}

func TestVerifierRefusesABadStart(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer down.Close()
	_, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{JWKSURL: down.URL, Issuer: kitIssuer, Audience: kitIssuer})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, authkit.ErrConfig, "the config is good; the issuer is down")
	_, err = authkit.NewVerifier(t.Context(), authkit.VerifierConfig{})
	assert.ErrorIs(t, err, authkit.ErrConfig)
}

func TestVerifierFetchesWithoutBlockingOrBeingCancelled(t *testing.T) {
	key, err := authkit.GenerateKey("one", authkit.AlgEdDSA)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.SigningKey = key })
	var fetches atomic.Int32
	var block, cancelled atomic.Bool
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if block.Load() {
			select { // report the fetch, never blocking on a fetch too many
			case entered <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				cancelled.Store(true)
				return
			}
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(k.JWKS())
	}))
	defer jwks.Close()
	answer := sync.OnceFunc(func() { close(release) })
	defer answer()

	// Neither the client nor FetchTimeout ends a fetch during the test, so
	// a fetch that hangs at the issuer hangs until answer: a verification
	// that waited for it would never return.
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{JWKSURL: jwks.URL, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now, HTTPClient: jwks.Client(), FetchTimeout: time.Hour})
	require.NoError(t, err)
	k.clock.Advance(2 * time.Hour)
	tok, _ := k.register(t, "nb@example.com", pw)

	// The keys are stale: a request starts a fetch, which hangs at the
	// issuer, and then ends. Verifications go on with the keys at hand.
	block.Store(true)
	first, cancel := context.WithCancel(t.Context())
	verified := make(chan error, 1)
	go func() {
		_, err := v.Verify(first, tok.AccessToken)
		verified <- err
	}()
	require.NoError(t, testkit.Receive(t, verified, "Verify while a fetch of stale keys hangs"), "the keys at hand verify")
	testkit.Receive(t, entered, "the fetch of stale keys")
	cancel()
	for range 10 {
		_, err := v.Verify(t.Context(), tok.AccessToken)
		require.NoError(t, err, "a fetch under way blocks no verification")
	}

	// The issuer rotates. A token of the new key waits for the fetch under
	// way as long as its own context lets it, and no longer.
	second, err := authkit.GenerateKey("two", authkit.AlgES256)
	require.NoError(t, err)
	require.NoError(t, k.SetKeys(second, key))
	fresh, err := k.Login(t.Context(), "nb@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	short, cancelShort := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancelShort()
	testkit.Finish(t, "Verify of a token of an unknown key while the fetch hangs", func() {
		_, err = v.Verify(short, fresh.AccessToken)
	})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "not yet known")

	// The issuer answers: the fetch, whose starter is long gone, completes.
	block.Store(false)
	answer()
	require.Eventually(t, func() bool {
		_, err := v.Verify(t.Context(), fresh.AccessToken)
		return err == nil
	}, testkit.Timeout, 10*time.Millisecond, "the detached fetch loaded the new key")
	assert.False(t, cancelled.Load(), "the fetch was not cancelled with the request that started it")
	assert.EqualValues(t, 2, fetches.Load(), "one fetch at start, one for the stale keys")
}

func TestVerifierFetchTimesOut(t *testing.T) {
	// The issuer takes the request and never answers, not even when the
	// client gives up: only the test lets it go, after NewVerifier returned.
	hung := testkit.NewGate()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = hung.Wait(context.Background())
	}))
	defer hang.Close()
	defer hung.Open()
	// A client without a timeout of its own, so that FetchTimeout is the
	// only thing that can end the fetch: without it NewVerifier would wait
	// for the issuer forever.
	var v *authkit.Verifier
	var err error
	testkit.Finish(t, "NewVerifier against an issuer that never answers", func() {
		v, err = authkit.NewVerifier(t.Context(), authkit.VerifierConfig{JWKSURL: hang.URL, Issuer: kitIssuer, Audience: kitIssuer, HTTPClient: &http.Client{}, FetchTimeout: 100 * time.Millisecond})
	})
	// The gate opens only now, so the issuer answered nothing.
	assert.Nil(t, v)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the fetch gives up after FetchTimeout")
}
