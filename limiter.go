package authkit

import (
	"context"
	"sync"
	"time"
)

// Limit is a rate limit: Burst events may happen at once, and the budget
// refills by one event every Every. The zero Limit means "the kit's
// default" where a Config field holds it; Off switches a limit off.
//
// Limits are kept with the generic cell rate algorithm (GCRA): per key the
// Limiter stores one time, the theoretical arrival time (TAT) of the next
// event, so a check is one atomic read-modify-write.
type Limit struct {
	Burst int
	Every time.Duration
	Off   bool
}

// Decide applies the limit to an event at now, given the key's stored TAT
// (the zero time for a key never seen). It returns the TAT to store if the
// event is allowed, whether it is, and, when it is not, how long until it
// would be. Limiter implementations use it so that every one decides alike.
func (l Limit) Decide(tat, now time.Time) (next time.Time, ok bool, retryAfter time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	tolerance := time.Duration(l.Burst-1) * l.Every
	if wait := tat.Sub(now) - tolerance; wait > 0 {
		return tat, false, wait
	}
	return tat.Add(l.Every), true, 0
}

// Limiter keeps rate-limit counters. Every Authenticator that shares a
// Limiter shares its budgets: pass a Store that implements it (memstore,
// sqlstore) so that all instances of a service count together. Methods must
// be safe for concurrent use and each check must be atomic: of 100
// concurrent Allow calls against a fresh key with a burst of 10, exactly 10
// succeed.
type Limiter interface {
	// Allow records one event for key at now if l allows it, and reports
	// whether it did; when it did not, retryAfter says how long until it
	// would. It is one atomic step.
	Allow(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Peek reports what Allow would answer, recording nothing.
	Peek(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Reset forgets the events of key.
	Reset(ctx context.Context, key string) error
	// DeleteStale deletes the counters of keys whose budget is whole again at
	// now (their TAT is not after now) and returns how many it deleted.
	DeleteStale(ctx context.Context, now time.Time) (int64, error)
}

// MemoryLimiter is a Limiter that keeps its counters in this process. The
// zero value is ready to use. Instances of a service that each keep their
// own MemoryLimiter each grant the whole budget: share a Store-backed
// Limiter instead.
type MemoryLimiter struct {
	mu   sync.Mutex
	tats map[string]time.Time
}

var _ Limiter = (*MemoryLimiter)(nil)

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(ctx context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next, ok, wait := l.Decide(m.tats[key], now)
	if ok {
		if m.tats == nil {
			m.tats = make(map[string]time.Time)
		}
		m.tats[key] = next
	}
	return ok, wait, nil
}

// Peek implements Limiter.
func (m *MemoryLimiter) Peek(ctx context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok, wait := l.Decide(m.tats[key], now)
	return ok, wait, nil
}

// Reset implements Limiter.
func (m *MemoryLimiter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tats, key)
	return nil
}

// DeleteStale implements Limiter.
func (m *MemoryLimiter) DeleteStale(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
			n++
		}
	}
	return n, nil
}
