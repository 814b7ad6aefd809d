package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEveryAPIResponseForbidsSniffing checks X-Content-Type-Options on the
// answers of every kind: success, problem, route misses, the JWK Set and
// the middleware's refusal.
func TestEveryAPIResponseForbidsSniffing(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("sniff@example.com", "correct horse")
	for _, rq := range []req{
		{method: http.MethodGet, path: "/me", bearer: tk.AccessToken},
		{method: http.MethodGet, path: "/me"},
		{method: http.MethodPost, path: "/login", body: map[string]string{"email": "sniff@example.com", "password": "correct horse"}},
		{method: http.MethodPost, path: "/login", body: "{not json"},
		{method: http.MethodGet, path: "/nowhere"},
		{method: http.MethodDelete, path: "/login"},
		{method: http.MethodGet, path: "/jwks.json"},
		{method: http.MethodPost, path: "/logout", body: map[string]string{"refresh_token": tk.RefreshToken}},
		{method: http.MethodGet, path: "/api/hello"},
	} {
		res := e.do(rq)
		assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), "%s %s: %d", rq.method, rq.path, res.status)
	}
}
