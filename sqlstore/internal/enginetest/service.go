package enginetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/sqlstore"
)

// secret is the HS256 secret the instances of a test service share.
var secret = []byte("an HS256 secret for sqlstore tests, ≥ 32 bytes")

// migrated creates a fresh database with the schema in place and returns
// the function that opens pools to it.
func (h Harness) migrated(t testing.TB) func() *sql.DB {
	t.Helper()
	open := h.NewDatabase(t)
	s, err := sqlstore.New(open(), h.Dialect)
	require.NoError(t, err, "sqlstore.New")
	require.NoError(t, s.Migrate(t.Context()), "Migrate")
	return open
}

// instance is one Authenticator on the engine, served over HTTP.
type instance struct {
	auth  *authkit.Authenticator
	srv   *httptest.Server
	mail  *testkit.Mailbox
	store *countingStore
}

// countingStore counts the Store calls made through it.
type countingStore struct {
	*sqlstore.Store
	calls atomic.Int64
}

func (c *countingStore) UserByID(ctx context.Context, id string) (authkit.User, error) {
	c.calls.Add(1)
	return c.Store.UserByID(ctx, id)
}

func (c *countingStore) Session(ctx context.Context, id string) (authkit.Session, error) {
	c.calls.Add(1)
	return c.Store.Session(ctx, id)
}

// newInstance starts an Authenticator on db, whose Store is also its
// Limiter, with the httpauth handler mounted on a test server. adjust, if
// not nil, changes the Config.
func newInstance(t testing.TB, h Harness, db *sql.DB, adjust func(*authkit.Config)) *instance {
	t.Helper()
	s, err := sqlstore.New(db, h.Dialect)
	require.NoError(t, err, "sqlstore.New")
	t.Cleanup(func() { _ = s.Close() })
	in := &instance{mail: testkit.NewMailbox(), store: &countingStore{Store: s}}
	cfg := authkit.Config{
		Store:      in.store,
		Limiter:    s,
		Mailer:     in.mail,
		Secret:     secret,
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	in.auth, err = authkit.New(cfg)
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = in.auth.Close(context.Background()) })
	api, err := httpauth.New(httpauth.Config{Authenticator: in.auth})
	require.NoError(t, err, "httpauth.New")
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	mux.Handle("GET /api/hello", api.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	in.srv = httptest.NewServer(mux)
	t.Cleanup(in.srv.Close)
	return in
}

// post sends a JSON body and returns the status and the decoded answer.
func (in *instance) post(t testing.TB, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, in.srv.URL+"/api/auth"+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	return in.do(t, req)
}

// do sends req and returns the status and the decoded answer.
func (in *instance) do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	res, err := in.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
		out["raw"] = string(raw)
	}
	return res.StatusCode, out
}

// login posts credentials and returns the status.
func (in *instance) login(t testing.TB, email, password string) int {
	t.Helper()
	status, _ := in.post(t, "/login", map[string]string{"email": email, "password": password})
	return status
}

// testOneService shows two Authenticators on one database, each with its
// own pool, behaving as one service: accounts, one-time tokens and rate
// limits are shared.
func testOneService(t *testing.T, h Harness) {
	open := h.migrated(t)
	limits := func(c *authkit.Config) {
		c.Limits.LoginFailures = authkit.Limit{Burst: 3, Every: time.Hour}
	}
	a, b := newInstance(t, h, open(), limits), newInstance(t, h, open(), limits)

	const email, oldPW, newPW = "shared@example.com", "the first password", "the second password"
	status, body := a.post(t, "/register", map[string]string{"email": email, "password": oldPW})
	require.Equal(t, http.StatusCreated, status, "register on A: %v", body)
	a.mail.Next(t) // verification
	assert.Equal(t, http.StatusOK, b.login(t, strings.ToUpper(email), oldPW), "a user registered through A logs in through B")
	status, _ = b.post(t, "/register", map[string]string{"email": " Shared@Example.com ", "password": oldPW})
	assert.Equal(t, http.StatusBadRequest, status, "B sees the email as taken")

	// A reset token mailed by A is spent through B.
	status, _ = a.post(t, "/forgot-password", map[string]string{"email": email})
	require.Equal(t, http.StatusOK, status)
	token := testkit.TokenOf(t, a.mail.Next(t))
	status, body = b.post(t, "/reset-password", map[string]string{"token": token, "password": newPW})
	require.Equal(t, http.StatusOK, status, "reset through B: %v", body)
	assert.Equal(t, "Password reset successfully.", body["message"])
	status, _ = a.post(t, "/reset-password", map[string]string{"token": token, "password": "a third password"})
	assert.Equal(t, http.StatusBadRequest, status, "the token is spent for A too")
	for name, in := range map[string]*instance{"A": a, "B": b} {
		assert.Equal(t, http.StatusUnauthorized, in.login(t, email, oldPW), "the old password on %s", name)
		assert.Equal(t, http.StatusOK, in.login(t, email, newPW), "the new password on %s", name)
	}

	// One failure budget of 3 for both instances, not 3 each.
	const victim = "victim@example.com"
	assert.Equal(t, http.StatusUnauthorized, a.login(t, victim, "guess one"))
	assert.Equal(t, http.StatusUnauthorized, b.login(t, victim, "guess two"))
	assert.Equal(t, http.StatusUnauthorized, a.login(t, victim, "guess three"))
	assert.Equal(t, http.StatusTooManyRequests, b.login(t, victim, "guess four"), "B counts A's failures")
	assert.Equal(t, http.StatusTooManyRequests, a.login(t, victim, "guess five"))
}

// testBrokenConnection shows that a database error reaches the client as
// a generic 500, with nothing of the driver's message or the SQL.
func testBrokenConnection(t *testing.T, h Harness) {
	db := h.migrated(t)()
	in := newInstance(t, h, db, nil)
	status, _ := in.post(t, "/register", map[string]string{"email": "broken@example.com", "password": "a good password"})
	require.Equal(t, http.StatusCreated, status)
	in.mail.Next(t)

	require.NoError(t, db.Close(), "break the connection")
	for _, path := range []string{"/login", "/register", "/forgot-password"} {
		status, body := in.post(t, path, map[string]string{"email": "broken@example.com", "password": "a good password"})
		assert.Equal(t, http.StatusInternalServerError, status, path)
		assert.Equal(t, "internal", body["code"], path)
		raw := strings.ToLower(body["raw"].(string))
		for _, leak := range []string{"sql", "database", "closed", "select", "insert", "authkit_", "driver"} {
			assert.NotContains(t, raw, leak, "%s answers with no database detail", path)
		}
	}
}

// testQueriesPerRequest shows that an authenticated request costs one
// Store read: the user, loaded by id.
func testQueriesPerRequest(t *testing.T, h Harness) {
	db := h.migrated(t)()
	in := newInstance(t, h, db, nil)
	status, body := in.post(t, "/register", map[string]string{"email": "counted@example.com", "password": "a good password"})
	require.Equal(t, http.StatusCreated, status)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, in.srv.URL+"/api/hello", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	before := in.store.calls.Load()
	status, _ = in.do(t, req)
	require.Equal(t, http.StatusNoContent, status)
	assert.EqualValues(t, 1, in.store.calls.Load()-before, "one Store read per authenticated request")
}

// benchRequireUser benchmarks an authenticated request through
// httpauth.RequireUser with the user loaded from the engine.
func benchRequireUser(b *testing.B, h Harness) {
	in := newInstance(b, h, h.migrated(b)(), nil)
	tok, err := in.auth.Register(b.Context(), authkit.Registration{Email: "bench@example.com", Password: "a good password"}, authkit.Client{})
	require.NoError(b, err)
	api, err := httpauth.New(httpauth.Config{Authenticator: in.auth})
	require.NoError(b, err)
	h2 := api.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := httpauth.UserFrom(r.Context()); !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodGet, "/api/hello", nil)
	r.Header.Set("Authorization", "Bearer "+tok.Tokens.AccessToken)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h2.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
