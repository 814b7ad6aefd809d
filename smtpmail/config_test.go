package smtpmail_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/smtpmail"
)

func TestNewRefusesPlaintextToNonLoopbackHost(t *testing.T) {
	// New only validates: none of these hosts is contacted.
	for _, host := range []string{"smtp.example.com", "192.0.2.10", "2001:db8::1", "localhost.example.com", "127.0.0.1.nip.io", "0.0.0.0"} {
		t.Run(host, func(t *testing.T) {
			m, err := smtpmail.New(smtpmail.Config{Host: host, From: testFrom, TLS: smtpmail.InsecurePlaintext})

			require.ErrorIs(t, err, smtpmail.ErrInvalidConfig, "New with plaintext to %s", host)
			assert.Nil(t, m, "Mailer")
		})
	}
}

func TestNewAllowsPlaintextToLoopbackHost(t *testing.T) {
	for _, host := range []string{"localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.1.2.3", "::1"} {
		t.Run(host, func(t *testing.T) {
			_, err := smtpmail.New(smtpmail.Config{Host: host, From: testFrom, TLS: smtpmail.InsecurePlaintext})

			require.NoError(t, err, "New with plaintext to %s", host)
		})
	}
}

func TestNewValidates(t *testing.T) {
	valid := func() smtpmail.Config {
		return smtpmail.Config{Host: "smtp.example.com", From: testFrom, Username: "u", Password: "p"}
	}
	tests := []struct {
		name string
		edit func(*smtpmail.Config)
		want error // nil: New succeeds
	}{
		{"valid", func(*smtpmail.Config) {}, nil},
		{"bare From address", func(c *smtpmail.Config) { c.From = "no-reply@example.com" }, nil},
		{"IPv6 host", func(c *smtpmail.Config) { c.Host = "2001:db8::25" }, nil},
		{"caller's TLS config", func(c *smtpmail.Config) { c.TLSConfig = &tls.Config{ServerName: "mx.example.com"} }, nil},
		{"user without password", func(c *smtpmail.Config) { c.Password = "" }, nil},
		{"no Host", func(c *smtpmail.Config) { c.Host = "" }, smtpmail.ErrInvalidConfig},
		{"Host with port", func(c *smtpmail.Config) { c.Host = "smtp.example.com:25" }, smtpmail.ErrInvalidConfig},
		{"Host in brackets", func(c *smtpmail.Config) { c.Host = "[::1]" }, smtpmail.ErrInvalidConfig},
		{"Host with line break", func(c *smtpmail.Config) { c.Host = "smtp.example.com\r\nRSET" }, smtpmail.ErrInvalidConfig},
		{"negative Port", func(c *smtpmail.Config) { c.Port = -1 }, smtpmail.ErrInvalidConfig},
		{"Port too large", func(c *smtpmail.Config) { c.Port = 65536 }, smtpmail.ErrInvalidConfig},
		{"password without user", func(c *smtpmail.Config) { c.Username = "" }, smtpmail.ErrInvalidConfig},
		{"no From", func(c *smtpmail.Config) { c.From = "" }, smtpmail.ErrInvalidConfig},
		{"From not an address", func(c *smtpmail.Config) { c.From = "no-reply" }, smtpmail.ErrInvalidAddress},
		{"From with two addresses", func(c *smtpmail.Config) { c.From = "a@example.com, b@example.com" }, smtpmail.ErrInvalidAddress},
		{"From with CRLF", func(c *smtpmail.Config) { c.From = "a@example.com\r\nBcc: victim@example.net" }, smtpmail.ErrHeaderInjection},
		{"From with LF in name", func(c *smtpmail.Config) { c.From = "\"A\nB\" <a@example.com>" }, smtpmail.ErrHeaderInjection},
		{"negative Timeout", func(c *smtpmail.Config) { c.Timeout = -time.Second }, smtpmail.ErrInvalidConfig},
		{"LocalName with space", func(c *smtpmail.Config) { c.LocalName = "my host" }, smtpmail.ErrInvalidConfig},
		{"LocalName with CRLF", func(c *smtpmail.Config) { c.LocalName = "host\r\nMAIL FROM:<x@example.com>" }, smtpmail.ErrInvalidConfig},
		{"unknown TLS mode", func(c *smtpmail.Config) { c.TLS = 7 }, smtpmail.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.edit(&cfg)

			m, err := smtpmail.New(cfg)

			if tt.want == nil {
				require.NoError(t, err, "New")
				assert.NotNil(t, m, "Mailer")
				return
			}
			require.ErrorIs(t, err, tt.want, "New")
			assert.Nil(t, m, "Mailer")
			assert.NotContains(t, err.Error(), "p@ss", "error message")
		})
	}
}

func TestNewDoesNotAliasTLSConfig(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS})
	tc := &tls.Config{RootCAs: ts.roots}
	m := newMailer(t, ts, smtpmail.StartTLS, func(c *smtpmail.Config) { c.TLSConfig = tc })

	require.NoError(t, m.Send(t.Context(), testMessage), "Send")
	assert.Empty(t, tc.ServerName, "caller's TLSConfig.ServerName after New and Send")
	assert.Zero(t, tc.MinVersion, "caller's TLSConfig.MinVersion after New and Send")
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want smtpmail.Config
	}{
		{"smtp://smtp.example.com", smtpmail.Config{Host: "smtp.example.com", TLS: smtpmail.StartTLS}},
		{"smtp://smtp.example.com/", smtpmail.Config{Host: "smtp.example.com", TLS: smtpmail.StartTLS}},
		{"smtp://user:pass@smtp.example.com:2525", smtpmail.Config{Host: "smtp.example.com", Port: 2525, Username: "user", Password: "pass", TLS: smtpmail.StartTLS}},
		{"smtps://user:pass@smtp.example.com", smtpmail.Config{Host: "smtp.example.com", Username: "user", Password: "pass", TLS: smtpmail.ImplicitTLS}},
		{"SMTPS://user:pass@smtp.example.com:465", smtpmail.Config{Host: "smtp.example.com", Port: 465, Username: "user", Password: "pass", TLS: smtpmail.ImplicitTLS}},
		{"smtp://apikey@smtp.example.com", smtpmail.Config{Host: "smtp.example.com", Username: "apikey", TLS: smtpmail.StartTLS}},
		{"smtp://us%40er:p%40ss%3A%2F%25w@smtp.example.com:587", smtpmail.Config{Host: "smtp.example.com", Port: 587, Username: "us@er", Password: "p@ss:/%w", TLS: smtpmail.StartTLS}},
		{"smtp://[::1]:1025?tls=none", smtpmail.Config{Host: "::1", Port: 1025, TLS: smtpmail.InsecurePlaintext}},
		{"smtp://localhost:1025?tls=none", smtpmail.Config{Host: "localhost", Port: 1025, TLS: smtpmail.InsecurePlaintext}},
		{"smtp://smtp.example.com?tls=starttls", smtpmail.Config{Host: "smtp.example.com", TLS: smtpmail.StartTLS}},
		{"smtp://smtp.example.com?tls=implicit", smtpmail.Config{Host: "smtp.example.com", TLS: smtpmail.ImplicitTLS}},
		{"smtps://smtp.example.com?tls=implicit", smtpmail.Config{Host: "smtp.example.com", TLS: smtpmail.ImplicitTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := smtpmail.ParseURL(tt.url)

			require.NoError(t, err, "ParseURL")
			assert.Equal(t, tt.want, got, "Config")
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	// Every URL holds a password; no error may show any of it.
	const secret = "Sup3rS3cret"
	for _, url := range []string{
		"http://user:" + secret + "@smtp.example.com",
		"smtp:user:" + secret + "@smtp.example.com",
		"smtp://user:" + secret + "@",
		"smtp://user:" + secret + "@smtp.example.com/path",
		"smtp://user:" + secret + "@smtp.example.com#frag",
		"smtp://user:" + secret + "@smtp.example.com:0",
		"smtp://user:" + secret + "@smtp.example.com:99999",
		"smtp://user:" + secret + "@smtp.example.com:port",
		"smtp://user:" + secret + "@smtp.example.com?tls=maybe",
		"smtp://user:" + secret + "@smtp.example.com?tls=none&tls=none",
		"smtp://user:" + secret + "@smtp.example.com?timeout=5",
		"smtp://user:" + secret + "@smtp.example.com?tls=%zz",
		"smtps://user:" + secret + "@smtp.example.com?tls=none",
		"smtps://user:" + secret + "@smtp.example.com?tls=starttls",
		"smtp://user:" + secret + "%zz@smtp.example.com",
		"smtp://user:" + secret + "/x@smtp.example.com",
		"smtp://user:" + secret + "?tls=" + secret + "@smtp.example.com",
		"smtp://user:" + secret + "\n@smtp.example.com",
		"smtp://user:12?" + secret + "@smtp.example.com",
		"",
		" smtp://user:" + secret + "@smtp.example.com",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := smtpmail.ParseURL(url)

			require.ErrorIs(t, err, smtpmail.ErrInvalidConfig, "ParseURL")
			assert.NotContains(t, err.Error(), secret, "error message")
			assert.NotContains(t, err.Error(), secret[:4], "error message")
		})
	}
}

func TestParseURLThenNew(t *testing.T) {
	cfg, err := smtpmail.ParseURL("smtp://mail.example.com:1025?tls=none")
	require.NoError(t, err, "ParseURL")
	cfg.From = testFrom

	_, err = smtpmail.New(cfg)

	require.ErrorIs(t, err, smtpmail.ErrInvalidConfig, "New with tls=none to a host that is not a loopback address")
}

func TestTLSModeString(t *testing.T) {
	assert.Equal(t, "starttls", smtpmail.StartTLS.String())
	assert.Equal(t, "implicit", smtpmail.ImplicitTLS.String())
	assert.Equal(t, "none", smtpmail.InsecurePlaintext.String())
	assert.Equal(t, "TLSMode(9)", smtpmail.TLSMode(9).String())
}
