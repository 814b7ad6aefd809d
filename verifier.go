package authkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// VerifierConfig configures a Verifier. Set JWKSURL or Keys (or both).
type VerifierConfig struct {
	// JWKSURL is where the issuer publishes its keys, such as
	// "https://auth.example.com/api/auth/jwks.json". Use https outside
	// tests: whoever can change this document can mint tokens you accept.
	JWKSURL string

	// Keys are static verification keys, used beside the fetched ones.
	Keys []*Key

	// Issuer and Audience must match the issuer's Config. If empty,
	// "authkit".
	Issuer   string
	Audience string

	// Leeway is the clock skew allowed. If zero, 30 seconds.
	Leeway time.Duration

	// HTTPClient fetches JWKSURL. If nil, a client with a 10 second timeout.
	HTTPClient *http.Client

	// RefreshInterval is how long fetched keys are used before they are
	// fetched again. If zero, 1 hour.
	RefreshInterval time.Duration

	// MinRefreshInterval is the least time between two fetches caused by a
	// token whose key id is unknown, so that a flood of forged key ids
	// cannot hammer the issuer. If zero, 1 minute.
	MinRefreshInterval time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Verifier checks access tokens for services that hold neither the
// issuer's secret nor its Store: it verifies signatures with public keys
// from the issuer's JWK Set (or static keys) and checks the claims. It does
// not see the token version or the account state, so tokens stay valid
// until they expire even after logout-all or a password reset: keep the
// access token lifetime short. Safe for concurrent use.
type Verifier struct {
	cfg    VerifierConfig
	rules  verifyRules
	keys   atomic.Pointer[keyring]
	mu     sync.Mutex // serializes fetches
	last   time.Time  // when the keys were last fetched (or tried)
	loaded time.Time  // when they were last fetched successfully
}

// Maximum size of a JWK Set document the Verifier reads.
const maxJWKSBytes = 1 << 20

// NewVerifier returns a Verifier. With a JWKSURL it fetches the keys once
// now, so that a wrong URL fails at start; the error wraps ErrConfig for a
// bad config.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if cfg.JWKSURL == "" && len(cfg.Keys) == 0 {
		return nil, configError("a Verifier needs JWKSURL or Keys")
	}
	setDefault(&cfg.Issuer, DefaultIssuer)
	setDefault(&cfg.Audience, DefaultAudience)
	setDefault(&cfg.Leeway, DefaultLeeway)
	setDefault(&cfg.RefreshInterval, time.Hour)
	setDefault(&cfg.MinRefreshInterval, time.Minute)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, rules: verifyRules{cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now}}
	if cfg.JWKSURL == "" {
		kr, err := newKeyring(nil, cfg.Keys, v.rules)
		if err != nil {
			return nil, err
		}
		v.keys.Store(kr)
		return v, nil
	}
	if err := v.refresh(ctx, true); err != nil {
		return nil, err
	}
	return v, nil
}

// Verify checks an access token and returns its claims. A token whose key
// id is unknown makes the Verifier fetch the keys again (at most once per
// MinRefreshInterval) before it is refused. The error wraps
// ErrTokenExpired or ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if v.cfg.JWKSURL != "" && v.cfg.Now().Sub(v.loadedAt()) > v.cfg.RefreshInterval {
		_ = v.refresh(ctx, false) // on failure, keep using the keys we have
	}
	claims, err := v.keys.Load().verify(token)
	if errors.Is(err, errUnknownKeyID) && v.cfg.JWKSURL != "" {
		if v.refresh(ctx, false) == nil {
			claims, err = v.keys.Load().verify(token)
		}
	}
	return claims, err
}

func (v *Verifier) loadedAt() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.loaded
}

// errTooSoon means a fetch was skipped because the last one was recent.
var errTooSoon = errors.New("authkit: keys fetched too recently")

// refresh fetches the JWK Set unless one was fetched within
// MinRefreshInterval (or force is set).
func (v *Verifier) refresh(ctx context.Context, force bool) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	if !force && now.Sub(v.last) < v.cfg.MinRefreshInterval {
		return errTooSoon
	}
	v.last = now
	set, err := v.fetch(ctx)
	if err != nil {
		return err
	}
	keys := append([]*Key(nil), v.cfg.Keys...)
	for _, jwk := range set.Keys {
		k, err := jwk.PublicKey()
		if err != nil {
			continue // a key we cannot use cannot verify anything
		}
		keys = append(keys, k)
	}
	kr, err := newKeyring(nil, keys, v.rules)
	if err != nil {
		return fmt.Errorf("authkit: jwks: %w", err)
	}
	v.keys.Store(kr)
	v.loaded = now
	return nil
}

// fetch GETs and decodes the JWK Set.
func (v *Verifier) fetch(ctx context.Context) (JWKSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return JWKSet{}, configError("JWKSURL: %v", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return JWKSet{}, fmt.Errorf("authkit: fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return JWKSet{}, fmt.Errorf("authkit: fetch jwks: status %d", resp.StatusCode)
	}
	var set JWKSet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return JWKSet{}, fmt.Errorf("authkit: decode jwks: %w", err)
	}
	return set, nil
}
