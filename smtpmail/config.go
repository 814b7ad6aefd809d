package smtpmail

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// TLSMode says how a Mailer protects its connection to the server.
type TLSMode int

// The TLS modes. The zero value, StartTLS, is the safe default.
const (
	// StartTLS connects in plaintext and upgrades with STARTTLS before
	// anything else is said (RFC 3207). Send fails with ErrTLSUnavailable
	// if the server does not offer it; it never falls back to plaintext.
	// The usual port is 587 (submission).
	StartTLS TLSMode = iota

	// ImplicitTLS speaks TLS from the first byte (RFC 8314), the usual
	// mode on port 465.
	ImplicitTLS

	// InsecurePlaintext sends everything, credentials included, in the
	// clear. New accepts it only when Host is a loopback address
	// ("localhost", 127.0.0.0/8, ::1), and Send checks that the connection
	// really reached one. Use it for a local relay or a development mail
	// catcher, never across a network.
	InsecurePlaintext
)

// String returns the mode's name as ParseURL reads it in a URL:
// "starttls", "implicit" or "none".
func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "implicit"
	case InsecurePlaintext:
		return "none"
	default:
		return fmt.Sprintf("TLSMode(%d)", int(m))
	}
}

// Defaults for zero fields of Config.
const (
	defaultPort       = 587
	defaultPortTLS    = 465
	defaultTimeout    = 30 * time.Second
	defaultLocalName  = "localhost"
	minimumTLSVersion = tls.VersionTLS12
)

// Config configures a Mailer. New copies it, so changing a Config after New
// has no effect on the Mailer.
type Config struct {
	// Host is the SMTP server's host name or IP address, without a port.
	// It is also the name the server's certificate must be valid for,
	// unless TLSConfig.ServerName says otherwise. Required.
	Host string

	// Port is the server's TCP port. If zero, 587 (submission), or 465
	// when TLS is ImplicitTLS.
	Port int

	// Username and Password are the credentials for SMTP AUTH (PLAIN,
	// or LOGIN when the server offers only that). If Username is empty,
	// Send does not authenticate; a Password without a Username is an
	// error. Credentials are only ever sent over TLS, or over plaintext
	// to a loopback address when TLS is InsecurePlaintext. Errors never
	// include the password.
	Username string
	Password string

	// From is the sender: an address, optionally with a display name, as
	// in "Example <no-reply@example.com>". It is used in the From header,
	// in MAIL FROM, and its domain names the Message-ID. Required.
	From string

	// TLS chooses how the connection is protected. If zero, StartTLS:
	// STARTTLS is required and Send fails when the server does not offer
	// it.
	TLS TLSMode

	// TLSConfig configures TLS for StartTLS and ImplicitTLS. If nil, the
	// system's root certificates are trusted, ServerName is Host and the
	// minimum version is TLS 1.2. If set, it is cloned; an empty
	// ServerName is set to Host and a zero MinVersion to TLS 1.2. Setting
	// InsecureSkipVerify turns off the check that the server is who it
	// claims to be, and with it most of what TLS protects.
	TLSConfig *tls.Config

	// Timeout bounds one whole Send: dialing, TLS, and the conversation.
	// If zero, 30 seconds. A deadline on the context passed to Send
	// applies as well; the earlier one wins.
	Timeout time.Duration

	// LocalName is the name the client gives in EHLO/HELO. If empty,
	// "localhost".
	LocalName string

	// Now returns the current time, used for the Date header. If nil,
	// time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of c with defaults filled in and validates
// it. Errors wrap ErrInvalidConfig, ErrInvalidAddress or
// ErrHeaderInjection.
func (c Config) withDefaults() (Config, *mail.Address, error) {
	if c.Host == "" {
		return c, nil, fmt.Errorf("%w: Host is required", ErrInvalidConfig)
	}
	if err := checkHost(c.Host); err != nil {
		return c, nil, err
	}
	switch c.TLS {
	case StartTLS, ImplicitTLS:
	case InsecurePlaintext:
		if !isLoopbackHost(c.Host) {
			return c, nil, fmt.Errorf("%w: plaintext is allowed only to a loopback address, not %q; use StartTLS or ImplicitTLS", ErrInvalidConfig, c.Host)
		}
	default:
		return c, nil, fmt.Errorf("%w: unknown TLS mode %d", ErrInvalidConfig, int(c.TLS))
	}
	if c.Port == 0 {
		c.Port = defaultPort
		if c.TLS == ImplicitTLS {
			c.Port = defaultPortTLS
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		return c, nil, fmt.Errorf("%w: Port %d is out of range", ErrInvalidConfig, c.Port)
	}
	if c.Password != "" && c.Username == "" {
		return c, nil, fmt.Errorf("%w: Password is set but Username is empty", ErrInvalidConfig)
	}
	if c.From == "" {
		return c, nil, fmt.Errorf("%w: From is required", ErrInvalidConfig)
	}
	from, err := parseAddress("From", c.From)
	if err != nil {
		return c, nil, err
	}
	if c.Timeout < 0 {
		return c, nil, fmt.Errorf("%w: Timeout is negative", ErrInvalidConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.LocalName == "" {
		c.LocalName = defaultLocalName
	}
	if strings.ContainsFunc(c.LocalName, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return c, nil, fmt.Errorf("%w: LocalName %q must be a host name without spaces or control characters", ErrInvalidConfig, c.LocalName)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TLSConfig == nil {
		c.TLSConfig = &tls.Config{}
	} else {
		c.TLSConfig = c.TLSConfig.Clone()
	}
	if c.TLSConfig.ServerName == "" {
		c.TLSConfig.ServerName = c.Host
	}
	if c.TLSConfig.MinVersion == 0 {
		c.TLSConfig.MinVersion = minimumTLSVersion
	}
	return c, from, nil
}

// checkHost accepts a host name or an IP address without a port.
func checkHost(host string) error {
	if net.ParseIP(host) != nil {
		return nil
	}
	if strings.ContainsAny(host, ":[]/@") || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return fmt.Errorf("%w: Host %q must be a host name or IP address without a port", ErrInvalidConfig, host)
	}
	return nil
}

// isLoopbackHost reports whether host names the local machine without
// asking a resolver: "localhost" (RFC 6761) or a loopback IP literal.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseAddress parses one address for the named header, refusing line
// breaks first so that no value can add a header of its own.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: %s", ErrHeaderInjection, field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrInvalidAddress, field, s, err)
	}
	return a, nil
}
