package testkit

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

// Mailbox is an authkit.Mailer that keeps every message it is sent, for
// the test to take with Next. Send never blocks and never fails, however
// many messages are waiting. It is safe for concurrent use.
type Mailbox struct {
	mu      sync.Mutex
	queue   []authkit.Message
	arrived chan struct{} // closed and replaced when a message arrives
}

var _ authkit.Mailer = (*Mailbox)(nil)

// NewMailbox returns an empty Mailbox.
func NewMailbox() *Mailbox { return &Mailbox{arrived: make(chan struct{})} }

// Send keeps msg for Next. It returns nil.
func (m *Mailbox) Send(_ context.Context, msg authkit.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, msg)
	close(m.arrived)
	m.arrived = make(chan struct{})
	return nil
}

// Next takes the oldest message waiting, or waits for one to arrive. With
// kinds it takes the oldest message of one of those kinds, discarding the
// messages of other kinds ahead of it. It fails t if no such message
// arrives within Timeout.
func (m *Mailbox) Next(t testing.TB, kinds ...authkit.MessageKind) authkit.Message {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		m.mu.Lock()
		for len(m.queue) > 0 {
			msg := m.queue[0]
			m.queue = m.queue[1:]
			if len(kinds) == 0 || slices.Contains(kinds, msg.Kind) {
				m.mu.Unlock()
				return msg
			}
		}
		arrived := m.arrived
		m.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("no %s email arrived within %s", kindNames(kinds), Timeout)
			return authkit.Message{}
		}
	}
}

// None fails t if a message (of one of kinds, when given) is waiting to
// be taken. It does not wait for mail still on its way: it proves nothing
// unless every message that could have been sent has been, as once the
// Authenticator's Close has returned nil (Close drains the mail queue), or
// once Next has taken a message that the same single mail worker was given
// after the ones in question.
func (m *Mailbox) None(t testing.TB, kinds ...authkit.MessageKind) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range m.queue {
		if len(kinds) == 0 || slices.Contains(kinds, msg.Kind) {
			t.Errorf("unexpected %s email to %s", msg.Kind, msg.To)
		}
	}
}

// Count returns how many messages (of one of kinds, when given) are
// waiting to be taken. Like None, it does not wait for mail on its way.
func (m *Mailbox) Count(kinds ...authkit.MessageKind) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, msg := range m.queue {
		if len(kinds) == 0 || slices.Contains(kinds, msg.Kind) {
			n++
		}
	}
	return n
}

// kindNames says which kinds Next waits for.
func kindNames(kinds []authkit.MessageKind) string {
	if len(kinds) == 0 {
		return "any"
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, " or ")
}

// TokenOf returns the value of the token query parameter of the first
// link (an absolute URL) in the plain-text body of msg, as the kit's
// verification and reset mails carry. It fails t if there is none.
func TokenOf(t testing.TB, msg authkit.Message) string {
	t.Helper()
	for _, word := range strings.Fields(msg.Text) {
		u, err := url.Parse(word)
		if err == nil && u.Scheme != "" && u.Query().Get("token") != "" {
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no link with a token in the %s email", msg.Kind)
	return ""
}
