package testkit

import (
	"sync"
	"time"
)

// Start is the time a new Clock shows: 1 March 2026, 12:00 UTC.
var Start = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// Clock is a settable time source for authkit.Config.Now (and any other
// Now func() time.Time). It stands still until Advance moves it. It is safe
// for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing Start.
func NewClock() *Clock { return &Clock{now: Start} }

// Now returns the time the clock shows. Pass the method value c.Now as a
// Config's Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
