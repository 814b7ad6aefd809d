package smtpmail

import "errors"

// Errors returned by New, ParseURL and Send. Other failures are wrapped with
// context and a "smtpmail:" prefix; a reply from the server can be
// inspected with errors.As and *textproto.Error (its Code says whether the
// failure is temporary, 4xx, or permanent, 5xx).
var (
	// ErrInvalidConfig is wrapped by New and ParseURL when a setting is
	// missing, malformed or unsafe (plaintext to a host that is not a
	// loopback address, for example).
	ErrInvalidConfig = errors.New("smtpmail: invalid config")

	// ErrInvalidAddress is wrapped when an address (Config.From or
	// Message.To) cannot be parsed as an RFC 5322 address.
	ErrInvalidAddress = errors.New("smtpmail: invalid address")

	// ErrHeaderInjection is wrapped when a header value (From, To, Subject)
	// contains a carriage return or a line feed. Send refuses such a
	// message before it connects.
	ErrHeaderInjection = errors.New("smtpmail: line break in header value")

	// ErrEmptyMessage is wrapped by Send when a message has neither a text
	// nor an HTML body.
	ErrEmptyMessage = errors.New("smtpmail: message has no body")

	// ErrTLSUnavailable is wrapped by Send when STARTTLS is required and
	// the server does not offer it. Nothing is sent.
	ErrTLSUnavailable = errors.New("smtpmail: server does not offer STARTTLS")

	// ErrAuth is wrapped by Send when authentication fails: the server
	// rejected the credentials, does not offer AUTH, or offers no
	// mechanism this package supports (PLAIN, LOGIN).
	ErrAuth = errors.New("smtpmail: authentication failed")
)
