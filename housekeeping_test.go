package authkit_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestHousekeepingRunsItself checks that an Authenticator deletes expired
// records on its own schedule, without the host calling Cleanup, and that
// one with Housekeeping off leaves them to the host.
func TestHousekeepingRunsItself(t *testing.T) {
	for _, on := range []bool{true, false} {
		k := newKit(t, func(c *authkit.Config) {
			c.Housekeeping = time.Millisecond
			if !on {
				c.Housekeeping = -1
			}
		})
		_, token := k.register(t, "ada@example.com", "correct horse battery staple")
		sum := sha256.Sum256([]byte(token))
		hash := hex.EncodeToString(sum[:])
		_, err := k.store.Token(t.Context(), hash)
		require.NoError(t, err, "the verification token is stored")
		k.clock.Advance(25 * time.Hour) // past its 24 hours

		if on {
			require.Eventually(t, func() bool {
				_, err := k.store.Token(t.Context(), hash)
				return errors.Is(err, authkit.ErrNotFound)
			}, testkit.Timeout, time.Millisecond, "housekeeping deletes the expired token")
			continue
		}
		// Off: only the host's own Cleanup deletes it.
		_, err = k.store.Token(t.Context(), hash)
		assert.NoError(t, err, "still there without housekeeping")
		n, err := k.Cleanup(t.Context())
		require.NoError(t, err)
		assert.Positive(t, n, "Cleanup deletes it")
		_, err = k.store.Token(t.Context(), hash)
		assert.ErrorIs(t, err, authkit.ErrNotFound)
	}
}
