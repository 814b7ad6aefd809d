package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.Limiter = (*Store)(nil)

// maxLimitKey is the longest key the authkit_rate_limits table holds.
const maxLimitKey = 255

// allowAttempts bounds the rounds of Allow when other instances keep
// changing the key between its statements.
const allowAttempts = 8

// Allow implements authkit.Limiter. Every instance sharing the database
// shares the budget. Each event is granted by one atomic statement: a
// conditional UPDATE that moves the key's theoretical arrival time only if
// the limit allows the event, or the INSERT of a key not seen before (which
// does nothing if another instance inserted it first). So of any number of
// concurrent calls, exactly as many succeed as the budget holds, on every
// engine, without transactions or row locks held across round trips.
func (s *Store) Allow(ctx context.Context, key string, l authkit.Limit, now time.Time) (bool, time.Duration, error) {
	if err := checkLimitKey(key); err != nil {
		return false, 0, wrap("allow", err)
	}
	if _, ok, wait := l.Decide(time.Time{}, now); !ok {
		return false, wait, nil // a limit that allows nothing, even at rest
	}
	nowUS := now.UnixMicro()
	every := l.Every.Microseconds()
	tolerance := int64(l.Burst-1) * every
	for range allowAttempts {
		n, err := s.exec(ctx, s.q.allowLimit, nowUS, nowUS+every, every, key, nowUS+tolerance)
		if err != nil {
			return false, 0, wrap("allow", err)
		}
		if n == 1 {
			return true, 0, nil
		}
		// Either the key is new or its budget is spent: try the first.
		n, err = s.exec(ctx, s.q.insertLimit, key, nowUS+every)
		if err != nil {
			return false, 0, wrap("allow", err)
		}
		if n == 1 {
			return true, 0, nil
		}
		tat, err := s.limitTAT(ctx, key)
		if err != nil {
			return false, 0, wrap("allow", err)
		}
		if _, ok, wait := l.Decide(tat, now); !ok {
			return false, wait, nil
		}
		// Another instance reset or inserted the key in between: again.
	}
	return false, 0, wrap("allow", errors.New("the key changed on every attempt"))
}

// Peek implements authkit.Limiter.
func (s *Store) Peek(ctx context.Context, key string, l authkit.Limit, now time.Time) (bool, time.Duration, error) {
	tat, err := s.limitTAT(ctx, key)
	if err != nil {
		return false, 0, wrap("peek", err)
	}
	_, ok, wait := l.Decide(tat, now)
	return ok, wait, nil
}

// limitTAT reads the stored theoretical arrival time of key, or the zero
// time for a key not stored.
func (s *Store) limitTAT(ctx context.Context, key string) (time.Time, error) {
	var us int64
	err := s.queryRow(ctx, s.q.limitTAT, key).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us), nil
}

// Reset implements authkit.Limiter.
func (s *Store) Reset(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, s.q.deleteLimit, key); err != nil {
		return wrap("reset", err)
	}
	return nil
}

// DeleteStale implements authkit.Limiter.
func (s *Store) DeleteStale(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.exec(ctx, s.q.deleteStaleLimits, now.UnixMicro())
	if err != nil {
		return n, wrap("delete stale limits", err)
	}
	return n, nil
}

// checkLimitKey refuses keys the table cannot hold.
func checkLimitKey(key string) error {
	if key == "" || len(key) > maxLimitKey {
		return fmt.Errorf("limit key must be 1 to %d bytes", maxLimitKey)
	}
	return nil
}
