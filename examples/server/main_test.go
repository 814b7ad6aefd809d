package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/sqlstore/mysql"
	"github.com/authkit/authkit/sqlstore/postgres"
)

// server is one run of the reference server.
type server struct {
	base string
	// client holds every exchange with the API to the OpenAPI document.
	client *http.Client
	log    *testkit.LogBuffer // the development mailer logs the mails, links included
	stop   func() error
}

// start runs the server with env on a free loopback port until stop is
// called or the test ends.
func start(t *testing.T, env map[string]string) *server {
	t.Helper()
	env["AUTHKIT_ADDR"] = "127.0.0.1:0"
	if env["AUTHKIT_SECRET"] == "" {
		env["AUTHKIT_SECRET"] = "an example secret of at least 32 bytes!"
	}
	getenv := func(name string) string { return env[name] }
	log := &testkit.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, getenv, slog.New(slog.NewTextHandler(log, nil)), func(a net.Addr) { addr <- a })
	}()
	s := &server{log: log, client: newContractClient(t)}
	var once sync.Once
	var stopErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = testkit.Receive(t, done, "the server's shutdown")
		})
		return stopErr
	}
	t.Cleanup(func() { _ = s.stop() })
	select {
	case a := <-addr:
		s.base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("server did not start: %v\n%s", err, log)
	case <-time.After(testkit.Timeout):
		t.Fatalf("server did not start in time\n%s", log)
	}
	return s
}

// call sends a JSON request and decodes the JSON answer into a map.
func (s *server) call(t *testing.T, method, path, bearer string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.base+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 && strings.Contains(res.Header.Get("Content-Type"), "json") {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return res.StatusCode, out, res.Header
}

var verifyLink = regexp.MustCompile(`(http://[^/\s"]+)/verify-email\?token=([A-Za-z0-9_-]+)`)

// exercise registers a user, verifies the address through the link the
// server mailed, logs in and calls the protected handler.
func exercise(t *testing.T, s *server, email string) {
	t.Helper()
	const pw = "correct horse battery staple"
	status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": email, "password": pw, "display_name": "Ada"})
	require.Equal(t, http.StatusCreated, status, "register: %v", body)
	require.NotEmpty(t, body["refresh_token"])

	var token string
	require.Eventually(t, func() bool {
		m := verifyLink.FindStringSubmatch(s.log.String())
		if m != nil {
			token = m[2]
			// Without AUTHKIT_BASE_URL, links follow AUTHKIT_ADDR.
			assert.Equal(t, s.base, m[1], "the link's origin")
		}
		return m != nil
	}, testkit.Timeout, 10*time.Millisecond, "the verification mail is logged")
	assert.Contains(t, s.log.String(), `mailer="development (log)"`, "the startup log names the mailer")
	assert.Contains(t, s.log.String(), "base_url="+s.base, "and the base URL")
	status, body, _ = s.call(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": token})
	require.Equal(t, http.StatusOK, status, "verify: %v", body)
	assert.Equal(t, "Email verified successfully.", body["message"])

	status, body, _ = s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": strings.ToUpper(email), "password": pw})
	require.Equal(t, http.StatusOK, status, "login: %v", body)
	access, _ := body["access_token"].(string)
	require.NotEmpty(t, access)

	status, body, _ = s.call(t, "GET", "/api/hello", access, nil)
	require.Equal(t, http.StatusOK, status, "hello: %v", body)
	assert.Equal(t, "Hello, Ada!", body["message"])
	status, _, _ = s.call(t, "GET", "/api/hello", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "hello without a token")

	status, body, _ = s.call(t, "GET", "/api/auth/me", access, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, body["email_verified"])
	assert.NotContains(t, s.log.String(), pw, "no password in the log")
}

func TestServerSQLite(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "authkit.db")
	s := start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL})
	exercise(t, s, "ada@example.com")
	require.NoError(t, s.stop(), "graceful shutdown")

	// The data outlives the process: log in again after a restart.
	s = start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL})
	status, body, _ := s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	assert.Equal(t, http.StatusOK, status, "login after a restart: %v", body)
}

func TestServerPostgreSQL(t *testing.T) {
	_, databaseURL, _ := postgresSchema(t, "authkit_server_", "run the reference server on PostgreSQL")
	exercise(t, start(t, map[string]string{"AUTHKIT_DATABASE_URL": databaseURL}), "grace@example.com")
}

// postgresSchema gives the test a schema of its own, named from prefix, on
// the server AUTHKIT_TEST_POSTGRES_DSN names, dropped when the test ends;
// without the variable it skips, saying it is needed to do what. It
// returns a pool on the server, the database URL that works in the schema,
// and the schema's name.
func postgresSchema(t *testing.T, prefix, what string) (admin *sql.DB, databaseURL, schema string) {
	t.Helper()
	dsn := os.Getenv("AUTHKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set AUTHKIT_TEST_POSTGRES_DSN to " + what)
	}
	admin, err := postgres.Open(t.Context(), dsn)
	require.NoError(t, err)
	schema = prefix + strings.ToLower(rand.Text())
	_, err = admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(t, err, "drop the test's schema")
		_ = admin.Close()
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return admin, u.String(), schema
}

func TestServerMySQL(t *testing.T) {
	server := testkit.MySQLURL(t)
	admin, err := mysql.Open(t.Context(), server)
	require.NoError(t, err)
	name := "authkit_server_" + strings.ToLower(rand.Text())
	_, err = admin.ExecContext(t.Context(), "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE "+name)
		_ = admin.Close()
	})

	u, err := url.Parse(server)
	require.NoError(t, err)
	u.Path = "/" + name
	exercise(t, start(t, map[string]string{"AUTHKIT_DATABASE_URL": u.String()}), "linus@example.com")
}

func TestServerPages(t *testing.T) {
	s := start(t, map[string]string{"AUTHKIT_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "authkit.db")})
	for _, path := range []string{"/", "/sign-in", "/sign-up", "/account", "/verify-email?token=abc", "/reset-password?token=abc", "/assets/authpages.js"} {
		res, err := http.Get(s.base + path)
		require.NoError(t, err, path)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), path)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'", path)
		assert.NotEmpty(t, body, path)
	}
	// The verify page asks before it spends anything: confirm, or "I did
	// not sign up", which deletes an account someone else registered.
	res, err := http.Get(s.base + "/verify-email?token=abc")
	require.NoError(t, err)
	verify, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(verify), `id="verify-confirm"`)
	assert.Contains(t, string(verify), `id="verify-decline"`)
	res, err = http.Get(s.base + "/assets/authpages.js")
	require.NoError(t, err)
	script, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(script), `"/decline-registration"`)

	// Opening the reset page spends nothing: the page posts the token only
	// when the user submits a new password.
	res, err = http.Get(s.base + "/reset-password?token=abc")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(page), `<form id="reset"`)
	assert.Contains(t, string(page), "/assets/authpages.js")
}

func TestServerRefusesBadSettings(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"short secret":      {"AUTHKIT_SECRET": "short"},
		"unknown scheme":    {"AUTHKIT_DATABASE_URL": "oracle://db"},
		"missing key":       {"AUTHKIT_SIGNING_KEY_FILE": filepath.Join(t.TempDir(), "missing.pem")},
		"bad SMTP URL":      {"AUTHKIT_SMTP_URL": "http://mail"},
		"plaintext SMTP":    {"AUTHKIT_SMTP_URL": "smtp://mail.example.com:25?tls=none"},
		"bad link base":     {"AUTHKIT_BASE_URL": "ftp://example.com"},
		"bad listen addr":   {"AUTHKIT_ADDR": "127.0.0.1:99999"},
		"bad proxy list":    {"AUTHKIT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"},
		"short factor key":  {"AUTHKIT_FACTOR_KEYS": "k1:c2hvcnQ="},
		"factor key no id":  {"AUTHKIT_FACTOR_KEYS": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		"bad origin":        {"AUTHKIT_ALLOWED_ORIGINS": "*"},
		"bad cache TTL":     {"AUTHKIT_USER_CACHE_TTL": "-5s"},
		"cache TTL no unit": {"AUTHKIT_USER_CACHE_TTL": "10"},
	} {
		t.Run(name, func(t *testing.T) {
			env["AUTHKIT_DATABASE_URL"] = cmp.Or(env["AUTHKIT_DATABASE_URL"], "sqlite:"+filepath.Join(t.TempDir(), "authkit.db"))
			if env["AUTHKIT_ADDR"] == "" {
				env["AUTHKIT_ADDR"] = "127.0.0.1:0"
			}
			getenv := func(k string) string { return env[k] }
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := run(ctx, getenv, slog.New(slog.DiscardHandler), nil)
			assert.Error(t, err)
		})
	}
}

// TestServerSecondFactor turns second factors on with AUTHKIT_FACTOR_KEYS
// and signs in in two steps, on SQLite.
func TestServerSecondFactor(t *testing.T) {
	s := start(t, map[string]string{
		"AUTHKIT_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "authkit.db"),
		"AUTHKIT_FACTOR_KEYS":  "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
	})
	const pw = "correct horse battery staple"
	status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": "ada@example.com", "password": pw})
	require.Equal(t, http.StatusCreated, status, "register: %v", body)
	access, _ := body["access_token"].(string)
	status, body, _ = s.call(t, "POST", "/api/auth/second-factor/totp", access, nil)
	require.Equal(t, http.StatusOK, status, "start: %v", body)
	secret, _ := body["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	status, body, _ = s.call(t, "POST", "/api/auth/second-factor/totp/confirm", access, map[string]string{"code": code})
	require.Equal(t, http.StatusOK, status, "confirm: %v", body)
	codes, _ := body["recovery_codes"].([]any)
	require.Len(t, codes, 10)

	status, body, _ = s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "ada@example.com", "password": pw})
	require.Equal(t, http.StatusUnauthorized, status, "login: %v", body)
	assert.Equal(t, "second_factor_required", body["code"])
	status, body, _ = s.call(t, "POST", "/api/auth/login/second-factor", "", map[string]any{"ticket": body["ticket"], "code": codes[0]})
	require.Equal(t, http.StatusOK, status, "second step with a recovery code: %v", body)
	assert.NotEmpty(t, body["access_token"])
}
