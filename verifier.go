package authkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VerifierConfig configures a Verifier. Set JWKSURL or Keys (or both), and
// Issuer and Audience.
type VerifierConfig struct {
	// JWKSURL is where the issuer publishes its keys, such as
	// "https://auth.example.com/api/auth/jwks.json". Use https outside
	// tests: whoever can change this document can mint tokens you accept.
	// Each fetched set is authoritative: a key it no longer lists stops
	// verifying, and a set with no keys leaves only Keys. Within a set, the
	// first usable key with a given kid is used and later ones with the
	// same kid, or with the kid of one of Keys, are skipped.
	JWKSURL string

	// Keys are static verification keys, used beside the fetched ones.
	// They never expire and no fetched set removes them.
	Keys []*Key

	// Issuer is the "iss" claim every token must carry: the issuer's
	// Config.Issuer, which is its Config.BaseURL unless set (such as
	// "https://app.example.com"). Required: a Verifier has no default,
	// since any default would be shared by every deployment.
	Issuer string

	// Audience is the "aud" claim every token must carry: the issuer's
	// Config.Audience, which is its Config.BaseURL unless set. Required.
	Audience string

	// Leeway is the clock skew allowed. If zero, 30 seconds.
	Leeway time.Duration

	// TokenCacheBytes bounds the cache of tokens that verified, as
	// Config.TokenCacheBytes does for an Authenticator. If zero,
	// DefaultTokenCacheBytes (16 MiB); below zero, no cache.
	TokenCacheBytes int

	// HTTPClient fetches JWKSURL. If nil, a client with a 10 second
	// timeout. The Verifier fetches with a copy of it (the caller's client
	// is left as it is) that follows a redirect only within JWKSURL's
	// origin: to the same scheme, host and port, so never to another host
	// and never from https to http. A CheckRedirect of the caller's own
	// still decides about the redirects that stay within the origin.
	HTTPClient *http.Client

	// FetchTimeout bounds one fetch of JWKSURL. A fetch serves every
	// verification waiting for it, so it is not cancelled when the request
	// that started it ends; this bound is what stops it. If zero, 10
	// seconds.
	FetchTimeout time.Duration

	// RefreshInterval is how long fetched keys are used before they are
	// fetched again, in the background. If zero, 1 hour.
	RefreshInterval time.Duration

	// MinRefreshInterval is the least time between two fetches caused by a
	// token whose key id is unknown, or by failed fetches, so that a flood
	// of forged key ids cannot hammer the issuer. If zero, 1 minute.
	MinRefreshInterval time.Duration

	// MaxKeyAge is how long fetched keys keep verifying when they cannot
	// be fetched again. Once the last successful fetch is older, the next
	// verification waits for a fetch (as long as its context lets it), and
	// while none succeeds, tokens of fetched keys are refused; Keys still
	// verify. It bounds how long a key the issuer withdrew, because it
	// leaked, stays trusted by a Verifier that cannot reach the issuer. If
	// zero, 24 hours (DefaultMaxKeyAge).
	MaxKeyAge time.Duration

	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// DefaultMaxKeyAge is VerifierConfig.MaxKeyAge when it is zero.
const DefaultMaxKeyAge = 24 * time.Hour

// Verifier checks access tokens for services that hold neither the
// issuer's secret nor its Store: it verifies signatures with public keys
// from the issuer's JWK Set (or static keys) and checks the claims. It does
// not see the token version or the account state, so tokens stay valid
// until they expire even after logout-all or a password reset: keep the
// access token lifetime short. Safe for concurrent use.
type Verifier struct {
	cfg    VerifierConfig
	rules  verifyRules
	client *http.Client // cfg.HTTPClient's copy, with the redirect rule
	static *keyring     // cfg.Keys alone: what is left when fetched keys expire

	fetched atomic.Pointer[fetchedKeys] // nil without JWKSURL

	mu      sync.Mutex // guards the fields below; never held during a fetch
	last    time.Time  // when a fetch last started
	pending *fetchCall // the fetch under way, or nil
}

// fetchedKeys is the outcome of a successful fetch.
type fetchedKeys struct {
	keys *keyring  // cfg.Keys and the keys of the fetched set
	at   time.Time // when the fetch that gave them started
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

// Defaults of VerifierConfig fields.
const (
	defaultFetchTimeout       = 10 * time.Second
	defaultClientTimeout      = 10 * time.Second
	defaultRefreshInterval    = time.Hour
	defaultMinRefreshInterval = time.Minute
	maxRedirects              = 10 // as net/http's default policy
)

// Maximum size of a JWK Set document the Verifier reads.
const maxJWKSBytes = 1 << 20

// errRedirect is why a redirect away from JWKSURL's origin is not followed.
var errRedirect = errors.New("authkit: jwks: redirect to another origin refused")

// NewVerifier returns a Verifier. With a JWKSURL it fetches the keys once
// now, so that a wrong URL fails at start. A config without Issuer or
// Audience, without JWKSURL and Keys, with a JWKSURL that is not an
// absolute http(s) URL, with a negative duration or with an unusable key
// gives an error that wraps ErrConfig.
func NewVerifier(ctx context.Context, cfg VerifierConfig) (*Verifier, error) {
	if cfg.JWKSURL == "" && len(cfg.Keys) == 0 {
		return nil, configError("a Verifier needs JWKSURL or Keys")
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, configError("a Verifier needs Issuer and Audience: the issuer's Config.Issuer and Config.Audience, by default its Config.BaseURL")
	}
	var origin *url.URL
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, configError("JWKSURL must be an absolute http or https URL")
		}
		origin = u
	}
	for name, d := range map[string]time.Duration{
		"Leeway": cfg.Leeway, "FetchTimeout": cfg.FetchTimeout, "RefreshInterval": cfg.RefreshInterval,
		"MinRefreshInterval": cfg.MinRefreshInterval, "MaxKeyAge": cfg.MaxKeyAge,
	} {
		if d < 0 {
			return nil, configError("%s must not be negative", name)
		}
	}
	setDefault(&cfg.Leeway, DefaultLeeway)
	setDefault(&cfg.RefreshInterval, defaultRefreshInterval)
	setDefault(&cfg.MinRefreshInterval, defaultMinRefreshInterval)
	setDefault(&cfg.FetchTimeout, defaultFetchTimeout)
	setDefault(&cfg.MaxKeyAge, DefaultMaxKeyAge)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	v := &Verifier{cfg: cfg, rules: verifyRules{cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now, cfg.TokenCacheBytes}}
	static, err := newKeyring(nil, cfg.Keys, v.rules)
	if err != nil {
		return nil, err
	}
	v.static = static
	if cfg.JWKSURL == "" {
		return v, nil
	}
	client := http.Client{Timeout: defaultClientTimeout}
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	}
	client.CheckRedirect = sameOriginRedirects(origin, client.CheckRedirect)
	v.client = &client
	if err := v.refresh(ctx, true); err != nil {
		return nil, err
	}
	return v, nil
}

// sameOriginRedirects is a CheckRedirect that follows a redirect only to
// origin's scheme, host and port, and then asks next (or, when next is
// nil, allows up to 10 redirects, as net/http does).
func sameOriginRedirects(origin *url.URL, next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	want := originOf(origin)
	return func(req *http.Request, via []*http.Request) error {
		if originOf(req.URL) != want {
			return errRedirect
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("authkit: jwks: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}

// originOf is u's origin (RFC 6454): scheme, host and port, with the
// scheme's default port filled in and letters in lower case.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Verify checks an access token and returns its claims. A token whose key
// id is unknown makes the Verifier fetch the keys again (at most once per
// MinRefreshInterval) and wait for them, as long as ctx lets it, before it
// is refused. When the keys are older than RefreshInterval, a fetch starts
// in the background and the keys at hand keep verifying meanwhile; when
// they are older than MaxKeyAge, Verify waits for the fetch and, if it
// fails, verifies with the static Keys alone. The error wraps
// ErrTokenExpired or ErrInvalidToken.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if v.cfg.JWKSURL == "" {
		return v.static.verify(token)
	}
	now := v.cfg.Now()
	switch age := now.Sub(v.fetched.Load().at); {
	case age > v.cfg.MaxKeyAge:
		_ = v.refresh(ctx, false) // too old to trust: wait for new keys
	case age > v.cfg.RefreshInterval:
		_, _ = v.startFetch(ctx, false) // on failure, keep using the keys we have
	}
	claims, err := v.keys(now).verify(token)
	if errors.Is(err, errUnknownKeyID) && v.refresh(ctx, false) == nil {
		claims, err = v.keys(now).verify(token)
	}
	return claims, err
}

// keys returns the keys that verify at now: the static and the fetched
// ones, or the static ones alone once the fetched ones are older than
// MaxKeyAge.
func (v *Verifier) keys(now time.Time) *keyring {
	f := v.fetched.Load()
	if now.Sub(f.at) > v.cfg.MaxKeyAge {
		return v.static
	}
	return f.keys
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
		err := v.load(fctx, now)
		v.mu.Lock()
		v.pending = nil
		v.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	return f, nil
}

// load fetches the JWK Set and swaps in the keyring it gives: Keys first,
// then each usable key of the set whose kid is not yet taken. Keys the set
// no longer lists are gone; an empty set leaves Keys alone.
func (v *Verifier) load(ctx context.Context, at time.Time) error {
	set, err := v.fetch(ctx)
	if err != nil {
		return err
	}
	keys := append([]*Key(nil), v.cfg.Keys...)
	taken := make(map[string]bool, len(keys)+len(set.Keys))
	for _, k := range keys {
		taken[k.id] = true
	}
	for _, jwk := range set.Keys {
		k, err := jwk.PublicKey()
		if err != nil || taken[k.id] {
			// A key we cannot use cannot verify anything; of two keys
			// with one kid, a token could not say which it means, so the
			// first one listed is kept.
			continue
		}
		taken[k.id] = true
		keys = append(keys, k)
	}
	kr, err := newKeyring(nil, keys, v.rules)
	if err != nil {
		return fmt.Errorf("authkit: jwks: %w", err)
	}
	// The same keys verify the same tokens: keep what they verified, so
	// that a refetch (an hourly one, or one a made-up key id asked for)
	// does not empty the cache. New or removed keys start afresh.
	if old := v.fetched.Load(); old != nil && old.keys != nil && sameKeys(old.keys, kr) {
		kr.verified = old.keys.verified
	}
	v.fetched.Store(&fetchedKeys{keys: kr, at: at})
	return nil
}

// sameKeys reports whether a and b hold the same keys under the same ids:
// the same Key, or public keys with the same JWK.
func sameKeys(a, b *keyring) bool {
	if len(a.byID) != len(b.byID) {
		return false
	}
	for id, ka := range a.byID {
		kb, ok := b.byID[id]
		if !ok {
			return false
		}
		if ka == kb {
			continue
		}
		ja, okA := ka.JWK()
		jb, okB := kb.JWK()
		if !okA || !okB || ja != jb {
			return false
		}
	}
	return true
}

// fetch GETs and decodes the JWK Set. A document without a "keys" member
// (RFC 7517 §5 requires it) is an error, not an empty set.
func (v *Verifier) fetch(ctx context.Context) (JWKSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return JWKSet{}, configError("JWKSURL: %v", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
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
	if set.Keys == nil {
		return JWKSet{}, errors.New("authkit: decode jwks: no \"keys\" member")
	}
	return set, nil
}
