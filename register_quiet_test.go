package authkit_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

func TestAQuietRegistrationTellsNothingAboutTheAddress(t *testing.T) {
	h := &countingHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}}
	k := newKit(t, func(c *authkit.Config) { c.RegisterQuietly = true; c.PasswordHasher = h })
	in := authkit.Registration{Email: "quiet@example.com", Password: pw, DisplayName: "Owner"}

	h.hashes = 0
	first, err := k.Register(t.Context(), in, authkit.Client{})
	require.NoError(t, err)
	created, ok := k.events.last(authkit.EventUserCreated)
	require.True(t, ok, "the host learns the new id from the event")
	require.Equal(t, authkit.MessageVerifyEmail, k.mail.Next(t).Kind)

	second, err := k.Register(t.Context(), authkit.Registration{Email: " QUIET@example.com", Password: "attacker-pass-1", DisplayName: "Visit evil"}, authkit.Client{})
	require.NoError(t, err, "a taken address is no error")
	assert.Equal(t, 2, h.hashes, "the same password work for a new and a taken address")
	assert.Equal(t, authkit.Registered{User: authkit.User{Email: "quiet@example.com", DisplayName: "Owner"}}, first)
	assert.Equal(t, authkit.Registered{User: authkit.User{Email: "quiet@example.com", DisplayName: "Visit evil"}}, second,
		"the answer is built from the input alone")

	notice := k.mail.Next(t)
	assert.Equal(t, authkit.MessageAlreadyRegistered, notice.Kind, "the owner is told instead")
	assert.Equal(t, "quiet@example.com", notice.To)
	assert.NotContains(t, notice.Text, "evil", "nothing the second registrant chose reaches the owner")

	_, err = k.Login(t.Context(), "quiet@example.com", "attacker-pass-1", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the account was not touched")
	tok, err := k.Login(t.Context(), "quiet@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, created.UserID, tok.User.ID)
}

func TestAQuietRegistrationCannotFloodTheOwner(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) {
		c.RegisterQuietly = true
		c.Limits.RegisterAddr = authkit.Limit{Off: true}
	})
	k.register(t, "flood@example.com", pw)
	for i := range 10 {
		_, err := k.Register(t.Context(), authkit.Registration{Email: "flood@example.com", Password: fmt.Sprintf("guess-%d-pass", i)}, authkit.Client{})
		require.NoError(t, err)
	}
	require.NoError(t, k.Close(t.Context()), "Close delivers what is queued")
	assert.Equal(t, 3, k.mail.Count(authkit.MessageAlreadyRegistered), "the address's mail budget (3 at once) bounds the notices")
}
