package authkit

import (
	"context"
	"log/slog"
)

// MessageKind names the purpose of a message the kit sends.
type MessageKind string

// The kinds of message the kit sends.
const (
	MessageVerifyEmail     MessageKind = "verify_email"
	MessageResetPassword   MessageKind = "reset_password"
	MessagePasswordChanged MessageKind = "password_changed"
	// Notices about the second factor: one was added, one was removed, a
	// recovery code was used.
	MessageSecondFactorAdded   MessageKind = "second_factor_added"
	MessageSecondFactorRemoved MessageKind = "second_factor_removed"
	MessageRecoveryCodeUsed    MessageKind = "recovery_code_used"
	// MessageAlreadyRegistered tells the owner of an address that someone
	// tried to register it (Config.RegisterQuietly).
	MessageAlreadyRegistered MessageKind = "already_registered"
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
	// Link is the link the message asks its reader to follow (the
	// verification or reset link, as in the bodies), or empty for a
	// notice: for mailers that log or track it, and for tests.
	Link string
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
			"kind", string(m.Kind), "to", m.To, "subject", m.Subject, "link", m.Link, "text", m.Text)
		return nil
	})
}
