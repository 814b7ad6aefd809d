package httpauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// testSecret is an HS256 secret for tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-httpauth-test")

// setup is what a test may change before the server starts.
type setup struct {
	auth  authkit.Config
	http  httpauth.Config
	store authkit.Store
	// wrap, if set, wraps the whole server's handler: the mounted API and
	// the host's routes.
	wrap func(http.Handler) http.Handler
	// tls serves over HTTPS (httptest's certificate), where cookies are
	// Secure and __Host- prefixed.
	tls bool
}

// env is an Authenticator and Handler served over real HTTP on loopback,
// mounted at /api/auth/ as the seed's URLs, with a protected host route at
// GET /api/hello.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	auth  *authkit.Authenticator
	h     *httpauth.Handler
	store authkit.Store
	mem   *memstore.Store
	clock *testkit.Clock
	mail  *testkit.Mailbox
	log   *testkit.LogBuffer
}

// newEnv starts an env; each change may adjust the setup first.
func newEnv(t testing.TB, changes ...func(*setup)) *env {
	t.Helper()
	e := &env{t: t, mem: memstore.New(), clock: testkit.NewClock(), mail: testkit.NewMailbox(), log: &testkit.LogBuffer{}}
	s := &setup{
		auth: authkit.Config{
			Secret:         testSecret,
			BaseURL:        "https://app.example.com",
			BcryptCost:     4,
			Now:            e.clock.Now,
			MailRetryDelay: time.Millisecond,
			// A loaded machine may keep a request from a hashing slot
			// for long; the tests of ErrBusy end the wait themselves.
			MaxHashWait: testkit.Timeout,
		},
		store: e.mem,
	}
	s.http.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	for _, change := range changes {
		change(s)
	}
	s.auth.Store = s.store
	s.auth.Mailer = e.mail
	e.store = s.store
	a, err := authkit.New(s.auth)
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
		defer cancel()
		_ = a.Close(ctx)
	})
	e.auth = a
	s.http.Authenticator = a
	h, err := httpauth.New(s.http)
	require.NoError(t, err, "httpauth.New")
	e.h = h

	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", h))
	mux.Handle("GET /api/hello", h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := httpauth.UserFrom(r.Context())
		if !ok {
			http.Error(w, "no user in context", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "Hello, " + u.DisplayName + "!"})
	})))
	mux.Handle("GET /api/maybe", h.LoadUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := httpauth.UserFrom(r.Context())
		if !ok {
			_, _ = io.WriteString(w, "anonymous")
			return
		}
		_, _ = io.WriteString(w, "user "+u.Email)
	})))
	var root http.Handler = mux
	if s.wrap != nil {
		root = s.wrap(mux)
	}
	// Every exchange with the API is held to the OpenAPI document.
	root = apiContract(t, "/api/auth")(root)
	if s.tls {
		e.srv = httptest.NewTLSServer(root)
	} else {
		e.srv = httptest.NewServer(root)
	}
	t.Cleanup(e.srv.Close)
	return e
}

// drain closes the Authenticator, which waits for its mail queue to
// empty, so that the mailbox then holds every message the test caused.
// Mail is not sent after it: call it at the end of a test, before
// e.mail.None.
func (e *env) drain() {
	e.t.Helper()
	require.NoError(e.t, e.auth.Close(e.t.Context()), "Close drains the mail queue")
}

// withHTTP adjusts the httpauth.Config of an env.
func withHTTP(f func(*httpauth.Config)) func(*setup) {
	return func(s *setup) { f(&s.http) }
}

// withAuth adjusts the authkit.Config of an env.
func withAuth(f func(*authkit.Config)) func(*setup) {
	return func(s *setup) { f(&s.auth) }
}

// loopback trusts the loopback networks as proxies.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a JSON object.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "decode body %q", r.body)
	return m
}

// req is one request to send.
type req struct {
	method string
	path   string // below the mount point, such as "/login"; or absolute from "/api/"
	body   any    // nil: none; string or []byte: raw; else JSON-encoded
	bearer string
	header map[string]string
}

// do sends rq and reads the whole response.
func (e *env) do(rq req) response {
	e.t.Helper()
	var body io.Reader = http.NoBody
	contentType := ""
	switch b := rq.body.(type) {
	case nil:
	case string:
		body, contentType = strings.NewReader(b), "application/json"
	case []byte:
		body, contentType = bytes.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		body, contentType = bytes.NewReader(data), "application/json"
	}
	path := rq.path
	if !strings.HasPrefix(path, "/api/") {
		path = "/api/auth" + path
	}
	r, err := http.NewRequestWithContext(context.Background(), rq.method, e.srv.URL+path, body)
	require.NoError(e.t, err)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if rq.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+rq.bearer)
	}
	for k, v := range rq.header {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	res, err := e.srv.Client().Do(r)
	require.NoError(e.t, err, "%s %s", rq.method, path)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func (e *env) post(path string, body any) response {
	e.t.Helper()
	return e.do(req{method: http.MethodPost, path: path, body: body})
}

func (e *env) get(path, bearer string) response {
	e.t.Helper()
	return e.do(req{method: http.MethodGet, path: path, bearer: bearer})
}

// tokens is a decoded token response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	DisplayName  string `json:"display_name"`
}

func (r response) tokens(t testing.TB) tokens {
	t.Helper()
	var tk tokens
	require.NoError(t, json.Unmarshal(r.body, &tk), "decode token response %q", r.body)
	require.NotEmpty(t, tk.AccessToken, "access_token in %s", r.body)
	return tk
}

// register signs a user up over HTTP, drains the verification email and
// returns the tokens and the verification token.
func (e *env) register(email, password string) (tokens, string) {
	e.t.Helper()
	res := e.post("/register", map[string]string{"email": email, "password": password})
	require.Equal(e.t, http.StatusCreated, res.status, "POST /register: %s", res.body)
	return res.tokens(e.t), testkit.TokenOf(e.t, e.mail.Next(e.t, authkit.MessageVerifyEmail))
}

// login signs a user in over HTTP.
func (e *env) login(email, password string) tokens {
	e.t.Helper()
	res := e.post("/login", map[string]string{"email": email, "password": password})
	require.Equal(e.t, http.StatusOK, res.status, "POST /login: %s", res.body)
	return res.tokens(e.t)
}

// assertProblem checks that res is a problem+json with status and code,
// and returns its body.
func assertProblem(t testing.TB, res response, status int, code string) map[string]any {
	t.Helper()
	assert.Equal(t, status, res.status, "status; body %s", res.body)
	assert.Equal(t, "application/problem+json", res.header.Get("Content-Type"), "Content-Type")
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"), "Cache-Control")
	var m map[string]any
	if !assert.NoError(t, json.Unmarshal(res.body, &m), "problem body %q", res.body) {
		return nil
	}
	assert.Equal(t, code, m["code"], "code; body %s", res.body)
	assert.EqualValues(t, status, m["status"], "status member")
	assert.Equal(t, "about:blank", m["type"], "type member")
	assert.Equal(t, http.StatusText(status), m["title"], "title member")
	assert.NotEmpty(t, m["detail"], "detail member")
	return m
}

// jsonUnmarshal is json.Unmarshal, for files that need no other json.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
