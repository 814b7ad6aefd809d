package httpauth_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

func TestQuietRegistrationAnswersAlikeForNewAndTakenAddresses(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.RegisterQuietly = true }))
	body := map[string]string{"email": "alike@example.com", "password": "correct horse", "display_name": "Alike"}
	fresh := e.post("/register", body)
	taken := e.post("/register", body)
	require.Equal(t, http.StatusCreated, fresh.status, "%s", fresh.body)
	assert.Equal(t, fresh.status, taken.status, "the same status")
	assert.Equal(t, string(fresh.body), string(taken.body), "the same body, byte for byte")
	assert.Equal(t, fresh.header.Get("Content-Type"), taken.header.Get("Content-Type"))
	assert.Empty(t, fresh.header.Values("Set-Cookie"), "nobody is signed in")
	got := fresh.json(t)
	assert.Equal(t, "Check your email to finish signing up.", got["message"])
	assert.NotContains(t, got, "user_id", "no id to tell a new account from a taken one")
	assert.NotContains(t, got, "access_token")

	// Two mail workers deliver the two messages in either order.
	kinds := map[authkit.MessageKind]string{}
	for range 2 {
		msg := e.mail.Next(t, authkit.MessageVerifyEmail, authkit.MessageAlreadyRegistered)
		kinds[msg.Kind] = msg.To
	}
	assert.Equal(t, map[authkit.MessageKind]string{
		authkit.MessageVerifyEmail: "alike@example.com", authkit.MessageAlreadyRegistered: "alike@example.com",
	}, kinds)
	e.login("alike@example.com", "correct horse")
}

func TestRegistrationRevealsTakenAddressesByDefault(t *testing.T) {
	// The original design's behaviour, kept by default and documented.
	e := newEnv(t)
	e.register("known@example.com", "correct horse")
	assertProblem(t, e.post("/register", map[string]string{"email": "known@example.com", "password": "correct horse"}), http.StatusBadRequest, "email_taken")
}
