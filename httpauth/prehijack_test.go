package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestAccountPreHijackingIsUndoneByTheOwner plays the attack: someone
// registers the victim's address with a password of their own and keeps
// the session; the victim, mailed a verification link, answers "I did not
// sign up". The account and everything the attacker held go, and the
// victim registers the address as theirs.
func TestAccountPreHijackingIsUndoneByTheOwner(t *testing.T) {
	e := newEnv(t)
	const victim = "victim@example.com"
	res := e.post("/register", map[string]string{"email": victim, "password": "attacker's password"})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	attacker := res.tokens(t)
	link := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageVerifyEmail))

	res = e.post("/decline-registration", map[string]string{"token": link})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Contains(t, res.json(t)["message"], "deleted")

	assertProblem(t, e.get("/me", attacker.AccessToken), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.get("/api/hello", attacker.AccessToken), http.StatusUnauthorized, "unauthorized")
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": attacker.RefreshToken}), http.StatusUnauthorized, "invalid_token")
	assertProblem(t, e.post("/login", map[string]string{"email": victim, "password": "attacker's password"}), http.StatusUnauthorized, "invalid_credentials")
	assertProblem(t, e.post("/decline-registration", map[string]string{"token": link}), http.StatusBadRequest, "invalid_token")

	owner, verify := e.register(victim, "the owner's password")
	res = e.post("/verify-email", map[string]string{"token": verify})
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	me := e.get("/me", owner.AccessToken)
	require.Equal(t, http.StatusOK, me.status)
	assert.Equal(t, true, me.json(t)["email_verified"])
	e.login(victim, "the owner's password")
}

func TestAVerifiedAccountCannotBeDeclined(t *testing.T) {
	e := newEnv(t)
	tk, link := e.register("kept@example.com", "correct horse")
	verified := true
	_, err := e.store.UpdateUser(t.Context(), tk.UserID, authkit.UserUpdate{EmailVerified: &verified, UpdatedAt: e.clock.Now()})
	require.NoError(t, err)

	assertProblem(t, e.post("/decline-registration", map[string]string{"token": link}), http.StatusBadRequest, "invalid_token")
	assert.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status, "the account stands")
	assertProblem(t, e.post("/decline-registration", map[string]string{"token": "forged"}), http.StatusBadRequest, "invalid_token")
	assertProblem(t, e.post("/decline-registration", map[string]string{}), http.StatusBadRequest, "invalid_input")
}
