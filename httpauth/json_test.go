package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBodiesSayOneThing sends bodies that a checking proxy or a reader
// would take one way and encoding/json another: a member given twice (the
// last wins), and a member whose name differs from a field's only in case
// (matched case-insensitively, Unicode folds included). Every one would
// sign in or register; each must be a 400 that names the field.
func TestBodiesSayOneThing(t *testing.T) {
	e := newEnv(t)
	_, verifyToken := e.register("ada@example.com", "correct horse")
	dup := "This field must be given only once."
	caseOnly := func(field string) string {
		return `Field names are case-sensitive: send this field as "` + field + `".`
	}
	cases := []struct {
		name   string
		path   string
		body   string
		fields map[string]any
	}{
		{"password twice", "/login",
			`{"email": "ada@example.com", "password": "not it at all", "password": "correct horse"}`,
			map[string]any{"password": []any{dup}}},
		{"email twice", "/login",
			`{"email": "eve@example.com", "email": "ada@example.com", "password": "correct horse"}`,
			map[string]any{"email": []any{dup}}},
		{"twice, once escaped", "/login",
			`{"email": "eve@example.com", "em\u0061il": "ada@example.com", "password": "correct horse"}`,
			map[string]any{"email": []any{dup}}},
		{"upper case only", "/login",
			`{"EMAIL": "ada@example.com", "password": "correct horse"}`,
			map[string]any{"email": []any{caseOnly("email")}}},
		{"title case after the field", "/login",
			`{"email": "eve@example.com", "Email": "ada@example.com", "password": "correct horse"}`,
			map[string]any{"email": []any{caseOnly("email")}}},
		{"long s folds to s", "/login",
			`{"email": "ada@example.com", "pa\u017f\u017fword": "correct horse"}`,
			map[string]any{"password": []any{caseOnly("password")}}},
		{"Kelvin sign folds to k", "/verify-email",
			`{"to\u212aen": "` + verifyToken + `"}`,
			map[string]any{"token": []any{caseOnly("token")}}},
		{"display name smuggled in another case", "/register",
			`{"email": "new@example.com", "password": "correct horse", "display_name": "New", "DISPLAY_NAME": "Prize desk"}`,
			map[string]any{"display_name": []any{caseOnly("display_name")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.post(c.path, c.body)
			m := assertProblem(t, res, http.StatusBadRequest, "invalid_input")
			assert.Equal(t, "Invalid input.", m["detail"])
			assert.Equal(t, c.fields, m["fields"], "fields of %s", res.body)
		})
	}
	// Nothing above reached the flows: the verification token is unspent,
	// and no account was made.
	res := e.post("/verify-email", map[string]string{"token": verifyToken})
	require.Equal(t, http.StatusOK, res.status, "POST /verify-email: %s", res.body)
	assert.Equal(t, "Email verified successfully.", res.json(t)["message"], "the token was unspent")
	res = e.post("/login", map[string]string{"email": "new@example.com", "password": "correct horse"})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
}

// TestUnknownMembersTwice checks that a member outside the fields, given
// twice, is refused without being echoed, while unknown members given
// once, objects among them, are still ignored: only the body's own members
// count, not those of a nested object.
func TestUnknownMembersTwice(t *testing.T) {
	e := newEnv(t)
	e.register("ada@example.com", "correct horse")
	res := e.post("/login", `{"email": "ada@example.com", "password": "correct horse", "remember_me": true, "remember_me": false}`)
	m := assertProblem(t, res, http.StatusBadRequest, "invalid_input")
	assert.Equal(t, "Request body must not give a member more than once.", m["detail"])
	assert.Nil(t, m["fields"], "an unknown member is not echoed")
	assert.NotContains(t, string(res.body), "remember_me")

	res = e.post("/login", `{"meta": {"email": "eve@example.com", "password": "x"}, "email": "ada@example.com", "password": "correct horse", "list": [{"email": 1}]}`)
	require.Equal(t, http.StatusOK, res.status, "members of nested values are no members of the body: %s", res.body)
}
