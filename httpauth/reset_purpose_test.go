package httpauth_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authkit/authkit"
)

// hashCounter counts the password hashes and checks it makes.
type hashCounter struct {
	authkit.BcryptHasher
	hashes, verifies atomic.Int64
}

func (h *hashCounter) Hash(password string) (string, error) {
	h.hashes.Add(1)
	return h.BcryptHasher.Hash(password)
}

func (h *hashCounter) Verify(hash, password string) (bool, error) {
	h.verifies.Add(1)
	return h.BcryptHasher.Verify(hash, password)
}

// TestResetWithAVerificationTokenHashesNothing: POST /reset-password with
// the token of an email verification link is refused as an invalid reset
// token (400 invalid_token), before any password work, and spends
// neither the token nor the password.
func TestResetWithAVerificationTokenHashesNothing(t *testing.T) {
	hasher := &hashCounter{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.PasswordHasher = hasher }))
	_, verify := e.register("ada@example.com", "correct horse")
	hasher.hashes.Store(0)
	hasher.verifies.Store(0)

	res := e.post("/reset-password", map[string]string{"token": verify, "password": "another horse"})
	m := assertProblem(t, res, http.StatusBadRequest, "invalid_token")
	assert.Equal(t, "Invalid or expired reset token", m["detail"])
	assert.Nil(t, m["fields"], "a bad token, not bad input")
	assert.Zero(t, hasher.hashes.Load(), "no password was hashed")
	assert.Zero(t, hasher.verifies.Load(), "no password was checked")

	assert.Equal(t, http.StatusOK, e.get("/verify-email/"+verify, "").status, "the verification token is still good for its own purpose")
	e.login("ada@example.com", "correct horse")
}
