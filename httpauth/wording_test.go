package httpauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFieldCodesAreWordedAsTheOriginalDesign sends input that breaks each
// rule the core reports as a field code, and checks the wording the API
// answers with: the original design's messages, unchanged.
func TestFieldCodesAreWordedAsTheOriginalDesign(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("words@example.com", "correct horse")
	cases := []struct {
		name   string
		req    req
		field  string
		wanted string
	}{
		{"required", req{method: http.MethodPost, path: "/register", body: map[string]string{"password": "correct horse"}},
			"email", "This field is required."},
		{"invalid_email", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "nobody", "password": "correct horse"}},
			"email", "Enter a valid email address."},
		{"too_short password", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a@example.com", "password": "short"}},
			"password", "Password must be at least 8 characters"},
		{"too_long password", req{method: http.MethodPost, path: "/login", body: map[string]string{"email": "a@example.com", "password": strings.Repeat("p", 73)}},
			"password", "Password too long (max 72 bytes)"},
		{"too_long display name", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a@example.com", "password": "correct horse", "display_name": strings.Repeat("n", 256)}},
			"display_name", "Ensure this field has no more than 255 characters."},
		{"control_characters", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a@example.com", "password": "correct horse", "display_name": "Eve\u202Etxt.exe"}},
			"display_name", "Display name must not contain control characters."},
		{"contains_link", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a@example.com", "password": "correct horse", "display_name": "Claim your prize at evil.com"}},
			"display_name", "Display name must not contain links or web addresses."},
		{"control_characters (format character)", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a@example.com", "password": "correct horse", "display_name": "Eve\u200Btxt"}},
			"display_name", "Display name must not contain control characters."},
		{"invalid_email (separator)", req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "a\u00A0b@example.com", "password": "correct horse"}},
			"email", "Enter a valid email address."},
		{"wrong_password", req{method: http.MethodPost, path: "/change-password", bearer: tk.AccessToken, body: map[string]string{"current_password": "not it at all", "new_password": "another horse"}},
			"current_password", "Current password is incorrect."},
		{"too_short new password", req{method: http.MethodPost, path: "/change-password", bearer: tk.AccessToken, body: map[string]string{"current_password": "correct horse", "new_password": "short"}},
			"new_password", "Password must be at least 8 characters"},
		{"required refresh token", req{method: http.MethodPost, path: "/refresh", body: map[string]string{}},
			"refresh_token", "This field is required."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(c.req)
			body := assertProblem(t, res, http.StatusBadRequest, "invalid_input")
			fields, _ := body["fields"].(map[string]any)
			assert.Equal(t, []any{c.wanted}, fields[c.field], "fields of %s", res.body)
		})
	}
}
