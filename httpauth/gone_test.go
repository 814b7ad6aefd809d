package httpauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authkit/authkit"
)

// hangUpStore calls hangUp when the login looks up its user, and fails as
// a database does for a cancelled query.
type hangUpStore struct {
	authkit.Store
	hangUp func()
}

func (s *hangUpStore) UserByEmail(context.Context, string) (authkit.User, error) {
	s.hangUp()
	return authkit.User{}, context.Canceled
}

func TestAClientThatHangsUpIsNoInternalError(t *testing.T) {
	gone := &hangUpStore{}
	e := newEnv(t, func(s *setup) {
		gone.Store = s.store
		s.store = gone
	})
	ctx, cancel := context.WithCancel(context.Background())
	gone.hangUp = cancel
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login", strings.NewReader(`{"email": "gone@example.com", "password": "correct horse"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.Equal(t, 499, w.Code, "answered as a closed request: %s", w.Body)
	assert.NotContains(t, e.log.String(), "level=ERROR", "not logged as an error")

	// The same failure while the client is still there is an internal error.
	gone.hangUp = func() {}
	r = httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/login", strings.NewReader(`{"email": "gone@example.com", "password": "correct horse"}`))
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, e.log.String(), "level=ERROR", "an error the client did not cause is logged")
}
