package authkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// The post office delivers the kit's mail off the request path: a bounded
// queue, workers that retry with backoff, and the messages the flows post
// to it (links that carry a one-time token, and notices).

// mailJob is one message to deliver. build makes the message when a worker
// gets to it, off the request path; it returns ok=false when there turns out
// to be nothing to send (an unknown email, say).
type mailJob struct {
	kind  MessageKind
	build func(ctx context.Context) (m Message, ok bool, err error)
	// notice marks a security notice, which a full queue never drops.
	notice bool
}

// postOffice is the bounded queue and the workers that deliver mail.
type postOffice struct {
	a    *Authenticator
	jobs chan mailJob

	mu     sync.RWMutex
	closed bool

	// notices holds the security notices that found the queue full. They
	// are never dropped for want of room: they are few (each follows a
	// change that the user's password or a mailed link authorized), and a
	// lost one would hide an account takeover from its owner. Workers send
	// them before their next queued job.
	noticeMu sync.Mutex
	notices  []mailJob

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
				p.deliverNotices()
			}
			p.deliverNotices()
		})
	}
	return p
}

// post queues job without ever blocking. A closed queue drops the job and
// reports it; so does a full one, except for a notice, which waits beside
// the queue.
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
		if job.notice {
			p.noticeMu.Lock()
			p.notices = append(p.notices, job)
			p.noticeMu.Unlock()
			return
		}
		p.fail(job.kind, "", "queue_full")
	}
}

// deliverNotices delivers the notices that found the queue full. A notice
// waits there only while the queue is full, so some worker always has a
// queued job to finish and then comes here.
func (p *postOffice) deliverNotices() {
	for {
		p.noticeMu.Lock()
		if len(p.notices) == 0 {
			p.noticeMu.Unlock()
			return
		}
		job := p.notices[0]
		p.notices[0] = mailJob{}
		p.notices = p.notices[1:]
		p.noticeMu.Unlock()
		p.deliver(job)
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

// What the flows post: messages with a one-time link, and notices.

// link builds an email link from Config.BaseURL, never from a request.
func (a *Authenticator) link(path, token string) string {
	return a.cfg.BaseURL + path + "?token=" + url.QueryEscape(token)
}

// newOneTimeToken stores a fresh token for the user and returns the secret
// to mail.
func (a *Authenticator) newOneTimeToken(ctx context.Context, userID string, p TokenPurpose, ttl time.Duration) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	now := a.now()
	t := OneTimeToken{Hash: hashSecret(secret), UserID: userID, Purpose: p, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("authkit: create %s token: %w", p, err)
	}
	return secret, nil
}

// linkMail describes a message that carries a one-time link.
type linkMail struct {
	kind    MessageKind
	purpose TokenPurpose
	ttl     time.Duration
	path    string
	tmpl    *MailTemplate
	// wants reports whether the user should get the message at all.
	wants func(User) bool
}

// emailVerificationMail is sent to active accounts not yet verified.
func (a *Authenticator) emailVerificationMail() linkMail {
	return linkMail{MessageVerifyEmail, PurposeVerifyEmail, a.cfg.EmailVerificationTTL, a.cfg.EmailVerificationPath, a.templates.VerifyEmail,
		func(u User) bool { return u.Active && !u.EmailVerified }}
}

// resetMail is sent to active accounts, as the seed design does.
func (a *Authenticator) resetMail() linkMail {
	return linkMail{MessageResetPassword, PurposeResetPassword, a.cfg.ResetTTL, a.cfg.ResetPasswordPath, a.templates.ResetPassword,
		func(u User) bool { return u.Active }}
}

// queueLink queues lm for the user that find returns. Off the request path,
// a worker finds the user, spends their older tokens of the purpose, stores
// a new one and renders the message; nothing is sent when there is no such
// user or lm.wants refuses them.
func (a *Authenticator) queueLink(lm linkMail, find func(ctx context.Context) (User, error)) {
	a.mail.post(mailJob{kind: lm.kind, build: func(ctx context.Context) (Message, bool, error) {
		u, err := find(ctx)
		if errors.Is(err, ErrNotFound) {
			return Message{}, false, nil
		}
		if err != nil || !lm.wants(u) {
			return Message{}, false, err
		}
		if err := a.store.DeleteUserTokens(ctx, u.ID, lm.purpose); err != nil {
			return Message{}, false, err
		}
		secret, err := a.newOneTimeToken(ctx, u.ID, lm.purpose, lm.ttl)
		if err != nil {
			return Message{}, false, err
		}
		return lm.tmpl.render(lm.kind, a.mailData(u, a.link(lm.path, secret), lm.ttl))
	}})
}

// requestLink answers a request to mail lm to an email address (forgot
// password, resend verification) the same, at once, whether or not the
// account exists: it checks the address, spends the client's and the
// address's mail budgets (limit names the address's), reports ev and
// queues the message, whose lookup happens off the request path. Only
// malformed input and the client's spent budget are errors.
func (a *Authenticator) requestLink(ctx context.Context, email string, c Client, limit string, ev EventType, lm linkMail) error {
	email = NormalizeEmail(email)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	if err := v.err(); err != nil {
		return err
	}
	if send, err := a.mailBudget(ctx, c, limit, email); !send {
		return err
	}
	a.emit(ctx, c, Event{Type: ev, Mail: lm.kind})
	a.queueLink(lm, a.byEmail(email))
	return nil
}

// byID and byEmail are the finders queueLink takes.
func (a *Authenticator) byID(id string) func(context.Context) (User, error) {
	return func(ctx context.Context) (User, error) { return a.store.UserByID(ctx, id) }
}

func (a *Authenticator) byEmail(email string) func(context.Context) (User, error) {
	return func(ctx context.Context) (User, error) { return a.store.UserByEmail(ctx, email) }
}

// mailData is what a message to u is rendered with. It carries u's display
// name only once u's address is verified: until then the name is the
// choice of whoever registered the address, perhaps not its owner, and no
// mail of ours carries a stranger's words (see MailData.DisplayName).
func (a *Authenticator) mailData(u User, link string, ttl time.Duration) MailData {
	d := MailData{AppName: a.cfg.AppName, Email: u.Email, Link: link, ExpiresIn: humanDuration(ttl)}
	if u.EmailVerified {
		d.DisplayName = u.DisplayName
	}
	return d
}

// humanDuration says d in words: "24 hours", "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	unit, n := "minute", int64(d/time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// queueAlreadyRegistered queues the already-registered notice to the
// owner of email. Everything that could take time or tell a taken address
// from a new one (finding the owner, spending the address's mail budget,
// so that registering an address over and over cannot flood its owner) is
// done off the request path.
func (a *Authenticator) queueAlreadyRegistered(email string) {
	a.mail.post(mailJob{kind: MessageAlreadyRegistered, build: func(ctx context.Context) (Message, bool, error) {
		if a.allow(ctx, Client{}, limitTakenEmail, a.cfg.Limits.MailEmail, email) != nil {
			return Message{}, false, nil
		}
		u, err := a.store.UserByEmail(ctx, email)
		if errors.Is(err, ErrNotFound) {
			return Message{}, false, nil
		}
		if err != nil {
			return Message{}, false, err
		}
		return a.templates.AlreadyRegistered.render(MessageAlreadyRegistered, a.mailData(u, "", 0))
	}})
}

// queueNotice queues the password-changed notice to u.
func (a *Authenticator) queueNotice(u User) {
	a.queueNoticeOf(u, MessagePasswordChanged, a.templates.PasswordChanged)
}

// queueNoticeOf queues the security notice of kind k, rendered with t, to
// u; like every notice, it is never dropped for a full queue.
func (a *Authenticator) queueNoticeOf(u User, k MessageKind, t *MailTemplate) {
	a.mail.post(mailJob{kind: k, notice: true, build: func(context.Context) (Message, bool, error) {
		return t.render(k, a.mailData(u, "", 0))
	}})
}
