package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactHidesEveryPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:s3cret@db:5432/app?sslmode=verify-full":            "postgres://app:xxxxx@db:5432/app?sslmode=verify-full",
		"postgres://app@db/app?password=s3cret&sslmode=disable":            "postgres://app@db/app?password=xxxxx&sslmode=disable",
		"postgres://db/app?sslpassword=s3cret&sslkey=%2Fkeys%2Fs3cret.key": "postgres://db/app?sslkey=xxxxx&sslpassword=xxxxx",
		"mysql://root:s3cret@tcp(db:3306)/app":                             "(unparseable database URL)",
		"mysql://root:s3cret@db:3306/app?parseTime=true":                   "mysql://root:xxxxx@db:3306/app?parseTime=true",
		"sqlite:authkit.db": "sqlite:authkit.db",
		"sqlite:authkit.db?_pragma=busy_timeout(5000)&_auth_pass=s3cret": "sqlite:authkit.db?_auth_pass=xxxxx&_pragma=busy_timeout%285000%29",
		"postgres://app:s3cret@db/app?PassWord=s3cret":                   "postgres://app:xxxxx@db/app?PassWord=xxxxx",
		"postgres://app:%zz@db/app":                                      "(unparseable database URL)",
		"postgres://app@db/app?password=s3cret;sslmode=disable&x=%zz":    "postgres:(unparseable database URL)",
	} {
		got := redact(in)
		assert.Equal(t, want, got, "redact(%q)", in)
		assert.NotContains(t, got, "s3cret", "redact(%q)", in)
	}
}

func TestServerBehindATrustedProxy(t *testing.T) {
	// login signs up, then logs in through a proxy that forwards for
	// forwardedFor, and returns the client address of that session.
	login := func(s *server, forwardedFor string) string {
		t.Helper()
		status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": "proxy@example.com", "password": "correct horse"})
		require.Equal(t, http.StatusCreated, status, "register: %v", body)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.base+"/api/auth/login",
			strings.NewReader(`{"email": "proxy@example.com", "password": "correct horse"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		res, err := s.client.Do(req)
		require.NoError(t, err)
		var tk struct {
			AccessToken string `json:"access_token"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&tk))
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		status, list, _ := s.call(t, "GET", "/api/auth/sessions", tk.AccessToken, nil)
		require.Equal(t, http.StatusOK, status)
		for _, s := range list["sessions"].([]any) {
			if m := s.(map[string]any); m["current"] == true {
				return m["client_addr"].(string)
			}
		}
		t.Fatal("no current session")
		return ""
	}
	db := func() string { return "sqlite:" + filepath.Join(t.TempDir(), "authkit.db") }

	trusting := start(t, map[string]string{"AUTHKIT_DATABASE_URL": db(), "AUTHKIT_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"})
	assert.Equal(t, "203.0.113.9", login(trusting, "203.0.113.9"), "the loopback proxy is trusted: the forwarded client is recorded")

	direct := start(t, map[string]string{"AUTHKIT_DATABASE_URL": db()})
	assert.Equal(t, "127.0.0.1", login(direct, "203.0.113.9"), "no trusted proxies: X-Forwarded-For is ignored")
}

func TestServerHardening(t *testing.T) {
	s := start(t, map[string]string{"AUTHKIT_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "authkit.db")})
	assert.Contains(t, s.log.String(), "DEVELOPMENT MAILER", "a loud warning while links are printed to the log")

	for _, path := range []string{"/assets/", "/assets", "/templates/", "/nowhere"} {
		res, err := http.Get(s.base + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.NotContains(t, string(body), `<a href="authpages.js"`, "GET %s lists no directory", path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "GET %s", path)
	}

	for _, path := range []string{"/api/auth/me", "/api/auth/nowhere", "/api/hello", "/api/auth/jwks.json"} {
		_, _, hdr := s.call(t, "GET", path, "", nil)
		assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"), "GET %s", path)
	}
	status, _, hdr := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": "h@example.com", "password": "correct horse", "display_name": `Q"uote</script>`})
	require.Equal(t, http.StatusCreated, status)
	assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"), "POST /register")
	_, body, _ := s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "h@example.com", "password": "correct horse"})
	status, hello, hdr := s.call(t, "GET", "/api/hello", body["access_token"].(string), nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, `Hello, Q"uote</script>!`, hello["message"], "a JSON encoder writes the name")
	assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"), "GET /api/hello")
}
