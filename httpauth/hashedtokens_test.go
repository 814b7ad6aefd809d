package httpauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// tokenWrites is a Store that keeps a copy of every one-time token it is
// asked to create.
type tokenWrites struct {
	authkit.Store
	mu      sync.Mutex
	created []authkit.OneTimeToken
}

func (s *tokenWrites) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	s.mu.Lock()
	s.created = append(s.created, t)
	s.mu.Unlock()
	return s.Store.CreateToken(ctx, t)
}

func (s *tokenWrites) all() []authkit.OneTimeToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authkit.OneTimeToken(nil), s.created...)
}

// TestMailedTokensReachTheStoreOnlyHashed is the HTTP side of the rule
// that one-time tokens are stored hashed: the verification and reset
// tokens mailed by POST /register and POST /forgot-password reach the
// Store only as their SHA-256, never as themselves, and those mailed
// tokens are the ones the API then takes.
func TestMailedTokensReachTheStoreOnlyHashed(t *testing.T) {
	store := &tokenWrites{Store: memstore.New()}
	e := newEnv(t, func(s *setup) { s.store = store })
	_, verify := e.register("ada@example.com", "correct horse")
	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	resetToken := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))

	written := store.all()
	require.NotEmpty(t, written)
	for name, c := range map[string]struct {
		token   string
		purpose authkit.TokenPurpose
	}{
		"verification": {verify, authkit.PurposeVerifyEmail},
		"reset":        {resetToken, authkit.PurposeResetPassword},
	} {
		sum := sha256.Sum256([]byte(c.token))
		found := 0
		for _, w := range written {
			assert.NotContains(t, fmt.Sprintf("%+v", w), c.token, "the %s token as mailed reached the Store", name)
			if w.Hash == hex.EncodeToString(sum[:]) {
				found++
				assert.Equal(t, c.purpose, w.Purpose, "%s token's purpose", name)
			}
		}
		assert.Equal(t, 1, found, "the Store got the SHA-256 of the %s token", name)
		_, err := e.store.Token(t.Context(), c.token)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "no token is stored under the %s token itself", name)
	}

	assert.Equal(t, http.StatusOK, e.get("/verify-email/"+verify, "").status, "the mailed verification token works")
	res := e.post("/reset-password", map[string]string{"token": resetToken, "password": "another horse"})
	assert.Equal(t, http.StatusOK, res.status, "the mailed reset token works: %s", res.body)
}
