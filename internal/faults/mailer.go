package faults

import (
	"context"
	"sync"

	"github.com/authkit/authkit"
)

var _ authkit.Mailer = (*Mailer)(nil)

// MailMode says how an armed Mailer fails a Send.
type MailMode int

// The modes of an armed Mailer.
const (
	// MailFail returns an *Error (of mode Fail): the message was not
	// accepted, and the kit retries it.
	MailFail MailMode = iota
	// MailBlock holds the Send until its context ends, and then returns
	// the context's error, as a mail server that never answers; a Send
	// still held when the Mailer is disarmed goes through to the wrapped
	// Mailer instead.
	MailBlock
)

// Mailer is an authkit.Mailer that passes every message to the Mailer it
// wraps until it is armed; then it fails, or holds, the Nth Send from then
// on, or every Send. It is safe for concurrent use.
type Mailer struct {
	next authkit.Mailer

	mu     sync.Mutex
	armed  bool
	n      int // the Send to fail; 0 fails every one
	mode   MailMode
	sends  int
	failed int
	// release is closed when the Mailer is disarmed; Arm makes it anew.
	release chan struct{}
	// held receives each message whose Send is held.
	held chan authkit.Message
}

// heldBuffer is how many held messages Held keeps for the test to take.
const heldBuffer = 64

// NewMailer returns a Mailer that wraps next, unarmed.
func NewMailer(next authkit.Mailer) *Mailer {
	return &Mailer{next: next, release: make(chan struct{}), held: make(chan authkit.Message, heldBuffer)}
}

// Arm fails the nth Send (from 1) from now on in mode, and only that one.
func (m *Mailer) Arm(n int, mode MailMode) {
	if n < 1 {
		n = 1
	}
	m.arm(n, mode)
}

// ArmAll fails every Send from now on in mode, until Disarm.
func (m *Mailer) ArmAll(mode MailMode) { m.arm(0, mode) }

func (m *Mailer) arm(n int, mode MailMode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disarm()
	m.armed, m.n, m.mode, m.sends, m.failed = true, n, mode, 0, 0
	m.release = make(chan struct{})
}

// Disarm stops failing Sends and lets every held Send through to the
// wrapped Mailer.
func (m *Mailer) Disarm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disarm()
}

func (m *Mailer) disarm() {
	if m.armed {
		m.armed = false
		close(m.release)
	}
}

// Held returns a channel that receives the message of each Send as it is
// held (mode MailBlock); it keeps up to 64 that the test has not taken.
func (m *Mailer) Held() <-chan authkit.Message { return m.held }

// Failed returns how many Sends were failed or held since the last Arm.
func (m *Mailer) Failed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.failed
}

// Send passes msg to the wrapped Mailer, unless the Mailer is armed to
// fail this Send: then it returns an *Error, or holds the Send (see
// MailBlock).
func (m *Mailer) Send(ctx context.Context, msg authkit.Message) error {
	m.mu.Lock()
	fail := false
	if m.armed {
		m.sends++
		fail = m.n == 0 || m.sends == m.n
	}
	mode, release := m.mode, m.release
	if fail {
		m.failed++
	}
	m.mu.Unlock()
	switch {
	case !fail:
		return m.next.Send(ctx, msg)
	case mode == MailFail:
		return &Error{Method: "Send", Mode: Fail}
	}
	select {
	case m.held <- msg:
	default:
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-release:
		return m.next.Send(ctx, msg)
	}
}
