package authkit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// MessageKind names the purpose of a message the kit sends.
type MessageKind string

// The kinds of message the kit sends.
const (
	MessageVerifyEmail     MessageKind = "verify_email"
	MessageResetPassword   MessageKind = "reset_password"
	MessagePasswordChanged MessageKind = "password_changed"
)

// Message is one email, rendered and ready to send.
type Message struct {
	// Kind says which of the kit's messages this is.
	Kind MessageKind
	// To is the recipient's address.
	To string
	// Subject is the subject line, plain text (not yet encoded).
	Subject string
	// Text is the plain-text body; HTML the HTML body. Either may be empty,
	// but not both.
	Text string
	HTML string
}

// Mailer sends messages. Send must honour ctx and return an error if the
// message was not accepted for delivery; the kit retries failed sends.
// Implementations must be safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerFunc adapts an ordinary function to the Mailer interface.
type MailerFunc func(ctx context.Context, m Message) error

// Send calls f(ctx, m).
func (f MailerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// LogMailer returns a Mailer for development that writes each message,
// links included, to logger at Info level instead of sending it. Never use
// it in production: the log then holds working reset links.
func LogMailer(logger *slog.Logger) Mailer {
	return MailerFunc(func(ctx context.Context, m Message) error {
		logger.InfoContext(ctx, "authkit: email (not sent: development mailer)",
			"kind", string(m.Kind), "to", m.To, "subject", m.Subject, "text", m.Text)
		return nil
	})
}

// mailJob is one message to deliver. build makes the message when a worker
// gets to it, off the request path; it returns ok=false when there turns out
// to be nothing to send (an unknown email, say).
type mailJob struct {
	kind  MessageKind
	build func(ctx context.Context) (m Message, ok bool, err error)
}

// postOffice is the bounded queue and the workers that deliver mail.
type postOffice struct {
	a    *Authenticator
	jobs chan mailJob

	mu     sync.RWMutex
	closed bool

	workers sync.WaitGroup
	ctx     context.Context // cancelled when Close gives up waiting
	cancel  context.CancelFunc
	lost    atomic.Int64 // messages not delivered because of Close
}

func newPostOffice(a *Authenticator) *postOffice {
	ctx, cancel := context.WithCancel(context.Background())
	p := &postOffice{a: a, jobs: make(chan mailJob, a.cfg.MailQueueSize), ctx: ctx, cancel: cancel}
	for range a.cfg.MailWorkers {
		p.workers.Go(func() {
			for job := range p.jobs {
				p.deliver(job)
			}
		})
	}
	return p
}

// post queues job without ever blocking. A full or closed queue drops the
// job and reports it.
func (p *postOffice) post(job mailJob) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		p.fail(job.kind, "", "closed")
		return
	}
	select {
	case p.jobs <- job:
	default:
		p.fail(job.kind, "", "queue_full")
	}
}

// deliver builds the message and sends it, retrying with exponential
// backoff up to MailMaxAttempts.
func (p *postOffice) deliver(job mailJob) {
	cfg := &p.a.cfg
	if p.ctx.Err() != nil {
		p.fail(job.kind, "", "closed")
		return
	}
	bctx, cancel := context.WithTimeout(p.ctx, cfg.MailTimeout)
	m, ok, err := job.build(bctx)
	cancel()
	if err != nil {
		p.a.cfg.Logger.Error("authkit: prepare email", "kind", string(job.kind), "error", err)
		p.fail(job.kind, "", "prepare_failed")
		return
	}
	if !ok {
		return
	}
	delay := cfg.MailRetryDelay
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(p.ctx, cfg.MailTimeout)
		err = cfg.Mailer.Send(sctx, m)
		cancel()
		if err == nil {
			return
		}
		cfg.Logger.Warn("authkit: send email", "kind", string(m.Kind), "attempt", attempt, "error", err)
		if attempt >= cfg.MailMaxAttempts {
			p.fail(m.Kind, m.To, "gave_up")
			return
		}
		select {
		case <-time.After(delay):
		case <-p.ctx.Done():
			p.fail(m.Kind, m.To, "closed")
			return
		}
		delay = min(2*delay, maxMailRetryDelay)
	}
}

// fail reports a message that will not be delivered.
func (p *postOffice) fail(kind MessageKind, to, reason string) {
	if p.ctx.Err() != nil || reason == "closed" {
		p.lost.Add(1)
	}
	p.a.cfg.Logger.Error("authkit: email not delivered", "kind", string(kind), "reason", reason)
	p.a.emit(context.Background(), Client{}, Event{Type: EventMailFailed, Mail: kind, Recipient: to, Reason: reason})
}

// close stops accepting mail and waits, until ctx ends, for the queue to
// drain. If ctx ends first, it aborts what is left and says how much.
func (p *postOffice) close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()

	done := make(chan struct{})
	go func() { p.workers.Wait(); close(done) }()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-done
		return fmt.Errorf("authkit: close: %d messages not delivered: %w", p.lost.Load(), ctx.Err())
	}
}
