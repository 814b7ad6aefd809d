package authkittest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authkittest"
	"github.com/authkit/authkit/httpauth"
)

func TestTokenForVerified(t *testing.T) {
	kit := authkittest.New(t)
	token := kit.TokenFor(t, "Alice@Example.com")

	u, claims, err := kit.Auth.Authenticate(t.Context(), token)
	require.NoError(t, err, "Authenticate(TokenFor's token)")
	assert.Equal(t, "alice@example.com", u.Email)
	assert.True(t, u.EmailVerified, "the user's email is verified")
	assert.NotEmpty(t, claims.SessionID, "the token carries a session")

	again := kit.TokenFor(t, "alice@example.com")
	u2, _, err := kit.Auth.Authenticate(t.Context(), again)
	require.NoError(t, err, "Authenticate(second token)")
	assert.Equal(t, u.ID, u2.ID, "a second TokenFor signs in the same user")
	_, _, err = kit.Auth.Authenticate(t.Context(), token)
	assert.NoError(t, err, "the first token still works")
}

func TestTokenForUnverified(t *testing.T) {
	kit := authkittest.New(t)
	token := kit.TokenFor(t, "bob@example.com", authkittest.Unverified())

	u, _, err := kit.Auth.Authenticate(t.Context(), token)
	require.NoError(t, err, "Authenticate(TokenFor's token)")
	assert.False(t, u.EmailVerified, "Unverified leaves the email unverified")

	kit.TokenFor(t, "bob@example.com")
	u, err = kit.Store.UserByEmail(t.Context(), "bob@example.com")
	require.NoError(t, err)
	assert.True(t, u.EmailVerified, "TokenFor without Unverified verifies the email")

	kit.TokenFor(t, "bob@example.com", authkittest.Unverified())
	u, err = kit.Store.UserByEmail(t.Context(), "bob@example.com")
	require.NoError(t, err)
	assert.False(t, u.EmailVerified, "Unverified unverifies a verified email")
}

// With RequireVerifiedEmail an unverified user gets no session, so the
// token TokenFor returns must come from a user it verified.
func TestTokenForRequireVerifiedEmail(t *testing.T) {
	kit := authkittest.New(t, authkittest.WithConfig(func(c *authkit.Config) {
		c.RequireVerifiedEmail = true
	}))
	api, err := httpauth.New(httpauth.Config{Authenticator: kit.Auth})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodGet, "/profile", nil)
	req.Header.Set("Authorization", "Bearer "+kit.TokenFor(t, "carol@example.com"))
	rec := httptest.NewRecorder()
	api.RequireUser(http.HandlerFunc(profile)).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, "GET /profile with TokenFor's token")

	msg := fails(t, func(ft testing.TB) { kit.TokenFor(ft, "dave@example.com", authkittest.Unverified()) })
	assert.Contains(t, msg, "login", "TokenFor(Unverified) under RequireVerifiedEmail fails the test")
}

// A user registered with its own password keeps it: TokenFor only lends
// the account a password for its login.
func TestTokenForExistingUser(t *testing.T) {
	kit := authkittest.New(t)
	ctx := t.Context()
	_, err := kit.Auth.Register(ctx, authkit.Registration{Email: "erin@example.com", Password: "mossy-anvil-63-harbor"}, authkit.Client{})
	require.NoError(t, err, "Register")

	token := kit.TokenFor(t, "erin@example.com")
	u, _, err := kit.Auth.Authenticate(ctx, token)
	require.NoError(t, err, "Authenticate(TokenFor's token)")
	assert.Equal(t, "erin@example.com", u.Email)

	_, err = kit.Auth.Login(ctx, "erin@example.com", "mossy-anvil-63-harbor", authkit.Client{})
	assert.NoError(t, err, "Login with the user's own password after TokenFor")
}

func TestTokenForConcurrent(t *testing.T) {
	kit := authkittest.New(t)
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Go(func() { tokens[i] = kit.TokenFor(t, "gina@example.com") })
	}
	wg.Wait()
	for i, token := range tokens {
		_, _, err := kit.Auth.Authenticate(t.Context(), token)
		assert.NoError(t, err, "Authenticate(token %d)", i)
	}
}

// fails runs f with a testing.TB whose Fatal ends f, and returns what f
// failed with; it fails t if f did not fail.
func fails(t *testing.T, f func(testing.TB)) string {
	t.Helper()
	ft := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ft)
	}()
	<-done
	if ft.msg == "" {
		t.Fatal("expected a fatal failure, got none")
	}
	return ft.msg
}

// fatalT records a Fatalf and ends the goroutine, instead of failing the
// test; every other method is the real test's.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
