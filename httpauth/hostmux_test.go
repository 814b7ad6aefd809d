package httpauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestEndpointsOnTheHostsMuxSayNoStore: a host that routes itself mounts
// the endpoint methods on its own mux, so the Handler's ServeHTTP never
// runs. Token responses and every other answer must still carry
// Cache-Control: no-store, or a shared cache could keep a token.
func TestEndpointsOnTheHostsMuxSayNoStore(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", e.h.Register)
	mux.HandleFunc("POST /signin", e.h.Login)
	mux.HandleFunc("POST /renew", e.h.Refresh)
	mux.HandleFunc("POST /password", e.h.ChangePassword)
	mux.HandleFunc("POST /forgot", e.h.ForgotPassword)
	mux.HandleFunc("GET /whoami", e.h.Me)
	mux.HandleFunc("GET /devices", e.h.Sessions)
	mux.HandleFunc("POST /signout", e.h.Logout)
	call := func(method, path, bearer string, body any) response {
		t.Helper()
		var r *http.Request
		if body == nil {
			r = httptest.NewRequestWithContext(t.Context(), method, path, nil)
		} else {
			data, err := json.Marshal(body)
			require.NoError(t, err)
			r = httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(string(data)))
			r.Header.Set("Content-Type", "application/json")
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	}
	creds := map[string]string{"email": "ada@example.com", "password": "correct horse"}

	signup := call(http.MethodPost, "/signup", "", creds)
	require.Equal(t, http.StatusCreated, signup.status, "register: %s", signup.body)
	e.mail.Next(t, authkit.MessageVerifyEmail)
	signin := call(http.MethodPost, "/signin", "", creds)
	require.Equal(t, http.StatusOK, signin.status, "login: %s", signin.body)
	tk := signin.tokens(t)
	renew := call(http.MethodPost, "/renew", "", map[string]string{"refresh_token": tk.RefreshToken})
	require.Equal(t, http.StatusOK, renew.status, "refresh: %s", renew.body)
	tk = renew.tokens(t)
	all := map[string]response{
		"register":        signup,
		"login":           signin,
		"refresh":         renew,
		"me":              call(http.MethodGet, "/whoami", tk.AccessToken, nil),
		"sessions":        call(http.MethodGet, "/devices", tk.AccessToken, nil),
		"forgot-password": call(http.MethodPost, "/forgot", "", map[string]string{"email": "ada@example.com"}),
		"change-password": call(http.MethodPost, "/password", tk.AccessToken,
			map[string]string{"current_password": "correct horse", "new_password": "another horse"}),
		"logout":          call(http.MethodPost, "/signout", "", map[string]string{"refresh_token": tk.RefreshToken}),
		"a refused login": call(http.MethodPost, "/signin", "", map[string]string{"email": "ada@example.com", "password": "wrong horse"}),
		"no bearer":       call(http.MethodGet, "/whoami", "", nil),
	}
	require.NotEmpty(t, all["change-password"].json(t)["access_token"], "change-password answers with a token")
	for name, res := range all {
		assert.Less(t, res.status, 500, "%s: %s", name, res.body)
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"), "%s (status %d)", name, res.status)
	}
}
