package httpauth_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// withFactors turns second factors on in an env.
var withFactors = withAuth(func(c *authkit.Config) {
	c.FactorKeys = []authkit.FactorKey{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}}
})

// totpCode is the code of secret at the env's clock.
func (e *env) totpCode(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clock.Now())
	require.NoError(e.t, err)
	return c
}

// TestSecondFactorOverHTTP walks enrolment, the two-step login, step-up
// and removal over HTTP, with the documented statuses and codes.
func TestSecondFactorOverHTTP(t *testing.T) {
	var e *env
	e = newEnv(t, withFactors, func(s *setup) {
		s.wrap = func(next http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/", next)
			mux.HandleFunc("GET /api/admin", func(w http.ResponseWriter, r *http.Request) {
				e.h.RequireSecondFactor(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })).ServeHTTP(w, r)
			})
			return mux
		}
	})
	tk, _ := e.register("ada@example.com", "correct horse battery staple")
	bearer := func(method, path, token string, body any) response {
		return e.do(req{method: method, path: path, bearer: token, body: body})
	}

	st := bearer(http.MethodGet, "/second-factor", tk.AccessToken, nil)
	require.Equal(t, http.StatusOK, st.status, "%s", st.body)
	assert.Equal(t, false, st.json(t)["totp"])
	assertProblem(t, e.get("/api/admin", tk.AccessToken), http.StatusForbidden, "insufficient_authentication")

	start := bearer(http.MethodPost, "/second-factor/totp", tk.AccessToken, nil)
	require.Equal(t, http.StatusOK, start.status, "start: %s", start.body)
	enrol := start.json(t)
	secret, _ := enrol["secret"].(string)
	assert.True(t, strings.HasPrefix(enrol["qr_code"].(string), "data:image/png;base64,"))
	assert.True(t, strings.HasPrefix(enrol["uri"].(string), "otpauth://totp/"))
	assertProblem(t, bearer(http.MethodPost, "/second-factor/totp/confirm", tk.AccessToken, map[string]string{"code": "000000"}), http.StatusBadRequest, "invalid_input")
	conf := bearer(http.MethodPost, "/second-factor/totp/confirm", tk.AccessToken, map[string]string{"code": e.totpCode(secret)})
	require.Equal(t, http.StatusOK, conf.status, "confirm: %s", conf.body)
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.NoError(t, jsonUnmarshal(conf.body, &codes))
	assert.Len(t, codes.RecoveryCodes, 10)
	assertProblem(t, bearer(http.MethodPost, "/second-factor/totp", tk.AccessToken, nil), http.StatusConflict, "conflict")
	e.clock.Advance(30 * time.Second)

	// The login answers with a ticket, not tokens.
	login := e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	body := assertProblem(t, login, http.StatusUnauthorized, "second_factor_required")
	ticket, _ := body["ticket"].(string)
	require.NotEmpty(t, ticket, "a ticket: %s", login.body)
	assert.Equal(t, []any{"totp", "recovery_code"}, body["methods"])
	assert.EqualValues(t, 300, body["expires_in"])
	assert.NotContains(t, string(login.body), "access_token")

	assertProblem(t, e.post("/login/second-factor", map[string]string{"ticket": ticket, "code": "000000"}), http.StatusUnauthorized, "invalid_credentials")
	assertProblem(t, e.post("/login/second-factor", map[string]string{"ticket": "nope.1", "code": "000000"}), http.StatusUnauthorized, "invalid_token")
	second := e.post("/login/second-factor", map[string]string{"ticket": ticket, "code": e.totpCode(secret)})
	require.Equal(t, http.StatusOK, second.status, "second step: %s", second.body)
	mfa := second.tokens(t)
	assert.NotEmpty(t, mfa.RefreshToken)
	assert.Equal(t, http.StatusNoContent, e.get("/api/admin", mfa.AccessToken).status, "RequireSecondFactor lets an mfa sign-in through")

	// Step-up: an old sign-in must re-authenticate before removing it.
	e.clock.Advance(11 * time.Minute)
	ref := e.post("/refresh", map[string]string{"refresh_token": mfa.RefreshToken})
	require.Equal(t, http.StatusOK, ref.status)
	stale := ref.tokens(t).AccessToken
	assertProblem(t, bearer(http.MethodDelete, "/second-factor/totp", stale, nil), http.StatusForbidden, "reauthentication_required")
	assertProblem(t, bearer(http.MethodPost, "/second-factor/recovery-codes", stale, nil), http.StatusForbidden, "reauthentication_required")
	assertProblem(t, bearer(http.MethodPost, "/change-password", stale, map[string]string{"current_password": "correct horse battery staple", "new_password": "another password 1"}),
		http.StatusForbidden, "reauthentication_required")
	assertProblem(t, bearer(http.MethodPost, "/reauthenticate", stale, map[string]string{"password": "correct horse battery staple"}), http.StatusBadRequest, "invalid_input")
	re := bearer(http.MethodPost, "/reauthenticate", stale, map[string]string{"password": "correct horse battery staple", "code": e.totpCode(secret)})
	require.Equal(t, http.StatusOK, re.status, "reauthenticate: %s", re.body)
	fresh, _ := re.json(t)["access_token"].(string)
	require.NotEmpty(t, fresh)
	assert.Equal(t, http.StatusNoContent, bearer(http.MethodDelete, "/second-factor/totp", fresh, nil).status, "remove after re-authenticating")
	after := e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	assert.Equal(t, http.StatusOK, after.status, "no second step once removed: %s", after.body)
}

// TestSecondFactorRoutesWithoutFactors checks that a deployment without
// FactorKeys answers the enrolment routes 404 and logs in as before.
func TestSecondFactorRoutesWithoutFactors(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse battery staple")
	assertProblem(t, e.do(req{method: http.MethodPost, path: "/second-factor/totp", bearer: tk.AccessToken}), http.StatusNotFound, "not_found")
	assertProblem(t, e.get("/second-factor", tk.AccessToken), http.StatusNotFound, "not_found")
}
