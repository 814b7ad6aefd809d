package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestPasswordPolicyRefusalIsAFieldError: every endpoint that sets a
// password answers a refused one with 400 invalid_input and the policy's
// message on the password field, as for the other field errors.
func TestPasswordPolicyRefusalIsAFieldError(t *testing.T) {
	e := newEnv(t)
	const tooCommon = "This password is too common."

	m := assertProblem(t, e.post("/register", map[string]string{"email": "ada@example.com", "password": "password123"}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooCommon}}, m["fields"])
	m = assertProblem(t, e.post("/register", map[string]string{"email": "ada.lovelace@example.com", "password": "Ada.Lovelace!"}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{"The password is too similar to the email address."}}, m["fields"])

	tk, _ := e.register("ada@example.com", "analytical engine")
	res := e.do(req{method: http.MethodPost, path: "/change-password", bearer: tk.AccessToken,
		body: map[string]string{"current_password": "analytical engine", "new_password": "qwertyuiop"}})
	m = assertProblem(t, res, http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"new_password": []any{tooCommon}}, m["fields"])

	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	m = assertProblem(t, e.post("/reset-password", map[string]string{"token": token, "password": "iloveyou"}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooCommon}}, m["fields"])
	// The link still works.
	require.Equal(t, http.StatusOK, e.post("/reset-password", map[string]string{"token": token, "password": "difference engine"}).status)
	e.login("ada@example.com", "difference engine")
}

// TestPasswordPolicyFailureIsNotTheUsersFault: a policy that cannot decide
// is a 503 when it says "try later" (ErrBusy), else a 500 whose detail
// stays in the log; never a field error.
func TestPasswordPolicyFailureIsNotTheUsersFault(t *testing.T) {
	var busy atomic.Bool
	e := newEnv(t, withAuth(func(c *authkit.Config) {
		c.PasswordPolicy = func(context.Context, string, authkit.PasswordContext) error {
			if busy.Load() {
				return errors.Join(authkit.ErrBusy, errors.New("breach service: timeout"))
			}
			return errors.New("breach service: secret detail")
		}
	}))
	res := e.post("/register", map[string]string{"email": "ada@example.com", "password": "analytical engine"})
	assertProblem(t, res, http.StatusInternalServerError, "internal")
	assert.NotContains(t, string(res.body), "secret detail")
	assert.Contains(t, e.log.String(), "secret detail", "the cause is logged")

	busy.Store(true)
	res = e.post("/register", map[string]string{"email": "ada@example.com", "password": "analytical engine"})
	assertProblem(t, res, http.StatusServiceUnavailable, "unavailable")
	assert.Equal(t, "1", res.header.Get("Retry-After"))
}
