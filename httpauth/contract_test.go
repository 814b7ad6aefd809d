package httpauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// spyTB records the errors reported to it instead of failing.
type spyTB struct {
	testing.TB
	errs []string
}

func (s *spyTB) Helper() {}

func (s *spyTB) Errorf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

// TestContractCatchesBreaches checks that apiContract, which every newEnv
// test runs behind, reports answers and requests that break the document
// and passes those that keep it.
func TestContractCatchesBreaches(t *testing.T) {
	fixed := func(status int, contentType, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		})
	}
	const (
		login   = `{"email": "ada@example.com", "password": "correct horse"}`
		tokens  = `{"access_token": "a", "token_type": "bearer", "expires_in": 900, "refresh_token": "r", "user_id": "u", "email": "ada@example.com", "display_name": "Ada"}`
		problem = `{"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "Invalid input.", "code": "invalid_input"}`
	)
	cases := []struct {
		name    string
		method  string
		path    string
		body    string
		bearer  bool
		handler http.Handler
		breach  string // "" when the exchange keeps the document
	}{
		{"kept", "POST", "/api/auth/login", login, false, fixed(200, "application/json", tokens), ""},
		{"undocumented member", "POST", "/api/auth/login", login, false, fixed(200, "application/json", strings.Replace(tokens, `"a"`, `"a", "admin": true`, 1)), "not as documented"},
		{"missing member", "POST", "/api/auth/login", login, false, fixed(200, "application/json", `{"access_token": "a"}`), "not as documented"},
		{"undocumented status", "POST", "/api/auth/login", login, false, fixed(202, "application/json", tokens), "not as documented"},
		{"wrong content type", "POST", "/api/auth/login", login, false, fixed(200, "text/plain", tokens), "not as documented"},
		{"code of another status", "POST", "/api/auth/login", login, false, fixed(400, "application/problem+json", strings.Replace(problem, "invalid_input", "email_taken", 1)), "not as documented"},
		{"problem without code", "POST", "/api/auth/login", login, false, fixed(400, "application/problem+json", strings.Replace(problem, `, "code": "invalid_input"`, "", 1)), "not as documented"},
		{"missing header", "POST", "/api/auth/login", login, false, fixed(429, "application/problem+json", `{"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "x", "code": "rate_limited"}`), "not as documented"},
		{"bad request accepted", "POST", "/api/auth/login", `{"email": "ada@example.com"}`, false, fixed(200, "application/json", tokens), "does not match the document"},
		{"bad request refused", "POST", "/api/auth/login", `{"email": 5}`, false, fixed(400, "application/problem+json", problem), ""},
		{"no credentials accepted", "GET", "/api/auth/me", "", false, fixed(200, "application/json", `{"user_id": "u", "email": "e", "display_name": "", "email_verified": true, "created_at": "2026-01-02T03:04:05Z"}`), "does not match the document"},
		{"good request refused as malformed", "POST", "/api/auth/login", login, false, fixed(400, "application/problem+json", strings.Replace(problem, "Invalid input.", "Request body is not valid JSON.", 1)), "refused as malformed"},
		{"unknown path answered", "GET", "/api/auth/nowhere", "", false, fixed(200, "text/plain", "hello"), "no operation of the document"},
		{"unknown path refused", "GET", "/api/auth/nowhere", "", false, fixed(404, "application/problem+json", `{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not found.", "code": "not_found"}`), ""},
		{"host route", "GET", "/api/hello", "", false, fixed(200, "text/plain", "hello"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spy := &spyTB{TB: t}
			srv := httptest.NewServer(apiContract(spy, "/api/auth")(c.handler))
			defer srv.Close()
			r, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			res, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if c.breach == "" {
				assert.Empty(t, spy.errs, "a kept exchange is not reported")
				return
			}
			if assert.Len(t, spy.errs, 1, "a breach is reported") {
				assert.Contains(t, spy.errs[0], c.breach)
			}
		})
	}
}
