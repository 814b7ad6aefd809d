package httpauth_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// setHash replaces the stored password hash of the user with id.
func (e *env) setHash(id, hash string) {
	e.t.Helper()
	_, err := e.store.UpdateUser(e.t.Context(), id, authkit.UserUpdate{PasswordHash: &hash, UpdatedAt: e.clock.Now()})
	require.NoError(e.t, err, "UpdateUser")
}

// storedCost returns the bcrypt cost of the user's stored hash.
func (e *env) storedCost(id string) int {
	e.t.Helper()
	u, err := e.store.UserByID(e.t.Context(), id)
	require.NoError(e.t, err)
	cost, err := bcrypt.Cost([]byte(u.PasswordHash))
	require.NoError(e.t, err)
	return cost
}

func TestLoginRehashesAWeakerHash(t *testing.T) {
	e := newEnv(t, func(s *setup) { s.auth.BcryptCost = 5 })
	tk, _ := e.register("weak@example.com", "correct horse")
	weak, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 4)
	require.NoError(t, err)
	e.setHash(tk.UserID, string(weak))

	res := e.post("/login", map[string]string{"email": "weak@example.com", "password": "wrong horse"})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	assert.Equal(t, 4, e.storedCost(tk.UserID), "a failed login rehashes nothing")

	e.login("weak@example.com", "correct horse")
	assert.Equal(t, 5, e.storedCost(tk.UserID), "the next good login rehashes at the configured cost")
	e.login("weak@example.com", "correct horse")
}

func TestLoginRefusesAHashAboveTheMaximumCost(t *testing.T) {
	authLog := &testkit.LogBuffer{}
	e := newEnv(t, func(s *setup) { s.auth.Logger = slog.New(slog.NewTextHandler(authLog, nil)) })
	tk, _ := e.register("hostile@example.com", "correct horse")
	// A cost-31 hash would pin a CPU for days if it were computed.
	e.setHash(tk.UserID, "$2a$31$EXRkfkdmXn2gzds2SSitu.MW9.gAVqa9eLS1//RYtYCmB1eLHg.9q")

	// Refused, not computed: a computed check of a well-formed hash answers
	// a mismatch with no error, so the "unusable" error the operator is
	// told of comes only from the cost check made before computing. Were
	// it gone, the login would run for days and Finish fail the test.
	var res response
	testkit.Finish(t, "login with a cost-31 hash", func() {
		res = e.post("/login", map[string]string{"email": "hostile@example.com", "password": "correct horse"})
	})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	assert.Contains(t, authLog.String(), "unusable password hash", "the operator is told")
}
