package authkit

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTokenCacheBytes is the default of Config.TokenCacheBytes and
// VerifierConfig.TokenCacheBytes: 16 MiB, about ten thousand tokens of a
// usual size.
const DefaultTokenCacheBytes = 16 << 20

// tokenCacheShards spreads the cache over locks, so that concurrent
// requests with different tokens seldom wait for each other.
const tokenCacheShards = 32

// tokenEntryOverhead is what the cache counts for an entry beside its
// token and payload: the map's slot, the Claims and the strings in them.
const tokenEntryOverhead = 512

// tokenCache remembers tokens that verified, with their claims, so that a
// token shown again is not verified again. It belongs to one keyring: a
// rotation or removal of keys makes a new keyring and so an empty cache,
// and no entry outlives the keys that verified it. Only tokens that
// verified enter it, so that tokens made up by anyone cannot push out the
// good ones; an entry is used only while its token is still within its
// validity (exp and nbf against the clock, with the leeway), and goes once
// it is not. Its memory is bounded by the bytes of the tokens and payloads
// it holds, plus tokenEntryOverhead for each: when a shard is full, new
// tokens push out others, those that expired first.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	leeway   time.Duration
	now      func() time.Time
	shards   [tokenCacheShards]tokenShard
}

type tokenShard struct {
	mu      sync.Mutex
	entries map[string]*Claims
	bytes   int
}

// newTokenCache returns a cache of at most budget bytes, or nil (no cache)
// for a budget below zero.
func newTokenCache(budget int, leeway time.Duration, now func() time.Time) *tokenCache {
	if budget < 0 {
		return nil
	}
	if budget == 0 {
		budget = DefaultTokenCacheBytes
	}
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: budget / tokenCacheShards, leeway: leeway, now: now}
	for i := range c.shards {
		c.shards[i].entries = map[string]*Claims{}
	}
	return c
}

func (c *tokenCache) shard(token string) *tokenShard {
	return &c.shards[maphash.String(c.seed, token)%tokenCacheShards]
}

// cost is what an entry counts against the budget.
func entryCost(token string, claims *Claims) int {
	return len(token) + len(claims.payload) + tokenEntryOverhead
}

// get returns a copy of the claims of token if it verified before and is
// still within its validity now.
func (c *tokenCache) get(token string) (*Claims, bool) {
	s := c.shard(token)
	s.mu.Lock()
	claims, ok := s.entries[token]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	if !c.valid(claims, c.now()) {
		s.mu.Lock()
		if s.entries[token] == claims {
			delete(s.entries, token)
			s.bytes -= entryCost(token, claims)
		}
		s.mu.Unlock()
		return nil, false
	}
	return claims.clone(), true
}

// valid reports whether claims are within their validity at now, as the
// keyring's checks have it: before exp plus the leeway, and not before
// nbf less the leeway. (iat was checked when the token verified; it only
// moves further into the past.)
func (c *tokenCache) valid(claims *Claims, now time.Time) bool {
	if claims.ExpiresAt == nil || !now.Before(claims.ExpiresAt.Add(c.leeway)) {
		return false
	}
	return claims.NotBefore == nil || !now.Before(claims.NotBefore.Add(-c.leeway))
}

// put remembers claims, those of a token that verified. The cache keeps
// claims as they are: the caller must not change them after (verify hands
// out copies).
func (c *tokenCache) put(token string, claims *Claims) {
	cost := entryCost(token, claims)
	if cost > c.perShard {
		return
	}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[token]; ok {
		return
	}
	if s.bytes+cost > c.perShard {
		now := c.now()
		for t, old := range s.entries {
			if !c.valid(old, now) {
				delete(s.entries, t)
				s.bytes -= entryCost(t, old)
			}
		}
		// Then any others, in the map's own (random) order, until the new
		// one fits.
		for t, old := range s.entries {
			if s.bytes+cost <= c.perShard {
				break
			}
			delete(s.entries, t)
			s.bytes -= entryCost(t, old)
		}
	}
	s.entries[token] = claims
	s.bytes += cost
}

// claimsCopy is a Claims with room for what its pointers and slices point
// to, so that clone makes a copy in one allocation for the usual token.
type claimsCopy struct {
	claims Claims
	dates  [4]jwt.NumericDate
	amr    [4]string
	aud    [2]string
}

// clone returns a copy of c that shares nothing a caller could change:
// changing the copy, its dates and slices included, leaves c as it was.
// (payload is never changed, so it is shared.)
func (c *Claims) clone() *Claims {
	cp := &claimsCopy{claims: *c}
	cp.claims.AuthMethods = append(cp.amr[:0:len(cp.amr)], c.AuthMethods...)
	cp.claims.Audience = append(cp.aud[:0:len(cp.aud)], c.Audience...)
	if c.AuthMethods == nil {
		cp.claims.AuthMethods = nil
	}
	if c.Audience == nil {
		cp.claims.Audience = nil
	}
	for i, d := range []**jwt.NumericDate{&cp.claims.AuthTime, &cp.claims.ExpiresAt, &cp.claims.NotBefore, &cp.claims.IssuedAt} {
		if *d != nil {
			cp.dates[i] = **d
			*d = &cp.dates[i]
		}
	}
	return &cp.claims
}
