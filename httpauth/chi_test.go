package httpauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMountUnderChi checks the README's chi recipe: chi's Mount passes the
// full path on, so the Handler is mounted through http.StripPrefix, and
// RequireUser wraps chi routes as it wraps any http.Handler.
func TestMountUnderChi(t *testing.T) {
	e := newEnv(t)
	api := e.h

	r := chi.NewRouter()
	r.Mount("/api/auth", http.StripPrefix("/api/auth", api))
	r.With(api.RequireUser).Get("/api/orders", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("orders"))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	res, err := srv.Client().Post(srv.URL+"/api/auth/register", "application/json",
		strings.NewReader(`{"email": "ada@example.com", "password": "correct horse battery staple"}`))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode, "register under chi")
	var tk tokens
	require.NoError(t, json.NewDecoder(res.Body).Decode(&tk))

	rq, err := http.NewRequest(http.MethodGet, srv.URL+"/api/orders", nil)
	require.NoError(t, err)
	rq.Header.Set("Authorization", "Bearer "+tk.AccessToken)
	orders, err := srv.Client().Do(rq)
	require.NoError(t, err)
	orders.Body.Close()
	assert.Equal(t, http.StatusOK, orders.StatusCode, "protected chi route with the token")

	anon, err := srv.Client().Get(srv.URL + "/api/orders")
	require.NoError(t, err)
	anon.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, anon.StatusCode, "protected chi route without one")

	// Without StripPrefix the Handler would see /api/auth/register and
	// answer 404: the reason the recipe needs it.
	bare := chi.NewRouter()
	bare.Mount("/api/auth", api)
	rec := httptest.NewRecorder()
	bare.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/auth/login", strings.NewReader(`{}`)))
	assert.Equal(t, http.StatusNotFound, rec.Code, "chi's Mount keeps the prefix")
}
