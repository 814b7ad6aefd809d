package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestARightPasswordGivesTheDevicesBudgetBack: a login from a known
// device spends that device's own budget, and the right password gives
// it back whole, so that an owner who mistypes now and then is never
// throttled on their own device.
func TestARightPasswordGivesTheDevicesBudgetBack(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) {
		c.Limits.LoginFailuresDevice = authkit.Limit{Burst: 2, Every: time.Hour}
	})
	tok, _ := k.register(t, "owner@example.com", pw)
	c := authkit.Client{Addr: "192.0.2.10", Device: device(t, k, tok)}

	require.True(t, guessFrom(t, k, "owner@example.com", c), "the owner mistypes")
	_, err := k.Login(t.Context(), "owner@example.com", pw, c)
	require.NoError(t, err, "then types it right: the device's second unit")
	for i := range 2 {
		assert.True(t, guessFrom(t, k, "owner@example.com", c), "mistake %d after the right password is checked: the budget was given back", i+1)
	}
	assert.False(t, guessFrom(t, k, "owner@example.com", c), "the device's budget is spent again")
	assert.Equal(t, "login_failures_device", lastLimit(t, k))
}
