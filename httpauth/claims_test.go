package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// TestClaimReadsTheHostsClaims checks that Claim reads a custom claim of
// the request's token behind RequireUser and LoadUser, and reports false
// for an anonymous request, a claim the token lacks, a reserved name and
// a value of another type.
func TestClaimReadsTheHostsClaims(t *testing.T) {
	var e *env
	e = newEnv(t, withAuth(func(c *authkit.Config) {
		c.CustomClaims = func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
			return map[string]any{"roles": []string{"admin"}, "tenant": "acme"}, nil
		}
	}), func(s *setup) {
		s.wrap = func(next http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/", next)
			claims := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				roles, rolesOK := httpauth.Claim[[]string](r.Context(), "roles")
				_, tenantAsNumber := httpauth.Claim[int](r.Context(), "tenant")
				_, missing := httpauth.Claim[string](r.Context(), "plan")
				_, reserved := httpauth.Claim[string](r.Context(), "email")
				_ = json.NewEncoder(w).Encode(map[string]any{
					"roles": roles, "roles_ok": rolesOK, "tenant_as_number": tenantAsNumber,
					"missing": missing, "reserved": reserved,
				})
			})
			// e is set once newEnv returns, before any request.
			mux.HandleFunc("GET /api/claims", func(w http.ResponseWriter, r *http.Request) { e.h.LoadUser(claims).ServeHTTP(w, r) })
			return mux
		}
	})
	tok, _ := e.register("ada@example.com", "correct horse battery staple")

	got := e.do(req{method: http.MethodGet, path: "/api/claims", bearer: tok.AccessToken}).json(t)
	assert.Equal(t, map[string]any{
		"roles": []any{"admin"}, "roles_ok": true, "tenant_as_number": false, "missing": false, "reserved": false,
	}, got)

	anonymous := e.do(req{method: http.MethodGet, path: "/api/claims"}).json(t)
	assert.Equal(t, false, anonymous["roles_ok"], "no claims without a token")
	assert.Nil(t, anonymous["roles"])
}

// TestCustomClaimsFailureIsAnInternalError checks that claims the kit
// refuses answer 500 internal, say nothing of the host's claims, and begin
// no session.
func TestCustomClaimsFailureIsAnInternalError(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) {
		c.CustomClaims = func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
			return map[string]any{"sub": "someone-else"}, nil
		}
	}))
	res := e.post("/register", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	body := assertProblem(t, res, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(res.body), "someone-else")
	assert.NotContains(t, body, "access_token")
	u, err := e.store.UserByEmail(t.Context(), "ada@example.com")
	require.NoError(t, err, "the account was made; only the sign-in failed")
	sessions, err := e.auth.Sessions(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Empty(t, sessions)
}

// ExampleClaim puts the user's roles in their access tokens and reads
// them in a handler of the host.
func ExampleClaim() {
	roles := map[string][]string{"ada@example.com": {"admin"}}
	auth, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com",
		BcryptCost: 4, // tests only: keep the default (12) in production
		Now:        func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
		// Asked at every sign-in and refresh, so a changed role reaches
		// the next token.
		CustomClaims: func(_ context.Context, u authkit.User, _ authkit.Session) (map[string]any, error) {
			return map[string]any{"roles": roles[u.Email]}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close(context.Background())
	api, err := httpauth.New(httpauth.Config{Authenticator: auth})
	if err != nil {
		fmt.Println(err)
		return
	}

	admin := func(w http.ResponseWriter, r *http.Request) {
		roles, _ := httpauth.Claim[[]string](r.Context(), "roles")
		fmt.Fprintf(w, "roles: %v", roles)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	mux.Handle("GET /api/admin", api.RequireUser(http.HandlerFunc(admin)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, body := post(srv.Client(), srv.URL+"/api/auth/register",
		`{"email": "ada@example.com", "password": "correct horse battery staple"}`)
	token, _ := body["access_token"].(string)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/admin", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := srv.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	text, _ := io.ReadAll(res.Body)
	fmt.Println(string(text))
	// Output: roles: [admin]
}
