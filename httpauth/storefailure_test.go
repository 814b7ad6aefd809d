package httpauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// usersDown is a Store whose UserByID fails, once armed, as a database
// that went away does: not ErrNotFound, but a failure to answer.
type usersDown struct {
	authkit.Store
	down atomic.Bool
}

func (s *usersDown) UserByID(ctx context.Context, id string) (authkit.User, error) {
	if s.down.Load() {
		return authkit.User{}, errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	return s.Store.UserByID(ctx, id)
}

// TestAStoreFailureBehindAGoodTokenIs500: when the user behind a valid
// bearer token cannot be loaded because the Store fails, nothing vouches
// for the request. RequireUser, LoadUser and GET /me answer a logged 500,
// and the host's handler never runs: neither on the token's word (its
// claims), nor as an anonymous request.
func TestAStoreFailureBehindAGoodTokenIs500(t *testing.T) {
	store := &usersDown{Store: memstore.New()}
	e := newEnv(t, func(s *setup) { s.store = store })
	tk, _ := e.register("ada@example.com", "correct horse")

	var ran atomic.Int64
	host := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ran.Add(1)
		_, _ = io.WriteString(w, "the host's handler ran")
	})
	guarded := map[string]http.Handler{
		"RequireUser": e.h.RequireUser(host),
		"LoadUser":    e.h.LoadUser(host),
	}
	call := func(h http.Handler) response {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/host", nil)
		r.Header.Set("Authorization", "Bearer "+tk.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	}
	for name, h := range guarded {
		require.Equal(t, http.StatusOK, call(h).status, "%s while the Store works", name)
	}
	require.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status, "GET /me while the Store works")
	ran.Store(0)

	store.down.Store(true)
	for name, h := range guarded {
		m := assertProblem(t, call(h), http.StatusInternalServerError, "internal")
		assert.Equal(t, "An internal error occurred.", m["detail"], name)
	}
	res := e.get("/me", tk.AccessToken)
	m := assertProblem(t, res, http.StatusInternalServerError, "internal")
	assert.Equal(t, "An internal error occurred.", m["detail"], "GET /me")
	assert.NotContains(t, string(res.body), "ada@example.com", "GET /me tells nothing of the token's user")
	assert.Zero(t, ran.Load(), "the host's handler never ran")
	assert.Contains(t, e.log.String(), "connection refused", "the failure reaches the Logger")
}
