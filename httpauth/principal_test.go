package httpauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// tenant is one Authenticator with its own secret and Store, and its
// Handler.
type tenant struct {
	auth  *authkit.Authenticator
	h     *httpauth.Handler
	token string // an access token of a user of this tenant
}

func newTenant(t *testing.T, secret string) tenant {
	t.Helper()
	a, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     testkit.NewMailbox(),
		Secret:     []byte(secret),
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	h, err := httpauth.New(httpauth.Config{Authenticator: a})
	require.NoError(t, err)
	reg, err := a.Register(t.Context(), authkit.Registration{Email: "same@example.com", Password: "correct horse"}, authkit.Client{})
	require.NoError(t, err)
	return tenant{auth: a, h: h, token: reg.Tokens.AccessToken}
}

// TestAPrincipalBelongsToTheAuthenticatorThatVerifiedIt nests the
// middleware of two Authenticators with different secrets: whatever one
// let through must not pass the other unverified.
func TestAPrincipalBelongsToTheAuthenticatorThatVerifiedIt(t *testing.T) {
	a := newTenant(t, "tenant A's secret, at least 32 bytes long")
	b := newTenant(t, "tenant B's secret, at least 32 bytes long")
	reached := func(who *string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, ok := httpauth.UserFrom(r.Context())
			if !ok {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			*who = u.ID
			w.WriteHeader(http.StatusNoContent)
		})
	}
	serve := func(h http.Handler, path, token string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}

	for _, c := range []struct {
		name  string
		chain func(next http.Handler) http.Handler
	}{
		{"A.RequireUser(B.RequireUser)", func(next http.Handler) http.Handler { return a.h.RequireUser(b.h.RequireUser(next)) }},
		{"A.LoadUser(B.RequireUser)", func(next http.Handler) http.Handler { return a.h.LoadUser(b.h.RequireUser(next)) }},
		{"A.RequireUser(B.LoadUser)", func(next http.Handler) http.Handler { return a.h.RequireUser(b.h.LoadUser(next)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var who string
			assert.Equal(t, http.StatusUnauthorized, serve(c.chain(reached(&who)), "/", a.token), "A's token must not pass B's middleware")
			assert.Empty(t, who, "the inner handler was not reached")
		})
	}

	t.Run("B's endpoints under A's middleware", func(t *testing.T) {
		chain := a.h.LoadUser(http.StripPrefix("/api/auth", b.h))
		assert.Equal(t, http.StatusUnauthorized, serve(chain, "/api/auth/me", a.token), "B's /me with A's principal in the context")
		assert.Equal(t, http.StatusUnauthorized, serve(chain, "/api/auth/sessions", a.token), "B's /sessions likewise")
	})

	t.Run("two Handlers of one Authenticator", func(t *testing.T) {
		again, err := httpauth.New(httpauth.Config{Authenticator: a.auth})
		require.NoError(t, err)
		var who string
		assert.Equal(t, http.StatusNoContent, serve(a.h.RequireUser(again.RequireUser(reached(&who))), "/", a.token))
		assert.NotEmpty(t, who, "one Authenticator vouches for both")
	})
}
