package authkit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheFixture is a keyring with a clock the test moves, and tokens it
// signed.
type cacheFixture struct {
	kr  *keyring
	now time.Time
	mu  sync.Mutex
}

func newCacheFixture(t testing.TB, budget int) *cacheFixture {
	t.Helper()
	f := &cacheFixture{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	key, err := NewHMACKey("hs", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	f.kr, err = newKeyring(key, nil, verifyRules{issuer: benchIssuer, audience: benchIssuer, leeway: time.Second, now: f.clock, cacheBytes: budget})
	require.NoError(t, err)
	return f
}

func (f *cacheFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *cacheFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// token signs a token for user, valid for ttl from now, with extra bytes
// of custom claims.
func (f *cacheFixture) token(t testing.TB, user string, ttl time.Duration, extra int) string {
	t.Helper()
	now := f.clock()
	claims := &Claims{
		UserID: user, Email: user + "@example.com", AuthMethods: []string{MethodPassword},
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: benchIssuer, Subject: user, Audience: jwt.ClaimStrings{benchIssuer},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
	}
	var custom []byte
	if extra > 0 {
		custom = []byte(`{"blob":"` + strings.Repeat("x", extra) + `"}`)
	}
	tok, err := f.kr.sign(claims, custom)
	require.NoError(t, err)
	return tok
}

// cached reports whether the cache holds token, and its bytes in all.
func (f *cacheFixture) cached(token string) (held bool, bytes int) {
	c := f.kr.verified
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		if _, ok := s.entries[token]; ok {
			held = true
		}
		bytes += s.bytes
		s.mu.Unlock()
	}
	return held, bytes
}

// TestTokenCacheServesWhatVerified shows that a token shown again is
// answered from the cache, not verified again: once cached, it keeps
// verifying after its key left the keyring's lookup. A copy is handed out
// each time, so a caller changing its claims changes nothing for the next.
func TestTokenCacheServesWhatVerified(t *testing.T) {
	f := newCacheFixture(t, 0)
	tok := f.token(t, "ada", time.Hour, 0)
	first, err := f.kr.verify(tok)
	require.NoError(t, err)
	held, _ := f.cached(tok)
	require.True(t, held, "a token that verified is cached")

	// Take the key away from the lookup: only the cache can answer now.
	byID := f.kr.byID
	f.kr.byID = map[string]*Key{}
	second, err := f.kr.verify(tok)
	require.NoError(t, err, "answered from the cache")
	assert.Equal(t, first.UserID, second.UserID)

	second.Email = "mallory@example.com"
	second.AuthMethods[0] = "hwk"
	second.Audience[0] = "elsewhere"
	second.ExpiresAt.Time = second.ExpiresAt.Add(1000 * time.Hour)
	third, err := f.kr.verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", third.Email, "a caller's change stays with the caller")
	assert.Equal(t, []string{MethodPassword}, third.AuthMethods)
	assert.Equal(t, jwt.ClaimStrings{benchIssuer}, third.Audience)
	assert.Equal(t, first.ExpiresAt.Unix(), third.ExpiresAt.Unix())

	f.kr.byID = byID
	f.advance(time.Hour + time.Second)
	_, err = f.kr.verify(tok)
	require.ErrorIs(t, err, ErrTokenExpired, "a hit re-checks expiry, with the leeway")
	held, _ = f.cached(tok)
	assert.False(t, held, "the expired token left the cache")
}

// TestTokenCacheKeepsOutRefusedTokens checks that no refused token enters
// the cache: not a forged signature, not a bare payload, not an expired
// token.
func TestTokenCacheKeepsOutRefusedTokens(t *testing.T) {
	f := newCacheFixture(t, 0)
	good := f.token(t, "ada", time.Hour, 0)
	expired := f.token(t, "bob", -time.Hour, 0)
	head, rest, _ := strings.Cut(good, ".")
	payload, _, _ := strings.Cut(rest, ".")
	for name, bad := range map[string]string{
		"forged signature": head + "." + payload + ".AAAA",
		"no signature":     head + "." + payload + ".",
		"expired":          expired,
		"garbage":          "not.a.token",
	} {
		_, err := f.kr.verify(bad)
		require.Error(t, err, name)
		held, bytes := f.cached(bad)
		assert.False(t, held, name)
		assert.Zero(t, bytes, "%s: the cache holds nothing", name)
	}
}

// TestTokenCacheStaysWithinItsBudget fills a small cache with many tokens
// from many goroutines and checks that its bytes never pass the budget,
// that every token still verifies (from the cache or afresh), that a token
// too large for a shard is verified without being kept, and that a budget
// below zero keeps no cache.
func TestTokenCacheStaysWithinItsBudget(t *testing.T) {
	const budget = 64 << 10
	f := newCacheFixture(t, budget)
	tokens := make([]string, 400)
	for i := range tokens {
		tokens[i] = f.token(t, fmt.Sprintf("user-%d", i), time.Hour, i%7*50)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 3 {
				for i := range tokens {
					tok := tokens[(i+g*50+round)%len(tokens)]
					if _, err := f.kr.verify(tok); err != nil {
						t.Errorf("verify: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	_, bytes := f.cached("")
	assert.LessOrEqual(t, bytes, budget, "the cache keeps to its budget")
	assert.Positive(t, bytes)

	large := f.token(t, "large", time.Hour, budget/tokenCacheShards)
	_, err := f.kr.verify(large)
	require.NoError(t, err)
	held, _ := f.cached(large)
	assert.False(t, held, "a token larger than a shard is not kept")

	none := newCacheFixture(t, -1)
	assert.Nil(t, none.kr.verified, "a budget below zero keeps no cache")
	_, err = none.kr.verify(none.token(t, "ada", time.Hour, 0))
	require.NoError(t, err)
}

// TestTokenCacheRechecksNotBefore checks that a cached token with an nbf
// is refused when the clock is set back before it.
func TestTokenCacheRechecksNotBefore(t *testing.T) {
	f := newCacheFixture(t, 0)
	now := f.clock()
	claims := &Claims{
		UserID: "ada", RegisteredClaims: jwt.RegisteredClaims{
			Issuer: benchIssuer, Subject: "ada", Audience: jwt.ClaimStrings{benchIssuer},
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Hour)), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
	}
	tok, err := f.kr.sign(claims, nil)
	require.NoError(t, err)
	_, err = f.kr.verify(tok)
	require.NoError(t, err)
	f.advance(-time.Minute)
	_, err = f.kr.verify(tok)
	require.ErrorIs(t, err, ErrInvalidToken, "not yet valid, cached or not")
}

// BenchmarkVerifyCached verifies one token again and again with and
// without the cache, for each algorithm, to set the one against the other
// in one run.
func BenchmarkVerifyCached(b *testing.B) {
	for _, alg := range []string{AlgHS256, AlgEdDSA, AlgES256, AlgRS256} {
		var key *Key
		var err error
		if alg == AlgHS256 {
			key, err = NewHMACKey("hs", []byte("0123456789abcdef0123456789abcdef"))
		} else {
			key, err = GenerateKey("", alg)
		}
		require.NoError(b, err)
		for _, budget := range []int{-1, 0} {
			kr, err := newKeyring(key, nil, verifyRules{issuer: benchIssuer, audience: benchIssuer, leeway: DefaultLeeway, now: time.Now, cacheBytes: budget})
			require.NoError(b, err)
			now := time.Now()
			tok, err := kr.sign(&Claims{
				UserID: "5f0c7a8e-8c1e-4f3a-9a57-2b1d7f0e9c11", Email: "bench@example.com", AuthMethods: []string{MethodPassword},
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: benchIssuer, Subject: "5f0c7a8e-8c1e-4f3a-9a57-2b1d7f0e9c11", Audience: jwt.ClaimStrings{benchIssuer},
					IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				},
			}, nil)
			require.NoError(b, err)
			name := alg + "/cache=off"
			if budget == 0 {
				name = alg + "/cache=on"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := kr.verify(tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestTokenCacheKeepsNoCallersString checks that the cache keeps a copy of
// a token that is a slice of a larger string (the header it came in, as
// httpauth slices it), not the larger string: a megabyte of padding in an
// Authorization header must not be held for each token while the cache
// counts the token's bytes.
func TestTokenCacheKeepsNoCallersString(t *testing.T) {
	f := newCacheFixture(t, 0)
	tok := f.token(t, "ada", time.Hour, 0)
	header := "Bearer" + strings.Repeat(" ", 1<<20) + tok
	_, err := f.kr.verify(strings.TrimSpace(header[len("Bearer"):]))
	require.NoError(t, err)
	s := f.kr.verified.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	start := uintptr(unsafe.Pointer(unsafe.StringData(header)))
	for k := range s.entries {
		p := uintptr(unsafe.Pointer(unsafe.StringData(k)))
		assert.False(t, p >= start && p < start+uintptr(len(header)), "the cached token points into the caller's header")
	}
}
