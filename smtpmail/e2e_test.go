package smtpmail_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/smtpmail"
)

// e2eBaseURL is the base of the links in the mails of the end-to-end test.
const e2eBaseURL = "https://app.example.com"

// TestEndToEndOverSMTP drives the whole mail flow over real HTTP and real
// SMTP (STARTTLS and AUTH PLAIN, on loopback): register, read the
// verification mail off the SMTP server, verify through the API with the
// token from its link, then forgot-password, read the reset mail, reset
// through the API and log in with the new password.
func TestEndToEndOverSMTP(t *testing.T) {
	ts := startServer(t, serverOptions{tls: offerSTARTTLS, mechs: []string{"PLAIN"}})
	mailer := newMailer(t, ts, smtpmail.StartTLS, func(c *smtpmail.Config) {
		withCredentials(testUser, testPassword)(c)
		c.Now = nil // the real clock: the Date header is checked against it
	})
	api := startAPI(t, mailer)

	const (
		email   = "carol@example.org"
		oldPass = "first password 1"
		newPass = "second password 2"
	)

	// Register: the verification mail arrives at the SMTP server.
	posted := time.Now()
	status, body := api.post(t, "/register", map[string]string{"email": email, "password": oldPass, "display_name": "Carol"})
	require.Equal(t, http.StatusCreated, status, "POST /register: %v", body)
	got := awaitMail(t, ts, 0)
	assert.True(t, got.tls, "verification mail went over TLS")
	assert.Equal(t, testUser, got.user, "authenticated SMTP user")
	assert.Equal(t, "no-reply@example.com", got.from, "MAIL FROM")
	assert.Equal(t, []string{email}, got.to, "RCPT TO")
	verifyToken := checkLinkMail(t, got.data, email, "Verify your email for Authkit E2E", "/verify-email", posted, time.Now())

	// Verify through the API with the token from the link.
	status, body = api.post(t, "/verify-email", map[string]string{"token": verifyToken})
	require.Equal(t, http.StatusOK, status, "POST /verify-email: %v", body)
	assert.Equal(t, "Email verified successfully.", body["message"], "POST /verify-email")

	// The link opened again (a mail scanner first, the user after) still
	// answers success.
	status, body = api.do(t, http.MethodGet, "/verify-email/"+verifyToken, nil)
	require.Equal(t, http.StatusOK, status, "GET /verify-email/{token} again: %v", body)
	assert.Equal(t, "Email already verified.", body["message"], "GET /verify-email/{token} again")

	// The address is verified.
	status, body = api.post(t, "/login", map[string]string{"email": email, "password": oldPass})
	require.Equal(t, http.StatusOK, status, "POST /login before the reset: %v", body)
	access, _ := body["access_token"].(string)
	status, body = api.do(t, http.MethodGet, "/me", &access)
	require.Equal(t, http.StatusOK, status, "GET /me: %v", body)
	assert.Equal(t, true, body["email_verified"], "email_verified after following the link")

	// Forgot password: the reset mail arrives at the SMTP server.
	sent := len(ts.received())
	posted = time.Now()
	status, body = api.post(t, "/forgot-password", map[string]string{"email": email})
	require.Equal(t, http.StatusOK, status, "POST /forgot-password: %v", body)
	got = awaitMail(t, ts, sent)
	assert.True(t, got.tls, "reset mail went over TLS")
	assert.Equal(t, []string{email}, got.to, "RCPT TO")
	resetToken := checkLinkMail(t, got.data, email, "Reset your Authkit E2E password", "/reset-password", posted, time.Now())

	status, body = api.post(t, "/reset-password", map[string]string{"token": resetToken, "password": newPass})
	require.Equal(t, http.StatusOK, status, "POST /reset-password: %v", body)
	assert.Equal(t, "Password reset successfully.", body["message"], "POST /reset-password")

	status, body = api.post(t, "/login", map[string]string{"email": email, "password": newPass})
	require.Equal(t, http.StatusOK, status, "login with the new password: %v", body)
	assert.NotEmpty(t, body["access_token"], "access_token after the reset")
	status, body = api.post(t, "/login", map[string]string{"email": email, "password": oldPass})
	assert.Equal(t, http.StatusUnauthorized, status, "login with the old password: %v", body)

	// The reset link works once.
	status, body = api.post(t, "/reset-password", map[string]string{"token": resetToken, "password": "third password 3"})
	assert.Equal(t, http.StatusBadRequest, status, "reset link used twice: %v", body)
}

// apiServer is httpauth served over real HTTP on loopback.
type apiServer struct {
	url    string
	client *http.Client
}

// startAPI builds an Authenticator on memstore that sends its mail through
// mailer and serves its API. The queued mail is drained when the test ends.
func startAPI(t *testing.T, mailer authkit.Mailer) *apiServer {
	t.Helper()
	a, err := authkit.New(authkit.Config{
		Store:          memstore.New(),
		Mailer:         mailer,
		Secret:         []byte("0123456789abcdef0123456789abcdef-smtpmail-e2e"),
		BaseURL:        e2eBaseURL,
		AppName:        "Authkit E2E",
		BcryptCost:     4,
		MailRetryDelay: 10 * time.Millisecond,
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	h, err := httpauth.New(httpauth.Config{Authenticator: a})
	require.NoError(t, err, "httpauth.New")
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &apiServer{url: srv.URL, client: srv.Client()}
}

func (s *apiServer) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	return s.do(t, http.MethodPost, path, body)
}

// do sends a request with a JSON body (a *string body is a bearer token
// instead) and decodes the JSON answer.
func (s *apiServer) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader = http.NoBody
	bearer := ""
	switch b := body.(type) {
	case nil:
	case *string:
		bearer = *b
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err, "encode request body")
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, rd)
	require.NoError(t, err, "new request")
	if rd != http.NoBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err, "read response")
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out), "%s %s: body %q", method, path, raw)
	return res.StatusCode, out
}

// awaitMail waits for the server to have received more than skip messages
// and returns message number skip.
func awaitMail(t *testing.T, ts *testServer, skip int) received {
	t.Helper()
	var got received
	require.Eventually(t, func() bool {
		mails := ts.received()
		if len(mails) <= skip {
			return false
		}
		got = mails[skip]
		return true
	}, testkit.Timeout, 5*time.Millisecond, "mail number %d arrives at the SMTP server", skip+1)
	return got
}

// checkLinkMail parses a mail as the SMTP server received it, checks its
// headers and both parts, and returns the token of the link to path that
// both parts carry. The mail was written between sentAfter and sentBefore
// by the real clock.
func checkLinkMail(t *testing.T, raw []byte, to, subject, path string, sentAfter, sentBefore time.Time) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err, "mail.ReadMessage")
	h := msg.Header

	from, err := h.AddressList("From")
	require.NoError(t, err, "parse From")
	assert.Equal(t, []*mail.Address{{Name: "Authkit Test", Address: "no-reply@example.com"}}, from, "From")
	rcpt, err := h.AddressList("To")
	require.NoError(t, err, "parse To")
	require.Len(t, rcpt, 1, "To")
	assert.Equal(t, to, rcpt[0].Address, "To")
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err, "decode Subject")
	assert.Equal(t, subject, subj, "Subject")
	date, err := h.Date()
	require.NoError(t, err, "parse Date %q", h.Get("Date"))
	// Date is when the mail was written, to the second: no earlier than the
	// request that caused it, no later than its arrival.
	assert.False(t, date.Before(sentAfter.Truncate(time.Second)), "Date %s is before the request at %s", date, sentAfter)
	assert.False(t, date.After(sentBefore), "Date %s is after the mail arrived at %s", date, sentBefore)
	assert.Regexp(t, `^<[^<>@\s]+@[^<>@\s]+>$`, h.Get("Message-ID"), "Message-ID")
	assert.Equal(t, "1.0", h.Get("MIME-Version"), "MIME-Version")
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	require.NoError(t, err, "parse Content-Type")
	require.Equal(t, "multipart/alternative", mediaType, "Content-Type")
	require.NotEmpty(t, params["boundary"], "boundary")

	parts := map[string]string{}
	var order []string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "next part")
		typ, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err, "parse part Content-Type")
		parts[typ] = decodePart(t, p)
		order = append(order, typ)
	}
	// The preferred alternative comes last (RFC 2046 §5.1.4).
	require.Equal(t, []string{"text/plain", "text/html"}, order, "parts")

	link := regexp.MustCompile(regexp.QuoteMeta(e2eBaseURL+path+"?token=") + `([A-Za-z0-9_-]+)`)
	m := link.FindStringSubmatch(parts["text/plain"])
	require.NotNil(t, m, "text part has the link to %s:\n%s", path, parts["text/plain"])
	token := m[1]
	htmlBody := parts["text/html"]
	assert.Contains(t, htmlBody, `href="`+m[0]+`"`, "HTML part links to the same URL")
	assert.Contains(t, html.UnescapeString(htmlBody), m[0], "HTML part shows the link")
	return token
}

// decodePart reads a raw MIME part and undoes its Content-Transfer-Encoding.
func decodePart(t *testing.T, p *multipart.Part) string {
	t.Helper()
	var r io.Reader = p
	switch cte := strings.ToLower(p.Header.Get("Content-Transfer-Encoding")); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(p)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, p)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err, "decode part")
	return string(data)
}
