package authkit

import (
	"context"
	"sync"
	"time"
)

// DefaultHousekeeping is how often an Authenticator runs Cleanup itself
// when Config.Housekeeping is zero.
const DefaultHousekeeping = time.Hour

// housekeeper runs Cleanup on a schedule until it is stopped.
type housekeeper struct {
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// startHousekeeping runs a.Cleanup every interval, on a goroutine of its
// own, until the returned housekeeper is stopped. Failures are logged and
// retried at the next tick: the flows check expiry themselves, so a late
// cleanup only leaves dead records longer.
func (a *Authenticator) startHousekeeping(interval time.Duration) *housekeeper {
	h := &housekeeper{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			n, err := a.Cleanup(ctx)
			cancel()
			switch {
			case err != nil:
				a.cfg.Logger.Warn("authkit: housekeeping", "deleted", n, "error", err)
			case n > 0:
				a.cfg.Logger.Info("authkit: housekeeping", "deleted", n)
			}
		}
	}()
	return h
}

// close stops the housekeeper and waits for a cleanup under way to end,
// or for ctx.
func (h *housekeeper) close(ctx context.Context) error {
	if h == nil {
		return nil
	}
	h.stopOnce.Do(func() { close(h.stop) })
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
