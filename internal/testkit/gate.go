package testkit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

// Gate holds the callers of Wait until the test opens it, and tells the
// test when a caller has arrived. Put one inside a test double (a Mailer, a
// Store method, a PasswordHasher) to prove structurally that some call does
// not wait for it: hold the gate, make the call, and see it return while
// the double is provably still held (Entered has seen it arrive, Waiting
// counts it, and the gate is not yet open). Were the call waiting for the
// double, it could not return before Open.
//
// A Gate starts closed and, once opened, stays open. It is safe for
// concurrent use.
type Gate struct {
	open chan struct{} // closed by Open
	once sync.Once

	mu       sync.Mutex
	arrived  int           // callers that have reached Wait
	reported int           // arrivals Entered has reported
	waiting  int           // callers inside Wait now
	change   chan struct{} // closed and replaced on each arrival
}

// NewGate returns a closed Gate.
func NewGate() *Gate {
	return &Gate{open: make(chan struct{}), change: make(chan struct{})}
}

// Wait blocks until g is open or ctx ends. It returns nil once the gate is
// open, or ctx.Err() if ctx ended first. Every call counts as an arrival
// for Entered, even when the gate is already open.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	g.arrived++
	g.waiting++
	close(g.change)
	g.change = make(chan struct{})
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Entered waits for the next arrival at Wait that it has not reported
// yet, so that n calls of Entered see n arrivals. It fails t if none comes
// within Timeout.
func (g *Gate) Entered(t testing.TB) {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		g.mu.Lock()
		if g.arrived > g.reported {
			g.reported++
			g.mu.Unlock()
			return
		}
		change := g.change
		g.mu.Unlock()
		select {
		case <-change:
		case <-timer.C:
			t.Fatalf("nobody reached the gate within %s", Timeout)
			return
		}
	}
}

// Waiting returns how many callers are inside Wait now: held by the gate
// (or, once it is open, on their way out).
func (g *Gate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

// Open lets every caller of Wait through, those waiting now and those to
// come. Calling it again does nothing, so a test may both open the gate
// and defer Open as a cleanup.
func (g *Gate) Open() { g.once.Do(func() { close(g.open) }) }

// BlockingMailer is an authkit.Mailer whose every Send waits at its
// embedded Gate before handing the message on to Next. While the gate is
// closed no message gets through, so a request that returns meanwhile
// provably did not wait for its mail; Entered says a Send has started.
// Send honours its context: when the Authenticator gives up on a message
// (Close with a context that ends, or its MailTimeout), the held Send
// returns the context's error.
type BlockingMailer struct {
	*Gate
	// Next receives each message once the gate lets it through; nil drops
	// it (Send then succeeds).
	Next authkit.Mailer
}

var _ authkit.Mailer = (*BlockingMailer)(nil)

// NewBlockingMailer returns a BlockingMailer, its gate closed, that hands
// messages on to next (which may be nil).
func NewBlockingMailer(next authkit.Mailer) *BlockingMailer {
	return &BlockingMailer{Gate: NewGate(), Next: next}
}

// Send waits at the gate, then passes m to Next. It returns ctx.Err() if
// ctx ends while it waits, and otherwise what Next returns.
func (m *BlockingMailer) Send(ctx context.Context, msg authkit.Message) error {
	if err := m.Wait(ctx); err != nil {
		return err
	}
	if m.Next == nil {
		return nil
	}
	return m.Next.Send(ctx, msg)
}
