package httpauth_test

import (
	"context"
	"errors"
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

// TestNoStore checks that token responses, /me and every other answer of
// the Handler carry Cache-Control: no-store.
func TestNoStore(t *testing.T) {
	e := newEnv(t)
	res := e.post("/register", map[string]string{"email": "ada@example.com", "password": "correct horse"})
	tk := res.tokens(t)
	all := map[string]response{
		"register":                             res,
		"login":                                e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse"}),
		"me":                                   e.get("/me", tk.AccessToken),
		"sessions":                             e.get("/sessions", tk.AccessToken),
		"refresh":                              e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}),
		"forgot-password":                      e.post("/forgot-password", map[string]string{"email": "ada@example.com"}),
		"resend":                               e.post("/resend-verification", map[string]string{"email": "ada@example.com"}),
		"401":                                  e.get("/me", ""),
		"400":                                  e.post("/login", `{`),
		"404":                                  e.get("/nope", ""),
		"405":                                  e.get("/login", ""),
		"401 from RequireUser on a host route": e.get("/api/hello", ""),
	}
	for name, r := range all {
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"), name)
		assert.Less(t, r.status, 500, name)
	}
	for _, name := range []string{"register", "login", "me", "sessions", "refresh", "forgot-password"} {
		assert.Equal(t, "application/json", all[name].header.Get("Content-Type"), name)
	}
}

// TestClientAddr is the table of the trust rule for client addresses.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	cases := []struct {
		name    string
		remote  string
		xff     []string
		realIP  string
		trusted []netip.Prefix
		want    string
	}{
		{"direct client", "203.0.113.7:5000", nil, "", trusted, "203.0.113.7"},
		{"spoofed XFF from an untrusted peer", "203.0.113.7:5000", []string{"198.51.100.1"}, "", trusted, "203.0.113.7"},
		{"spoofed X-Real-IP from an untrusted peer", "203.0.113.7:5000", nil, "198.51.100.1", trusted, "203.0.113.7"},
		{"no trusted proxies: headers ignored", "10.0.0.1:5000", []string{"198.51.100.1"}, "", nil, "10.0.0.1"},
		{"one trusted proxy", "10.0.0.1:5000", []string{"203.0.113.7"}, "", trusted, "203.0.113.7"},
		{"client-written entries left of the real one", "10.0.0.1:5000", []string{"198.51.100.1, 192.0.2.66, 203.0.113.7"}, "", trusted, "203.0.113.7"},
		{"trusted hops skipped", "10.0.0.1:5000", []string{"198.51.100.1, 203.0.113.7, 10.0.0.3, 10.0.0.2"}, "", trusted, "203.0.113.7"},
		{"several header lines in order", "10.0.0.1:5000", []string{"198.51.100.1, 203.0.113.7", "10.0.0.3", "10.0.0.2"}, "", trusted, "203.0.113.7"},
		{"all hops trusted", "10.0.0.1:5000", []string{"10.0.0.9, 10.0.0.2"}, "", trusted, "10.0.0.9"},
		{"garbage stops the walk", "10.0.0.1:5000", []string{"198.51.100.1, unknown, 10.0.0.2"}, "", trusted, "10.0.0.2"},
		{"garbage right away", "10.0.0.1:5000", []string{"198.51.100.1, _hidden"}, "", trusted, "10.0.0.1"},
		{"empty entries skipped", "10.0.0.1:5000", []string{"203.0.113.7, , "}, "", trusted, "203.0.113.7"},
		{"entry with a port", "10.0.0.1:5000", []string{"203.0.113.7:4711"}, "", trusted, "203.0.113.7"},
		{"IPv6 entry", "10.0.0.1:5000", []string{"2001:db8::1"}, "", trusted, "2001:db8::1"},
		{"IPv6 entry with port", "10.0.0.1:5000", []string{"[2001:db8::1]:443"}, "", trusted, "2001:db8::1"},
		{"IPv6 trusted peer", "[2001:db8:ffff::1]:5000", []string{"203.0.113.7"}, "", trusted, "203.0.113.7"},
		{"v4-mapped peer folds to v4 and is trusted", "[::ffff:10.0.0.1]:5000", []string{"203.0.113.7"}, "", trusted, "203.0.113.7"},
		{"v4-mapped entry cannot alias a trusted address", "10.0.0.1:5000", []string{"203.0.113.7, ::ffff:10.0.0.5"}, "", trusted, "203.0.113.7"},
		{"zone dropped", "10.0.0.1:5000", []string{"fe80::1%eth0"}, "", trusted, "fe80::1"},
		{"X-Real-IP from a trusted peer without XFF", "10.0.0.1:5000", nil, "203.0.113.7", trusted, "203.0.113.7"},
		{"XFF wins over X-Real-IP", "10.0.0.1:5000", []string{"203.0.113.7"}, "198.51.100.1", trusted, "203.0.113.7"},
		{"invalid X-Real-IP", "10.0.0.1:5000", nil, "nonsense", trusted, "10.0.0.1"},
		{"bare RemoteAddr", "203.0.113.7", nil, "", trusted, "203.0.113.7"},
		{"RemoteAddr without an IP", "@", []string{"203.0.113.7"}, "", trusted, "@"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.realIP != "" {
				r.Header.Set("X-Real-IP", c.realIP)
			}
			assert.Equal(t, c.want, httpauth.ClientAddr(r, c.trusted))
		})
	}
}

// TestClientAddrOverHTTP checks the address the Handler records for a
// session: a spoofed X-Forwarded-For from an untrusted peer changes
// nothing; behind a trusted proxy the right-most untrusted hop is taken.
func TestClientAddrOverHTTP(t *testing.T) {
	spoof := map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Real-IP": "198.51.100.2"}
	login := func(e *env) string {
		e.register("ada@example.com", "correct horse")
		tk := e.do(req{method: http.MethodPost, path: "/login", header: spoof,
			body: map[string]string{"email": "ada@example.com", "password": "correct horse"}}).tokens(t)
		for _, s := range e.sessions(tk.AccessToken).Sessions {
			if s.Current {
				return s.ClientAddr
			}
		}
		t.Fatal("no current session listed")
		return ""
	}
	assert.Equal(t, "127.0.0.1", login(newEnv(t)), "untrusted peer: headers ignored")
	trusting := newEnv(t, withHTTP(func(c *httpauth.Config) { c.TrustedProxies = loopback }))
	assert.Equal(t, "203.0.113.7", login(trusting), "trusted peer: the right-most untrusted hop")
}

// failingStore is a Store whose UserByEmail fails the way a database
// driver might, with SQL in its error text.
type failingStore struct {
	authkit.Store
}

func (failingStore) UserByEmail(context.Context, string) (authkit.User, error) {
	return authkit.User{}, errors.New(`pq: SELECT secret FROM users WHERE email = $1: connection reset`)
}

// TestStoreFailureIsHidden checks that an unknown error becomes a generic
// 500 whose body holds none of its text, and goes to the Logger.
func TestStoreFailureIsHidden(t *testing.T) {
	e := newEnv(t, func(s *setup) { s.store = failingStore{Store: memstore.New()} })
	res := e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse"})
	m := assertProblem(t, res, http.StatusInternalServerError, "internal")
	assert.Equal(t, "An internal error occurred.", m["detail"])
	assert.NotContains(t, string(res.body), "SELECT")
	assert.NotContains(t, string(res.body), "secret")
	assert.NotContains(t, string(res.body), "pq:")
	assert.Contains(t, e.log.String(), "SELECT secret FROM users", "the error reaches the Logger")
	assert.NotContains(t, e.log.String(), "correct horse", "no password in the log")

	// Forgot-password looks the user up off the request path: its answer
	// does not change.
	res = e.post("/forgot-password", map[string]string{"email": "ada@example.com"})
	assert.Equal(t, http.StatusOK, res.status)
}

// blockingHasher holds every Verify at its gate, to fill the hashing
// slots; for at most testkit.Timeout, so that nothing is left hanging
// should the test fail before it opens the gate.
type blockingHasher struct {
	authkit.BcryptHasher
	gate *testkit.Gate
}

func (b *blockingHasher) Verify(hash, password string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	_ = b.gate.Wait(ctx)
	return b.BcryptHasher.Verify(hash, password)
}

// TestBusyIs503 checks that ErrBusy (all password-hashing slots taken
// until the request gives up) is a 503 with Retry-After.
func TestBusyIs503(t *testing.T) {
	hasher := &blockingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}, gate: testkit.NewGate()}
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.PasswordHasher = hasher; c.MaxConcurrentHashes = 1 }))
	defer hasher.gate.Open()

	done := make(chan response, 1)
	go func() {
		done <- e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse"})
	}()
	hasher.gate.Entered(t) // the first login holds the one slot

	// The slot is held until the gate opens, after this request: it is
	// answered because its context ended, or it hangs.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login", strings.NewReader(`{"email": "bob@example.com", "password": "correct horse"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	testkit.Finish(t, "a login while the only hashing slot is held", func() { e.h.ServeHTTP(w, r) })
	res := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	assertProblem(t, res, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, "1", res.header.Get("Retry-After"))

	hasher.gate.Open()
	assertProblem(t, testkit.Receive(t, done, "the first login"), http.StatusUnauthorized, "invalid_credentials")
}

// TestEndpointsAsMethods checks that a host routing on its own can use the
// exported endpoint methods: bearer endpoints authenticate by themselves
// when no middleware ran, and path values come from the host's patterns.
func TestEndpointsAsMethods(t *testing.T) {
	e := newEnv(t)
	tk, token := e.register("ada@example.com", "correct horse")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", e.h.Me)
	mux.HandleFunc("GET /confirm/{token}", e.h.VerifyEmail)
	mux.HandleFunc("DELETE /devices/{id}", e.h.EndSession)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(method, path, bearer string) *http.Response {
		r, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		require.NoError(t, err)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := srv.Client().Do(r)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	assert.Equal(t, http.StatusOK, get(http.MethodGet, "/whoami", tk.AccessToken).StatusCode)
	res := get(http.MethodGet, "/whoami", "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"))
	assert.Equal(t, http.StatusOK, get(http.MethodGet, "/confirm/"+token, "").StatusCode)
	sid, _, _ := strings.Cut(tk.RefreshToken, ".")
	assert.Equal(t, http.StatusNoContent, get(http.MethodDelete, "/devices/"+sid, tk.AccessToken).StatusCode)
}

// TestNewConfig checks that New refuses a bad Config.
func TestNewConfig(t *testing.T) {
	e := newEnv(t)
	for name, cfg := range map[string]httpauth.Config{
		"no Authenticator":      {},
		"negative MaxBodyBytes": {Authenticator: e.auth, MaxBodyBytes: -1},
		"invalid prefix":        {Authenticator: e.auth, TrustedProxies: []netip.Prefix{{}}},
	} {
		h, err := httpauth.New(cfg)
		assert.Nil(t, h, name)
		assert.ErrorIs(t, err, authkit.ErrConfig, name)
		assert.True(t, strings.HasPrefix(err.Error(), "httpauth: "), "%s: %v", name, err)
	}
	h, err := httpauth.New(httpauth.Config{Authenticator: e.auth})
	require.NoError(t, err)
	require.NotNil(t, h)
}
