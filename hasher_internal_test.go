package authkit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMatchPasswordReportsALegacyMatch checks which spelling of a password
// matched: a hash of the password as typed (made before passwords were
// normalized) is a legacy match, to be replaced by a hash of the NFKC form.
func TestMatchPasswordReportsALegacyMatch(t *testing.T) {
	h := BcryptHasher{Cost: 4}
	a := &Authenticator{hasher: h, hashSlots: make(chan struct{}, 1), cfg: Config{MaxHashWait: time.Minute}}
	const typed, normalized = "\uFB01sh and chips", "fish and chips"
	legacyHash, err := h.Hash(typed)
	require.NoError(t, err)
	newHash, err := a.hashPassword(t.Context(), typed)
	require.NoError(t, err)
	cases := []struct {
		name               string
		hash, password     string
		wantOK, wantLegacy bool
	}{
		{"typed against a legacy hash", legacyHash, typed, true, true},
		{"NFKC form against a legacy hash", legacyHash, normalized, false, false},
		{"typed against a new hash", newHash, typed, true, false},
		{"NFKC form against a new hash", newHash, normalized, true, false},
		{"wrong password", newHash, "\uFB01sh and chip", false, false},
	}
	for _, c := range cases {
		ok, legacy, err := a.matchPassword(t.Context(), c.hash, c.password)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.wantOK, ok, "matchPassword: %s: ok", c.name)
		assert.Equal(t, c.wantLegacy, legacy, "matchPassword: %s: legacy", c.name)
	}
}
