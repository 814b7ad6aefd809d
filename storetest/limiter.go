package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// RunLimiter runs the conformance suite for a Limiter against the one that
// newLimiter returns. newLimiter is called once per subtest and must return
// a fresh limiter with no counters; Stores that implement Limiter adopt it
// beside Run:
//
//	storetest.RunLimiter(t, func(t testing.TB) authkit.Limiter { return newStore(t) })
func RunLimiter(t *testing.T, newLimiter func(t testing.TB) authkit.Limiter) {
	t.Run("Burst", func(t *testing.T) { testLimiterBurst(t, newLimiter(t)) })
	t.Run("Peek", func(t *testing.T) { testLimiterPeek(t, newLimiter(t)) })
	t.Run("Reset", func(t *testing.T) { testLimiterReset(t, newLimiter(t)) })
	t.Run("DeleteStale", func(t *testing.T) { testLimiterDeleteStale(t, newLimiter(t)) })
	t.Run("Concurrency", func(t *testing.T) { testLimiterConcurrency(t, newLimiter(t)) })
}

// limitKey returns a random key shaped like the Authenticator's.
func limitKey() string { return "test:" + newHash()[:32] }

func testLimiterBurst(t *testing.T, l authkit.Limiter) {
	ctx := t.Context()
	lim := authkit.Limit{Burst: 3, Every: time.Minute}
	start := now()
	key, other := limitKey(), limitKey()
	for i := range 3 {
		ok, _, err := l.Allow(ctx, key, lim, start)
		require.NoError(t, err)
		require.True(t, ok, "event %d of a burst of 3", i+1)
	}
	ok, wait, err := l.Allow(ctx, key, lim, start)
	require.NoError(t, err)
	assert.False(t, ok, "the fourth event at once")
	assert.Equal(t, time.Minute, wait, "one interval until the next")

	ok, _, err = l.Allow(ctx, other, lim, start)
	require.NoError(t, err)
	assert.True(t, ok, "keys are counted apart")

	ok, wait, err = l.Allow(ctx, key, lim, start.Add(59*time.Second))
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, time.Second, wait)
	ok, _, err = l.Allow(ctx, key, lim, start.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, ok, "refilled by one after one interval")
	ok, _, err = l.Allow(ctx, key, lim, start.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, ok, "and by only one")

	ok, _, err = l.Allow(ctx, key, lim, start.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, ok, "whole again after a long pause")
}

func testLimiterPeek(t *testing.T, l authkit.Limiter) {
	ctx := t.Context()
	lim := authkit.Limit{Burst: 2, Every: time.Minute}
	at := now()
	key := limitKey()
	for range 5 {
		ok, _, err := l.Peek(ctx, key, lim, at)
		require.NoError(t, err)
		require.True(t, ok, "peeking spends nothing")
	}
	for range 2 {
		ok, _, err := l.Allow(ctx, key, lim, at)
		require.NoError(t, err)
		require.True(t, ok)
	}
	ok, wait, err := l.Peek(ctx, key, lim, at)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, time.Minute, wait)
}

func testLimiterReset(t *testing.T, l authkit.Limiter) {
	ctx := t.Context()
	lim := authkit.Limit{Burst: 1, Every: time.Hour}
	at := now()
	key := limitKey()
	ok, _, err := l.Allow(ctx, key, lim, at)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = l.Allow(ctx, key, lim, at)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, l.Reset(ctx, key))
	ok, _, err = l.Allow(ctx, key, lim, at)
	require.NoError(t, err)
	assert.True(t, ok, "a reset key has its whole budget")
	require.NoError(t, l.Reset(ctx, limitKey()), "resetting an unknown key is no error")
}

func testLimiterDeleteStale(t *testing.T, l authkit.Limiter) {
	ctx := t.Context()
	at := now()
	short, long := limitKey(), limitKey()
	_, _, err := l.Allow(ctx, short, authkit.Limit{Burst: 5, Every: time.Minute}, at)
	require.NoError(t, err)
	_, _, err = l.Allow(ctx, long, authkit.Limit{Burst: 5, Every: time.Hour}, at)
	require.NoError(t, err)
	n, err := l.DeleteStale(ctx, at.Add(2*time.Minute))
	require.NoError(t, err)
	assert.EqualValues(t, 1, n, "only the counter whose budget is whole again")
	ok, wait, err := l.Peek(ctx, long, authkit.Limit{Burst: 1, Every: time.Hour}, at)
	require.NoError(t, err)
	assert.False(t, ok, "the other counter survived")
	assert.Equal(t, time.Hour, wait)
}

func testLimiterConcurrency(t *testing.T, l authkit.Limiter) {
	ctx := t.Context()
	lim := authkit.Limit{Burst: 10, Every: time.Hour}
	at := now()
	key := limitKey()
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed, refused := 0, 0
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			ok, _, err := l.Allow(ctx, key, lim, at)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("Allow: %v", err)
			case ok:
				allowed++
			default:
				refused++
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 10, allowed, "100 parallel checks against a burst of 10")
	assert.Equal(t, 90, refused)
}
