// Package smtpmail is an authkit.Mailer that delivers mail through an SMTP
// server: STARTTLS or implicit TLS, AUTH PLAIN or LOGIN, a bound on every
// conversation, and messages in text, HTML or both.
//
// # Quick start
//
//	cfg, err := smtpmail.ParseURL(os.Getenv("AUTHKIT_SMTP_URL")) // smtp://user:pass@smtp.example.com:587
//	if err != nil {
//		return err
//	}
//	cfg.From = "Example <no-reply@example.com>"
//	mailer, err := smtpmail.New(cfg)
//	if err != nil {
//		return err
//	}
//	// Give mailer to authkit.Config.Mailer, or call mailer.Send yourself.
//
// Each Send opens its own connection, says EHLO, secures the connection,
// authenticates when a Username is set, and sends one message with MAIL
// FROM, RCPT TO and DATA. The message carries Date, Message-ID, From, To,
// Subject and MIME-Version headers; its body is text/plain or text/html, or
// a multipart/alternative of both (text first), quoted-printable in UTF-8.
// A Mailer is safe for concurrent use; it keeps no connection between
// sends, logs nothing, and never panics on its input.
//
// # Security
//
// TLS is required by default. With StartTLS (the zero TLSMode, smtp:// in
// a URL) Send upgrades the connection before it says anything else and
// fails with ErrTLSUnavailable, having sent nothing, if the server does not
// offer STARTTLS: a man in the middle who strips the offer gets an error,
// not the password. ImplicitTLS (smtps://) speaks TLS from the first byte.
// Both check the server's certificate against the system roots, for Host,
// with TLS 1.2 or newer unless Config.TLSConfig says otherwise.
//
// InsecurePlaintext (smtp://host?tls=none) sends everything, credentials
// included, in the clear. New accepts it only for a loopback Host
// ("localhost", 127.0.0.0/8, ::1) and Send checks that the connection
// really reached a loopback address; it is meant for a local relay or a
// development mail catcher. Credentials are never sent on any other
// unencrypted connection.
//
// Header injection: a carriage return or line feed in the From, To or
// Subject value would let whoever controls it add headers or recipients.
// New and Send refuse such values with ErrHeaderInjection before
// connecting. Addresses are parsed with net/mail and written back in their
// canonical form; a non-ASCII Subject or display name is RFC 2047 encoded.
//
// Errors never contain the password, and ParseURL's errors quote nothing of
// the URL but its scheme.
package smtpmail
