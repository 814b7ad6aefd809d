package smtpmail

import (
	"fmt"
	"net/url"
	"strconv"
)

// ParseURL reads the server settings of a Config from a URL:
//
//	smtp://user:pass@host:port           STARTTLS, required (port 587 if omitted)
//	smtps://user:pass@host:port          implicit TLS (port 465 if omitted)
//	smtp://host:port?tls=none            plaintext, to a loopback host only
//
// User and password are optional and percent-decoded, so a password that
// holds '@', ':', '/' or '%' must be percent-encoded. The query may say
// tls=starttls (the default for smtp://), tls=implicit (same as smtps://)
// or tls=none; other query parameters are errors. ParseURL fills Host,
// Port, Username, Password and TLS; set From and anything else before
// passing the Config to New, which validates it (and refuses tls=none to a
// host that is not a loopback address).
//
// Errors wrap ErrInvalidConfig. They quote nothing from the URL but its
// scheme, so that no part of a password can leak through them.
func ParseURL(rawURL string) (Config, error) {
	var c Config
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, and its inner errors may quote
		// part of the password; say only what is safe.
		return c, fmt.Errorf("%w: malformed SMTP URL (percent-encode special characters in the user and password)", ErrInvalidConfig)
	}
	switch u.Scheme {
	case "smtp":
		c.TLS = StartTLS
	case "smtps":
		c.TLS = ImplicitTLS
	default:
		return c, fmt.Errorf("%w: SMTP URL scheme must be smtp or smtps, not %q", ErrInvalidConfig, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return c, fmt.Errorf("%w: SMTP URL has no host; want smtp://user:pass@host:port", ErrInvalidConfig)
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return c, fmt.Errorf("%w: SMTP URL must not have a path or fragment", ErrInvalidConfig)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return c, fmt.Errorf("%w: SMTP URL has no host", ErrInvalidConfig)
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return c, fmt.Errorf("%w: SMTP URL port is not in 1-65535", ErrInvalidConfig)
		}
		c.Port = port
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("%w: malformed SMTP URL query", ErrInvalidConfig)
	}
	for key, values := range q {
		if key != "tls" {
			return c, fmt.Errorf("%w: unknown SMTP URL parameter; only tls is known", ErrInvalidConfig)
		}
		if len(values) != 1 {
			return c, fmt.Errorf("%w: SMTP URL parameter tls given %d times", ErrInvalidConfig, len(values))
		}
		mode, ok := map[string]TLSMode{"starttls": StartTLS, "implicit": ImplicitTLS, "none": InsecurePlaintext}[values[0]]
		if !ok {
			return c, fmt.Errorf("%w: unknown value of SMTP URL parameter tls; want starttls, implicit or none", ErrInvalidConfig)
		}
		if u.Scheme == "smtps" && mode != ImplicitTLS {
			return c, fmt.Errorf("%w: smtps:// always uses implicit TLS; tls=%s contradicts it", ErrInvalidConfig, mode)
		}
		c.TLS = mode
	}
	return c, nil
}
