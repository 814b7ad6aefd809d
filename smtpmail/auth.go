package smtpmail

import (
	"errors"
	"net/smtp"
)

// errCleartextAuth stops an AUTH exchange that would send credentials over
// a connection that is neither TLS nor allowed to be plaintext.
var errCleartextAuth = errors.New("refusing to send credentials over an unencrypted connection")

// plainAuth is SASL PLAIN (RFC 4616). Unlike smtp.PlainAuth it follows
// the Mailer's own rule for plaintext (InsecurePlaintext to a loopback
// address) rather than trusting the host name alone.
type plainAuth struct {
	username, password string
	allowPlaintext     bool
}

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.allowPlaintext {
		return "", nil, errCleartextAuth
	}
	return "PLAIN", []byte("\x00" + a.username + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}

// loginAuth is the LOGIN mechanism, which some servers offer instead of
// PLAIN: the server asks for the user name, then the password.
type loginAuth struct {
	username, password string
	allowPlaintext     bool
	step               int
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.allowPlaintext {
		return "", nil, errCleartextAuth
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(_ []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	a.step++
	switch a.step {
	case 1:
		return []byte(a.username), nil
	case 2:
		return []byte(a.password), nil
	default:
		return nil, errors.New("unexpected challenge after AUTH LOGIN")
	}
}
