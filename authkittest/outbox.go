package authkittest

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

// Timeout is how long Outbox.Next and Outbox.Last wait for mail before
// they fail the test. It is a watchdog that turns a hang into a failure
// naming the mail that never came, not a bound on how fast mail must go:
// generous enough for a loaded machine running tests under -race.
const Timeout = 30 * time.Second

// Mail is one message an Outbox was sent. Its Link is the message's, or,
// when the sender left that empty, the first http(s) link of its text
// body.
type Mail struct {
	authkit.Message
	// Token is the value of the "token" query parameter of Link: the
	// one-time token that VerifyEmail, ResetPassword or
	// DeclineRegistration take. Empty when there is no link.
	Token string
}

// Outbox is an authkit.Mailer that keeps every message it is sent, for a
// test to read. Send never blocks and never fails. The zero Outbox is
// ready to use, and an Outbox is safe for concurrent use.
//
// The kit sends mail from a queue, after the flow that queued it has
// returned, so a test waits for a message with Next or Last rather than
// reading Messages at once; Messages is complete only once the
// Authenticator's Close has returned, which drains the queue.
type Outbox struct {
	mu      sync.Mutex
	mails   []Mail
	taken   []bool        // taken[i]: Next or Last returned mails[i]
	arrived chan struct{} // closed and replaced when a message arrives
}

var _ authkit.Mailer = (*Outbox)(nil)

// Send keeps msg. When msg has no Link, the first http(s) link in its text
// body stands in for it. Send returns nil.
func (o *Outbox) Send(_ context.Context, msg authkit.Message) error {
	if msg.Link == "" {
		msg.Link = linkIn(msg.Text)
	}
	m := Mail{Message: msg, Token: tokenOf(msg.Link)}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mails = append(o.mails, m)
	o.taken = append(o.taken, false)
	if o.arrived != nil {
		close(o.arrived)
		o.arrived = nil
	}
	return nil
}

// Messages returns every message sent so far, oldest first, whether or
// not Next or Last returned it. It does not wait for mail still queued.
func (o *Outbox) Messages() []Mail {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Mail(nil), o.mails...)
}

// Next returns the oldest message of kind that Next and Last have not
// returned yet, waiting for one to arrive. Messages of other kinds stay
// for later calls. It fails t if none arrives within Timeout.
func (o *Outbox) Next(t testing.TB, kind authkit.MessageKind) Mail {
	t.Helper()
	return o.wait(t, string(kind), func(ms []Mail, taken []bool) int {
		for i := range ms {
			if !taken[i] && ms[i].Kind == kind {
				return i
			}
		}
		return -1
	})
}

// Last returns the newest message, of any kind, that Next and Last have
// not returned yet, waiting for one to arrive; the older ones stay for
// Next. It fails t if none arrives within Timeout.
func (o *Outbox) Last(t testing.TB) Mail {
	t.Helper()
	return o.wait(t, "any", func(ms []Mail, taken []bool) int {
		for i := len(ms) - 1; i >= 0; i-- {
			if !taken[i] {
				return i
			}
		}
		return -1
	})
}

// wait returns the message that pick chooses, marking it taken, waiting
// for mail until pick chooses one or Timeout passes.
func (o *Outbox) wait(t testing.TB, what string, pick func([]Mail, []bool) int) Mail {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	for {
		o.mu.Lock()
		if i := pick(o.mails, o.taken); i >= 0 {
			o.taken[i] = true
			m := o.mails[i]
			o.mu.Unlock()
			return m
		}
		if o.arrived == nil {
			o.arrived = make(chan struct{})
		}
		arrived := o.arrived
		o.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("authkittest: no %s email arrived within %s", what, Timeout)
			return Mail{}
		}
	}
}

// linkIn returns the first absolute http(s) URL among the words of text,
// or "".
func linkIn(text string) string {
	for _, word := range strings.Fields(text) {
		u, err := url.Parse(word)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return word
		}
	}
	return ""
}

// tokenOf returns the token query parameter of link, or "".
func tokenOf(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}
