package smtpmail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/smtpmail"
)

// fixedNow is the clock of every Mailer in these tests.
var fixedNow = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))

const testFrom = "Authkit Test <no-reply@example.com>"

// testMessage has both bodies, a line that is a single dot, lines that
// start with dots, long lines, and non-ASCII text, so that dot-stuffing
// and quoted-printable are exercised.
var testMessage = authkit.Message{
	Kind:    authkit.MessageResetPassword,
	To:      "Bob Example <bob@example.org>",
	Subject: "Reset your password",
	Text: "Hello Bob,\n.\n..two dots\n.one dot\nReset here: https://app.example.com/reset-password?token=" +
		strings.Repeat("A", 90) + "\nCafé = 5 € — ok?\n\ttab\ntrailing space \n",
	HTML: "<p>Hello Bob,</p>\n.\n<p><a href=\"https://app.example.com/reset-password?token=" +
		strings.Repeat("A", 90) + "\">Reset</a></p>\n<p>Café — 日本語</p>",
}

// newMailer returns a Mailer for ts with the fixed clock; adjust changes
// the Config first.
func newMailer(tb testing.TB, ts *testServer, mode smtpmail.TLSMode, adjust func(*smtpmail.Config)) *smtpmail.Mailer {
	tb.Helper()
	cfg := smtpmail.Config{
		Host:      ts.host,
		Port:      ts.port,
		From:      testFrom,
		TLS:       mode,
		TLSConfig: &tls.Config{RootCAs: ts.roots},
		Timeout:   10 * time.Second,
		Now:       func() time.Time { return fixedNow },
	}
	if adjust != nil {
		adjust(&cfg)
	}
	m, err := smtpmail.New(cfg)
	require.NoError(tb, err, "smtpmail.New")
	return m
}

func withCredentials(user, password string) func(*smtpmail.Config) {
	return func(c *smtpmail.Config) { c.Username, c.Password = user, password }
}

func TestSendOverSTARTTLSWithAuthPlain(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{"PLAIN"}})
	m := newMailer(t, ts, smtpmail.StartTLS, withCredentials(testUser, testPassword))

	require.NoError(t, m.Send(t.Context(), testMessage), "Send")

	mails := ts.received()
	require.Len(t, mails, 1, "messages the server received")
	got := mails[0]
	assert.True(t, got.tls, "message went over TLS")
	assert.Equal(t, testUser, got.user, "authenticated user")
	assert.Equal(t, "no-reply@example.com", got.from, "MAIL FROM")
	assert.Equal(t, []string{"bob@example.org"}, got.to, "RCPT TO")
	checkMessage(t, got.data, testMessage)
}

func TestSendOverSTARTTLSWithAuthLogin(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{"LOGIN"}})
	m := newMailer(t, ts, smtpmail.StartTLS, withCredentials(testUser, testPassword))

	msg := testMessage
	msg.HTML = ""
	require.NoError(t, m.Send(t.Context(), msg), "Send")

	mails := ts.received()
	require.Len(t, mails, 1, "messages the server received")
	assert.True(t, mails[0].tls, "message went over TLS")
	assert.Equal(t, testUser, mails[0].user, "authenticated user")
	checkMessage(t, mails[0].data, msg)
}

func TestSendOverImplicitTLS(t *testing.T) {
	ts := startServer(t, serverOptions{tls: implicitTLS, mechs: []string{"PLAIN", "LOGIN"}})
	m := newMailer(t, ts, smtpmail.ImplicitTLS, withCredentials(testUser, testPassword))

	msg := testMessage
	msg.Text = ""
	require.NoError(t, m.Send(t.Context(), msg), "Send")

	mails := ts.received()
	require.Len(t, mails, 1, "messages the server received")
	assert.True(t, mails[0].tls, "message went over TLS")
	assert.Equal(t, testUser, mails[0].user, "authenticated user")
	checkMessage(t, mails[0].data, msg)
}

func TestSendPlaintextToLoopbackWhenAllowed(t *testing.T) {
	ts := startServer(t, serverOptions{tls: noTLS, mechs: []string{"PLAIN"}, insecureAuth: true})
	m := newMailer(t, ts, smtpmail.InsecurePlaintext, withCredentials(testUser, testPassword))

	require.NoError(t, m.Send(t.Context(), testMessage), "Send")

	mails := ts.received()
	require.Len(t, mails, 1, "messages the server received")
	assert.False(t, mails[0].tls, "message went in plaintext")
	assert.Equal(t, testUser, mails[0].user, "authenticated user")
	checkMessage(t, mails[0].data, testMessage)
}

func TestSendWithoutCredentialsDoesNotAuthenticate(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{"PLAIN"}})
	m := newMailer(t, ts, smtpmail.StartTLS, nil)

	require.NoError(t, m.Send(t.Context(), testMessage), "Send")

	_, authCalls := ts.commands()
	assert.Zero(t, authCalls, "AUTH commands")
	mails := ts.received()
	require.Len(t, mails, 1, "messages the server received")
	assert.Empty(t, mails[0].user, "authenticated user")
}

func TestSendRefusesWhenSTARTTLSNotOffered(t *testing.T) {
	// The server would take AUTH and mail in plaintext; the client must
	// not give it either.
	ts := startServer(t, serverOptions{tls: noTLS, mechs: []string{"PLAIN"}, insecureAuth: true})
	m := newMailer(t, ts, smtpmail.StartTLS, withCredentials(testUser, testPassword))

	err := m.Send(t.Context(), testMessage)

	require.ErrorIs(t, err, smtpmail.ErrTLSUnavailable, "Send to a server without STARTTLS")
	mailCalls, authCalls := ts.commands()
	assert.Zero(t, authCalls, "AUTH commands sent")
	assert.Zero(t, mailCalls, "MAIL commands sent")
	assert.Empty(t, ts.received(), "messages the server received")
}

func TestSendRefusesUntrustedCertificate(t *testing.T) {
	for _, mode := range []smtpmail.TLSMode{smtpmail.StartTLS, smtpmail.ImplicitTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			st := offerSTARTTLS
			if mode == smtpmail.ImplicitTLS {
				st = implicitTLS
			}
			ts := startServer(t, serverOptions{tls: st, mechs: []string{"PLAIN"}})
			// No RootCAs: the system roots, which do not know the test
			// server's self-signed certificate.
			m := newMailer(t, ts, mode, func(c *smtpmail.Config) {
				withCredentials(testUser, testPassword)(c)
				c.TLSConfig = nil
			})

			err := m.Send(t.Context(), testMessage)

			require.Error(t, err, "Send to a server with an untrusted certificate")
			mailCalls, authCalls := ts.commands()
			assert.Zero(t, authCalls, "AUTH commands sent")
			assert.Zero(t, mailCalls, "MAIL commands sent")
		})
	}
}

func TestSendWrongPassword(t *testing.T) {
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{mech}})
			const wrong = "not-the-password-9f3k"
			m := newMailer(t, ts, smtpmail.StartTLS, withCredentials(testUser, wrong))

			err := m.Send(t.Context(), testMessage)

			require.ErrorIs(t, err, smtpmail.ErrAuth, "Send with a wrong password")
			assert.NotContains(t, err.Error(), wrong, "error message")
			mailCalls, _ := ts.commands()
			assert.Zero(t, mailCalls, "MAIL commands sent")
			assert.Empty(t, ts.received(), "messages the server received")
		})
	}
}

func TestSendCredentialsButServerOffersNoAuth(t *testing.T) {
	ts := startServer(t, serverOptions{tls: implicitTLS})
	m := newMailer(t, ts, smtpmail.ImplicitTLS, withCredentials(testUser, testPassword))

	err := m.Send(t.Context(), testMessage)

	require.ErrorIs(t, err, smtpmail.ErrAuth, "Send with credentials to a server without AUTH")
	assert.Empty(t, ts.received(), "messages the server received")
}

func TestSendRefusesBadMessagesBeforeConnecting(t *testing.T) {
	tests := []struct {
		name string
		edit func(*authkit.Message)
		want error
	}{
		{"CRLF in Subject", func(m *authkit.Message) { m.Subject = "Hi\r\nBcc: victim@example.net" }, smtpmail.ErrHeaderInjection},
		{"LF in Subject", func(m *authkit.Message) { m.Subject = "Hi\nBcc: victim@example.net" }, smtpmail.ErrHeaderInjection},
		{"CR in Subject", func(m *authkit.Message) { m.Subject = "Hi\rX-Evil: 1" }, smtpmail.ErrHeaderInjection},
		{"CRLF in To", func(m *authkit.Message) { m.To = "bob@example.org\r\nBcc: victim@example.net" }, smtpmail.ErrHeaderInjection},
		{"LF in To display name", func(m *authkit.Message) { m.To = "\"Bob\nBcc: victim@example.net\" <bob@example.org>" }, smtpmail.ErrHeaderInjection},
		{"To empty", func(m *authkit.Message) { m.To = "" }, smtpmail.ErrInvalidAddress},
		{"To not an address", func(m *authkit.Message) { m.To = "bob" }, smtpmail.ErrInvalidAddress},
		{"To two addresses", func(m *authkit.Message) { m.To = "bob@example.org, eve@example.net" }, smtpmail.ErrInvalidAddress},
		{"no body", func(m *authkit.Message) { m.Text, m.HTML = "", "" }, smtpmail.ErrEmptyMessage},
	}
	sl := startStallingListener(t)
	m, err := smtpmail.New(smtpmail.Config{
		Host: sl.host, Port: sl.port, From: testFrom,
		TLS: smtpmail.InsecurePlaintext, Timeout: time.Second,
	})
	require.NoError(t, err, "smtpmail.New")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := testMessage
			tt.edit(&msg)

			err := m.Send(t.Context(), msg)

			require.ErrorIs(t, err, tt.want, "Send")
		})
	}
	assert.Zero(t, sl.conns.Load(), "connections made")
}

func TestSendGivesUpOnStalledServer(t *testing.T) {
	tests := []struct {
		name    string
		mode    smtpmail.TLSMode
		timeout time.Duration // Config.Timeout; an hour where the context must end Send
		ctx     func(t *testing.T) context.Context
		want    error
	}{
		{
			name: "context deadline", mode: smtpmail.StartTLS, timeout: time.Hour,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			want: context.DeadlineExceeded,
		},
		{
			name: "context deadline during TLS handshake", mode: smtpmail.ImplicitTLS, timeout: time.Hour,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			want: context.DeadlineExceeded,
		},
		{
			name: "Config.Timeout", mode: smtpmail.StartTLS, timeout: 200 * time.Millisecond,
			ctx:  func(t *testing.T) context.Context { return t.Context() },
			want: context.DeadlineExceeded,
		},
		{
			name: "context cancelled", mode: smtpmail.StartTLS, timeout: time.Hour,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				timer := time.AfterFunc(200*time.Millisecond, cancel)
				t.Cleanup(func() { timer.Stop(); cancel() })
				return ctx
			},
			want: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sl := startStallingListener(t)
			m, err := smtpmail.New(smtpmail.Config{
				Host: sl.host, Port: sl.port, From: testFrom, TLS: tt.mode, Timeout: tt.timeout,
			})
			require.NoError(t, err, "smtpmail.New")

			// The server never says a word, so Send returns only by giving
			// up; one that did not would hang, and Finish fail the test.
			testkit.Finish(t, "Send to a server that says nothing", func() {
				err = m.Send(tt.ctx(t), testMessage)
			})
			require.ErrorIs(t, err, tt.want, "Send to a server that says nothing")
			// The server counts the connection once it accepts it, which
			// may be a moment after Send gave up on it.
			require.Eventually(t, func() bool { return sl.conns.Load() > 0 }, testkit.Timeout, time.Millisecond, "the server got the connection")
			assert.Equal(t, int32(1), sl.conns.Load(), "connections made")
		})
	}
}

func TestSendEncodesSubject(t *testing.T) {
	subjects := map[string]string{
		"non-ASCII":           "Réinitialisez votre mot de passe — 日本語のテスト ✓",
		"long non-ASCII":      strings.Repeat("Vérifiez votre adresse e-mail. ", 12),
		"long ASCII":          strings.Repeat("Verify your email address. ", 12),
		"one very long word":  strings.Repeat("x", 1200),
		"looks encoded":       "=?UTF-8?q?not_encoded?=",
		"tab and punctuation": "Hello\tthere: \"quoted\" (comment) <angle> ;,",
		"empty":               "",
		"blanks at the ends":  "  Verify your email\t ",
		"runs of blanks":      strings.Repeat("Verify  your \t email   address.\t", 8),
	}
	ts := startServer(t, serverOptions{tls: offerSTARTTLS})
	m := newMailer(t, ts, smtpmail.StartTLS, func(c *smtpmail.Config) {
		c.From = "Équipe Authkit <no-reply@example.com>"
	})
	for name, subject := range subjects {
		t.Run(name, func(t *testing.T) {
			msg := testMessage
			msg.Subject = subject
			require.NoError(t, m.Send(t.Context(), msg), "Send")

			mails := ts.received()
			require.NotEmpty(t, mails, "messages the server received")
			raw := mails[len(mails)-1].data
			header, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
			assert.Regexp(t, `^[\t\r\n\x20-\x7e]*$`, string(header), "header is ASCII")

			parsed, err := mail.ReadMessage(bytes.NewReader(raw))
			require.NoError(t, err, "mail.ReadMessage")
			got, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
			require.NoError(t, err, "decode Subject")
			assert.Equal(t, subject, got, "decoded Subject")
			from, err := parsed.Header.AddressList("From")
			require.NoError(t, err, "parse From")
			assert.Equal(t, []*mail.Address{{Name: "Équipe Authkit", Address: "no-reply@example.com"}}, from, "From")
		})
	}
}

func TestSendConcurrently(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{"PLAIN"}})
	m := newMailer(t, ts, smtpmail.StartTLS, withCredentials(testUser, testPassword))

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			msg := testMessage
			msg.To = fmt.Sprintf("user%d@example.org", i)
			errs[i] = m.Send(t.Context(), msg)
		})
	}
	testkit.Finish(t, "8 concurrent Sends", wg.Wait)
	for i, err := range errs {
		require.NoError(t, err, "Send %d", i)
	}

	mails := ts.received()
	require.Len(t, mails, n, "messages the server received")
	var ids []string
	for _, got := range mails {
		parsed, err := mail.ReadMessage(bytes.NewReader(got.data))
		require.NoError(t, err, "mail.ReadMessage")
		ids = append(ids, parsed.Header.Get("Message-ID"))
	}
	slices.Sort(ids)
	assert.Len(t, slices.Compact(ids), n, "distinct Message-IDs")
}

// checkMessage parses raw as the server received it and checks every
// header and the decoded body parts against want.
func checkMessage(t *testing.T, raw []byte, want authkit.Message) {
	t.Helper()

	assert.Equal(t, bytes.Count(raw, []byte("\n")), bytes.Count(raw, []byte("\r\n")), "every line ends in CRLF")
	for line := range bytes.SplitSeq(raw, []byte("\r\n")) {
		assert.LessOrEqual(t, len(line), 998, "line length")
	}

	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err, "mail.ReadMessage")
	h := msg.Header

	wantKeys := []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	if want.Text == "" || want.HTML == "" {
		wantKeys = append(wantKeys, "Content-Transfer-Encoding")
	}
	var keys []string
	for k, v := range h {
		keys = append(keys, k)
		assert.Len(t, v, 1, "number of %s headers", k)
	}
	assert.ElementsMatch(t, wantKeys, keys, "header names")

	assert.Equal(t, fixedNow.Format(time.RFC1123Z), h.Get("Date"), "Date")
	date, err := h.Date()
	require.NoError(t, err, "parse Date")
	assert.True(t, date.Equal(fixedNow), "Date is the clock's time: %v", date)
	assert.Regexp(t, regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`), h.Get("Message-ID"), "Message-ID")
	from, err := h.AddressList("From")
	require.NoError(t, err, "parse From")
	assert.Equal(t, []*mail.Address{{Name: "Authkit Test", Address: "no-reply@example.com"}}, from, "From")
	wantTo, err := mail.ParseAddress(want.To)
	require.NoError(t, err, "parse wanted To")
	to, err := h.AddressList("To")
	require.NoError(t, err, "parse To")
	assert.Equal(t, []*mail.Address{wantTo}, to, "To")
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err, "decode Subject")
	assert.Equal(t, want.Subject, subject, "Subject")
	assert.Equal(t, "1.0", h.Get("MIME-Version"), "MIME-Version")

	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	require.NoError(t, err, "parse Content-Type")

	if want.Text == "" || want.HTML == "" {
		wantType, wantBody := "text/plain", want.Text
		if want.Text == "" {
			wantType, wantBody = "text/html", want.HTML
		}
		assert.Equal(t, wantType, mediaType, "Content-Type")
		assert.Equal(t, map[string]string{"charset": "UTF-8"}, params, "Content-Type parameters")
		assert.Equal(t, "quoted-printable", h.Get("Content-Transfer-Encoding"), "Content-Transfer-Encoding")
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		require.NoError(t, err, "decode body")
		assert.Equal(t, crlf(wantBody), string(body), "body")
		return
	}

	require.Equal(t, "multipart/alternative", mediaType, "Content-Type")
	require.NotEmpty(t, params["boundary"], "boundary")
	r := multipart.NewReader(msg.Body, params["boundary"])
	for _, wantPart := range []struct{ typ, body string }{{"text/plain", want.Text}, {"text/html", want.HTML}} {
		part, err := r.NextRawPart()
		require.NoError(t, err, "read %s part", wantPart.typ)
		assert.Equal(t, wantPart.typ+"; charset=UTF-8", part.Header.Get("Content-Type"), "part Content-Type")
		assert.Equal(t, "quoted-printable", part.Header.Get("Content-Transfer-Encoding"), "part Content-Transfer-Encoding")
		assert.Len(t, part.Header, 2, "part header fields")
		body, err := io.ReadAll(quotedprintable.NewReader(part))
		require.NoError(t, err, "decode %s part", wantPart.typ)
		assert.Equal(t, crlf(wantPart.body), string(body), "%s part", wantPart.typ)
	}
	_, err = r.NextRawPart()
	assert.ErrorIs(t, err, io.EOF, "no third part")
}

// crlf returns s in the canonical form text travels in: CRLF line breaks.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestSendOnZeroMailer(t *testing.T) {
	var nilMailer *smtpmail.Mailer
	for name, m := range map[string]*smtpmail.Mailer{"nil": nilMailer, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, m.Send(t.Context(), testMessage), smtpmail.ErrInvalidConfig, "Send on a Mailer not made by New")
		})
	}
}
