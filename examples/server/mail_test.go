package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/smtpsink"
)

// openPage GETs the page a mailed link opens, on the test server whatever
// host the link names, and checks that it is the page and leaks no
// referrer.
func openPage(t *testing.T, s *server, link *url.URL, wantInPage string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.base+link.RequestURI(), nil)
	require.NoError(t, err, "new request")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "GET %s", link.Path)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err, "read page")
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s", link.Path)
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), "Referrer-Policy of %s", link.Path)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/html", "Content-Type of %s", link.Path)
	assert.Contains(t, string(body), wantInPage, "page %s", link.Path)
	assert.NotContains(t, string(body), link.Query().Get("token"), "the page does not echo the token")
}

// TestServerMailsOverSMTP runs the reference server with AUTHKIT_SMTP_URL
// pointing at a real SMTP server on loopback, and follows the links of the
// mails it delivers: opening a link's page spends nothing; only the POST
// to the API does.
func TestServerMailsOverSMTP(t *testing.T) {
	sink := smtpsink.Start(t)
	s := start(t, map[string]string{
		"AUTHKIT_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "authkit.db"),
		"AUTHKIT_SMTP_URL":     fmt.Sprintf("smtp://%s?tls=none", sink.Addr()),
		"AUTHKIT_MAIL_FROM":    "Authkit <no-reply@example.com>",
		"AUTHKIT_BASE_URL":     "http://localhost:8080",
	})
	const (
		email   = "mary@example.com"
		oldPass = "correct horse battery staple"
		newPass = "another horse battery staple"
	)

	status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": email, "password": oldPass, "display_name": "Mary"})
	require.Equal(t, http.StatusCreated, status, "register: %v", body)
	access, _ := body["access_token"].(string)
	require.NotEmpty(t, access, "access_token")

	// The verification mail goes through SMTP, not the log.
	link, got := sink.Await(t, email, "/verify-email")
	assert.Equal(t, "no-reply@example.com", got.From, "MAIL FROM")
	assert.Equal(t, "http", link.Scheme, "link scheme from AUTHKIT_BASE_URL")
	assert.Equal(t, "localhost:8080", link.Host, "link host from AUTHKIT_BASE_URL")
	token := link.Query().Get("token")
	assert.NotContains(t, s.log.String(), token, "the token is not logged")

	// A mail scanner and then the user open the page: it spends nothing.
	openPage(t, s, link, `data-page="verify-email"`)
	openPage(t, s, link, `data-page="verify-email"`)
	status, body, _ = s.call(t, "GET", "/api/auth/me", access, nil)
	require.Equal(t, http.StatusOK, status, "me: %v", body)
	assert.Equal(t, false, body["email_verified"], "email_verified after opening the page")

	// The page posts the token; the first POST verifies.
	status, body, _ = s.call(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": token})
	require.Equal(t, http.StatusOK, status, "verify: %v", body)
	assert.Equal(t, "Email verified successfully.", body["message"], "the token was still unspent")
	status, body, _ = s.call(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": token})
	require.Equal(t, http.StatusOK, status, "verify again: %v", body)
	assert.Equal(t, "Email already verified.", body["message"], "verify again")
	status, body, _ = s.call(t, "GET", "/api/auth/me", access, nil)
	require.Equal(t, http.StatusOK, status, "me: %v", body)
	assert.Equal(t, true, body["email_verified"], "email_verified after the POST")

	// Forgot password: the reset mail goes through SMTP.
	status, body, _ = s.call(t, "POST", "/api/auth/forgot-password", "", map[string]string{"email": email})
	require.Equal(t, http.StatusOK, status, "forgot password: %v", body)
	link, _ = sink.Await(t, email, "/reset-password")
	token = link.Query().Get("token")

	// Opening the page twice spends nothing: the POST below still works.
	openPage(t, s, link, `<form id="reset"`)
	openPage(t, s, link, `<form id="reset"`)
	status, body, _ = s.call(t, "POST", "/api/auth/reset-password", "", map[string]string{"token": token, "password": newPass})
	require.Equal(t, http.StatusOK, status, "reset after opening the page twice: %v", body)
	assert.Equal(t, "Password reset successfully.", body["message"], "reset")

	status, body, _ = s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": newPass})
	require.Equal(t, http.StatusOK, status, "login with the new password: %v", body)
	assert.NotEmpty(t, body["access_token"], "access_token")
	status, body, _ = s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": email, "password": oldPass})
	assert.Equal(t, http.StatusUnauthorized, status, "login with the old password: %v", body)

	// A reset link works once.
	status, body, _ = s.call(t, "POST", "/api/auth/reset-password", "", map[string]string{"token": token, "password": "a third horse battery"})
	assert.Equal(t, http.StatusBadRequest, status, "reset link used twice: %v", body)
}
