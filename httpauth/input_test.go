package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/httpauth"
)

// TestMalformedInput sends broken bodies to every endpoint that reads one.
// Each gets a 4xx problem with the expected code, never a 500.
func TestMalformedInput(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")

	endpoints := []string{"/register", "/login", "/refresh", "/logout", "/forgot-password",
		"/reset-password", "/verify-email", "/resend-verification", "/change-password"}
	huge := `{"email": "` + strings.Repeat("a", 64<<10) + `@example.com"}`
	cases := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        string
	}{
		{"invalid JSON", `{"email": "ada@example.com",`, "application/json", 400, "invalid_input"},
		{"not JSON at all", `email=ada@example.com`, "application/json", 400, "invalid_input"},
		{"wrong types", `{"email": 123, "password": true, "token": [], "refresh_token": {}, "current_password": 1.5, "new_password": null}`, "application/json", 400, "invalid_input"},
		{"array", `[{"email": "ada@example.com"}]`, "application/json", 400, "invalid_input"},
		{"string", `"ada@example.com"`, "application/json", 400, "invalid_input"},
		{"null", `null`, "application/json", 400, "invalid_input"},
		{"trailing data", `{"email": "ada@example.com"} {"email": "bob@example.com"}`, "application/json", 400, "invalid_input"},
		{"trailing garbage", `{"email": "ada@example.com"}x`, "application/json", 400, "invalid_input"},
		{"member twice", `{"email": "ada@example.com", "email": "ada@example.com", "token": "x", "refresh_token": "x"}`, "application/json", 400, "invalid_input"},
		{"huge body", huge, "application/json", 413, "body_too_large"},
		{"text/plain", `{"email": "ada@example.com"}`, "text/plain", 415, "unsupported_media_type"},
		{"form", `email=ada%40example.com`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"no content type", `{"email": "ada@example.com"}`, "", 415, "unsupported_media_type"},
		{"latin-1 charset", `{"email": "ada@example.com"}`, "application/json; charset=iso-8859-1", 415, "unsupported_media_type"},
		{"bad media type", `{}`, "application/json; charset", 415, "unsupported_media_type"},
		{"empty body", ``, "application/json", 400, "invalid_input"},
		{"empty object", `{}`, "application/json", 400, "invalid_input"},
	}
	for _, path := range endpoints {
		for _, c := range cases {
			t.Run(strings.TrimPrefix(path, "/")+"/"+c.name, func(t *testing.T) {
				hdr := map[string]string{"Content-Type": c.contentType}
				res := e.do(req{method: http.MethodPost, path: path, body: c.body, bearer: tk.AccessToken, header: hdr})
				assert.Less(t, res.status, 500, "never a 5xx")
				m := assertProblem(t, res, c.status, c.code)
				if c.status == 400 && c.name != "empty body" && c.name != "empty object" && c.name != "wrong types" {
					assert.NotContains(t, m["detail"], "invalid character", "no parser text")
				}
			})
		}
	}
}

// TestEmptyBodyAsInDRF checks that an empty body is read as an empty
// object, whatever its Content-Type, so the response names the missing
// fields, as the seed's framework does.
func TestEmptyBodyAsInDRF(t *testing.T) {
	e := newEnv(t)
	for _, ct := range []string{"", "application/json", "text/plain"} {
		res := e.do(req{method: http.MethodPost, path: "/login", header: map[string]string{"Content-Type": ct}})
		m := assertProblem(t, res, http.StatusBadRequest, "invalid_input")
		assert.Equal(t, map[string]any{"email": []any{"This field is required."}, "password": []any{"This field is required."}}, m["fields"], "Content-Type %q", ct)
	}
	m := assertProblem(t, e.post("/refresh", `{}`), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"refresh_token": []any{"This field is required."}}, m["fields"])
	m = assertProblem(t, e.post("/register", `{"email": 5}`), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"email": []any{"Not a valid string."}}, m["fields"])
	m = assertProblem(t, e.post("/register", `{"email": "not an email", "password": "correct horse"}`), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"email": []any{"Enter a valid email address."}}, m["fields"])
	m = assertProblem(t, e.post("/register", `{"email": "Email": "x"}`), http.StatusBadRequest, "invalid_input")
	assert.Nil(t, m["fields"], "malformed JSON is reported as such, before any check of member names")
}

// TestAcceptedJSONVariants checks what a client may send: a UTF-8 charset,
// unknown members, white space around the object.
func TestAcceptedJSONVariants(t *testing.T) {
	e := newEnv(t)
	e.register("ada@example.com", "correct horse")
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		res := e.do(req{method: http.MethodPost, path: "/login", header: map[string]string{"Content-Type": ct},
			body: "\n {\"email\": \"ada@example.com\", \"password\": \"correct horse\", \"remember_me\": true}\n"})
		assert.Equal(t, http.StatusOK, res.status, "Content-Type %q: %s", ct, res.body)
	}
}

// TestBodyLimitConfigurable checks Config.MaxBodyBytes.
func TestBodyLimitConfigurable(t *testing.T) {
	e := newEnv(t, withHTTP(func(c *httpauth.Config) { c.MaxBodyBytes = 100 }))
	body := `{"email": "ada@example.com", "password": "` + strings.Repeat("x", 100) + `"}`
	assertProblem(t, e.post("/login", body), http.StatusRequestEntityTooLarge, "body_too_large")
	res := e.post("/login", `{"email": "ada@example.com", "password": "correct horse"}`)
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
}

// TestRouting checks answers outside the routes: 404 and 405 problems.
func TestRouting(t *testing.T) {
	e := newEnv(t)
	m := assertProblem(t, e.get("/nope", ""), http.StatusNotFound, "not_found")
	assert.Equal(t, "Not found.", m["detail"])
	res := e.get("/login", "")
	assertProblem(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Equal(t, "POST", res.header.Get("Allow"))
	res = e.do(req{method: http.MethodPut, path: "/sessions/x"})
	assertProblem(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
	require.NotEmpty(t, res.header.Get("Allow"))
}

// TestUncleanPaths checks that paths with "//", "." or ".." elements are a
// 404 rather than a redirect that would leave the mount point.
func TestUncleanPaths(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"//me", "/x/../me", "/./me", "/sessions//x"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusNotFound, w.Code, p)
		assert.Empty(t, w.Header().Get("Location"), p)
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), p)
	}
}
