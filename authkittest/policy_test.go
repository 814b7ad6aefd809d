package authkittest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authkittest"
)

// TestKitKeepsThePasswordPolicy: the kit refuses what production refuses,
// unless a test turns the policy off; TokenFor's users pass it.
func TestKitKeepsThePasswordPolicy(t *testing.T) {
	kit := authkittest.New(t)
	_, err := kit.Auth.Register(t.Context(), authkit.Registration{Email: "weak@example.com", Password: "password123"}, authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v, "Register with a common password")
	assert.Equal(t, authkit.CodePasswordTooCommon, v.Fields["password"][0].Code)
	assert.NotEmpty(t, kit.TokenFor(t, "alice@example.com"), "TokenFor's random password passes")

	off := authkittest.New(t, authkittest.WithConfig(func(c *authkit.Config) { c.PasswordPolicy = authkit.NoPasswordPolicy }))
	_, err = off.Auth.Register(t.Context(), authkit.Registration{Email: "weak@example.com", Password: "password123"}, authkit.Client{})
	assert.NoError(t, err, "Register with the policy off")
}
