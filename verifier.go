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

	// FetchTimeout bounds one fetch of JWKSURL. A fetch serves every
	// verification waiting for it, so it is not cancelled when the request
	// that started it ends; this bound is what stops it. If zero, 10
	// seconds.
	FetchTimeout time.Duration

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
	cfg   VerifierConfig
	rules verifyRules
	keys  atomic.Pointer[keyring]

	mu      sync.Mutex // guards the fields below; never held during a fetch
	last    time.Time  // when a fetch last started
	loaded  time.Time  // when the last successful fetch started
	pending *fetchCall // the fetch under way, or nil
}

// fetchCall is one fetch of the JWK Set, which any number of verifications
// may wait for.
type fetchCall struct {
	done chan struct{} // closed when the fetch ends
	err  error         // its outcome, set before done is closed
}

// wait waits until the fetch ends or ctx does.
func (f *fetchCall) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// defaultFetchTimeout bounds a fetch when VerifierConfig.FetchTimeout is zero.
const defaultFetchTimeout = 10 * time.Second

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
	setDefault(&cfg.FetchTimeout, defaultFetchTimeout)
	if cfg.FetchTimeout < 0 {
		return nil, configError("FetchTimeout must not be negative")
	}
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
// MinRefreshInterval) and wait for them, as long as ctx lets it, before it
// is refused. When the keys are older than RefreshInterval, a fetch starts
// in the background and the keys at hand keep verifying meanwhile. The
// error wraps ErrTokenExpired or ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if v.cfg.JWKSURL != "" && v.cfg.Now().Sub(v.loadedAt()) > v.cfg.RefreshInterval {
		_, _ = v.startFetch(ctx, false) // on failure, keep using the keys we have
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

// refresh fetches the JWK Set unless one was started within
// MinRefreshInterval (or force is set), or joins the fetch under way, and
// waits for it as long as ctx lets it.
func (v *Verifier) refresh(ctx context.Context, force bool) error {
	f, err := v.startFetch(ctx, force)
	if err != nil {
		return err
	}
	return f.wait(ctx)
}

// startFetch returns the fetch under way, or starts one unless one was
// started within MinRefreshInterval (or force is set). The fetch runs on
// its own goroutine, detached from ctx's cancellation (it serves every
// verification waiting for it, not only the one that started it) and
// bounded by FetchTimeout; no lock is held while it runs.
func (v *Verifier) startFetch(ctx context.Context, force bool) (*fetchCall, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pending != nil {
		return v.pending, nil
	}
	now := v.cfg.Now()
	if !force && now.Sub(v.last) < v.cfg.MinRefreshInterval {
		return nil, errTooSoon
	}
	v.last = now
	f := &fetchCall{done: make(chan struct{})}
	v.pending = f
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.cfg.FetchTimeout)
	go func() {
		defer cancel()
		err := v.load(fctx)
		v.mu.Lock()
		v.pending = nil
		if err == nil {
			v.loaded = now
		}
		v.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	return f, nil
}

// load fetches the JWK Set and swaps in the keyring it gives.
func (v *Verifier) load(ctx context.Context) error {
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
