package smtpmail

// The SMTP client is the standard library's net/smtp rather than
// github.com/emersion/go-smtp's client. net/smtp is frozen but complete for
// what a submission client needs: smtp.NewClient takes a connection we dial
// (so dialing honours ctx and we can close the connection on cancel),
// StartTLS and Extension let us require TLS instead of trying it, the Auth
// interface lets us add LOGIN and keep our own plaintext rule, and Data's
// writer does the dot-stuffing. go-smtp's client would offer nothing here
// that closes a gap (it takes no context either), and as a runtime import
// it would add a dependency to every program that uses this package; it is
// used only by the tests, as the server.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/authkit/authkit"
)

// Mailer sends authkit messages through one SMTP server, opening a new
// connection for each message. It is safe for concurrent use.
type Mailer struct {
	cfg  Config
	from *mail.Address
	addr string
}

var _ authkit.Mailer = (*Mailer)(nil)

// New returns a Mailer for cfg, with the defaults documented on Config
// filled in. It only validates; it does not connect. Errors wrap
// ErrInvalidConfig (missing Host or From, a bad port, plaintext to a host
// that is not a loopback address, …), ErrInvalidAddress or
// ErrHeaderInjection (a bad From).
func New(cfg Config) (*Mailer, error) {
	c, from, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Mailer{cfg: c, from: from, addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}, nil
}

// Send delivers msg: it connects, secures the connection as Config.TLS
// says, authenticates if Config.Username is set, and hands the message over
// with MAIL FROM, RCPT TO and DATA. A nil error means the server accepted
// the message.
//
// The message is rendered and checked before Send connects: a line break in
// To or Subject is refused with ErrHeaderInjection, an unparsable To with
// ErrInvalidAddress, a message with no body with ErrEmptyMessage. On the
// wire, errors wrap ErrTLSUnavailable, ErrAuth, or the server's reply as a
// *textproto.Error.
//
// Send gives up when ctx ends or Config.Timeout has passed, whichever comes
// first, closing the connection; the error then wraps ctx.Err()
// (context.DeadlineExceeded or context.Canceled).
func (m *Mailer) Send(ctx context.Context, msg authkit.Message) error {
	if m == nil || m.from == nil {
		return fmt.Errorf("%w: Mailer not made by New", ErrInvalidConfig)
	}
	env, err := compose(m.from, msg, m.cfg.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	err = m.send(ctx, env)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w: %w", err, ctxErr)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is ctx's, and it may fire a moment
		// before ctx's own timer does.
		return fmt.Errorf("%w: %w", err, context.DeadlineExceeded)
	}
	return err
}

// send holds the SMTP conversation for one message.
func (m *Mailer) send(ctx context.Context, env envelope) error {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("smtpmail: connect: %w", err)
	}
	defer raw.Close()
	// Bound every read and write by ctx: by its deadline, and by closing
	// the connection if it is cancelled.
	if deadline, ok := ctx.Deadline(); ok {
		if err := raw.SetDeadline(deadline); err != nil {
			return fmt.Errorf("smtpmail: connect: %w", err)
		}
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() }) // unblocks the exchange; its own error follows
	defer stop()

	conn := raw
	switch m.cfg.TLS {
	case ImplicitTLS:
		tc := tls.Client(raw, m.cfg.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("smtpmail: TLS handshake with %s: %w", m.addr, err)
		}
		conn = tc
	case InsecurePlaintext:
		if a, ok := raw.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			return fmt.Errorf("%w: plaintext connection to %s reached %s, which is not a loopback address", ErrInvalidConfig, m.cfg.Host, raw.RemoteAddr())
		}
	}

	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		return fmt.Errorf("smtpmail: greeting from %s: %w", m.addr, err)
	}
	defer c.Close()
	if err := c.Hello(m.cfg.LocalName); err != nil {
		return fmt.Errorf("smtpmail: EHLO: %w", err)
	}
	if m.cfg.TLS == StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("%w: %s", ErrTLSUnavailable, m.addr)
		}
		if err := c.StartTLS(m.cfg.TLSConfig); err != nil {
			return fmt.Errorf("smtpmail: STARTTLS with %s: %w", m.addr, err)
		}
	}
	if m.cfg.Username != "" {
		if err := m.authenticate(c); err != nil {
			return err
		}
	}
	if err := c.Mail(env.from); err != nil {
		return fmt.Errorf("smtpmail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(env.to); err != nil {
		return fmt.Errorf("smtpmail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtpmail: DATA: %w", err)
	}
	if _, err := w.Write(env.data); err != nil {
		return fmt.Errorf("smtpmail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtpmail: end of DATA: %w", err)
	}
	// The server has taken the message. A failed QUIT must not report
	// failure, or the caller would send the message twice.
	_ = c.Quit()
	return nil
}

// authenticate runs AUTH with PLAIN, or LOGIN if the server offers only
// that.
func (m *Mailer) authenticate(c *smtp.Client) error {
	ok, offered := c.Extension("AUTH")
	if !ok {
		return fmt.Errorf("%w: server does not offer AUTH", ErrAuth)
	}
	allowPlaintext := m.cfg.TLS == InsecurePlaintext
	var a smtp.Auth
	switch mechs := strings.Fields(strings.ToUpper(offered)); {
	case slices.Contains(mechs, "PLAIN"):
		a = plainAuth{username: m.cfg.Username, password: m.cfg.Password, allowPlaintext: allowPlaintext}
	case slices.Contains(mechs, "LOGIN"):
		a = &loginAuth{username: m.cfg.Username, password: m.cfg.Password, allowPlaintext: allowPlaintext}
	default:
		return fmt.Errorf("%w: server offers AUTH %s; want PLAIN or LOGIN", ErrAuth, offered)
	}
	err := c.Auth(a)
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*textproto.Error](err); ok || errors.Is(err, errCleartextAuth) {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return fmt.Errorf("smtpmail: AUTH: %w", err)
}
