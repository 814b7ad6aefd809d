package memstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

func TestStore(t *testing.T) {
	newStore := func(testing.TB) authkit.Store { return memstore.New() }
	// memstore keeps second factors: the suite runs their tests too.
	require.Implements(t, (*authkit.FactorStore)(nil), newStore(t), "the Store given to storetest.Run")
	storetest.Run(t, newStore)
}

func TestUserWatcher(t *testing.T) {
	storetest.RunUserWatcher(t, func(testing.TB) (authkit.Store, authkit.Store) {
		s := memstore.New()
		return s, s
	})
}

func TestLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(testing.TB) authkit.Limiter { return memstore.New() })
}

// seeded returns a store holding one user, and that user.
func seeded(tb testing.TB) (*memstore.Store, authkit.User) {
	tb.Helper()
	at := time.Now().UTC().Truncate(time.Microsecond)
	u := authkit.User{
		ID:           "0b6f3c2e-5d4a-4e8f-9a1b-2c3d4e5f6a7b",
		Email:        "ada@example.com",
		DisplayName:  "Ada",
		PasswordHash: "$2a$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
		Active:       true,
		CreatedAt:    at,
		UpdatedAt:    at,
	}
	s := memstore.New()
	require.NoError(tb, s.CreateUser(tb.Context(), u), "CreateUser")
	return s, u
}

func TestUserByIDAllocations(t *testing.T) {
	s, u := seeded(t)
	ctx := t.Context()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per UserByID")
}

func TestNonUTCTimesStoredInUTC(t *testing.T) {
	s, u := seeded(t)
	ctx := t.Context()
	at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600))
	got, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{UpdatedAt: at})
	require.NoError(t, err, "UpdateUser")
	assert.True(t, got.UpdatedAt.Equal(at), "UpdatedAt: same instant")
	assert.Same(t, time.UTC, got.UpdatedAt.Location(), "UpdatedAt in UTC")
}

func BenchmarkUserByID(b *testing.B) {
	s, u := seeded(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.UserByID(ctx, u.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserByIDParallel(b *testing.B) {
	s, u := seeded(b)
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.UserByID(ctx, u.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestFactorLimits checks that memstore refuses, like the SQL Store and
// with authkit.ErrInvalidInput, the second factors the SQL Store could not
// keep, so that a host's tests meet the limits before production does.
func TestFactorLimits(t *testing.T) {
	s, u := seeded(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	factor := func(secret []byte, keyID string) authkit.TOTPFactor {
		return authkit.TOTPFactor{UserID: u.ID, Secret: secret, KeyID: keyID, CreatedAt: at}
	}
	for name, f := range map[string]authkit.TOTPFactor{
		"a secret of 513 bytes":      factor(make([]byte, 513), "k"),
		"a key id of 65 bytes":       factor([]byte("s"), strings.Repeat("k", 65)),
		"a key id with NUL":          factor([]byte("s"), "k\x00"),
		"a key id that is not UTF-8": factor([]byte("s"), "k\xff"),
	} {
		assert.ErrorIs(t, s.PutTOTP(ctx, f), authkit.ErrInvalidInput, "PutTOTP with %s", name)
		_, err := s.TOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authkit.ErrNotFound, "TOTP after PutTOTP with %s", name)
	}
	require.NoError(t, s.PutTOTP(ctx, factor(make([]byte, 512), strings.Repeat("k", 64))), "PutTOTP at the limits")
	assert.ErrorIs(t, s.ConfirmTOTP(ctx, u.ID, time.Time{}, 1), authkit.ErrInvalidInput, "ConfirmTOTP at the zero time")
	assert.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 2), authkit.ErrNotFound, "UseTOTPStep after ConfirmTOTP at the zero time")

	kept := []string{"a", strings.Repeat("h", 128)}
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, kept, at), "ReplaceRecoveryCodes at the limits")
	for name, hashes := range map[string][]string{
		"a hash twice":        {"a", "b", "a"},
		"an empty hash":       {"b", ""},
		"a hash of 129 bytes": {strings.Repeat("h", 129)},
		"a hash with NUL":     {"h\x00"},
		"a hash not UTF-8":    {"h\xff"},
	} {
		assert.ErrorIs(t, s.ReplaceRecoveryCodes(ctx, u.ID, hashes, at), authkit.ErrInvalidInput, "ReplaceRecoveryCodes with %s", name)
		left, err := s.RecoveryCodesLeft(ctx, u.ID)
		require.NoError(t, err, "RecoveryCodesLeft")
		assert.Equal(t, len(kept), left, "RecoveryCodesLeft after ReplaceRecoveryCodes with %s", name)
	}

	// A code used at the zero time is used all the same.
	require.NoError(t, s.UseRecoveryCode(ctx, u.ID, "a", time.Time{}), "UseRecoveryCode at the zero time")
	assert.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, "a", at), authkit.ErrNotFound, "UseRecoveryCode of a code used at the zero time")
	left, err := s.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err, "RecoveryCodesLeft")
	assert.Equal(t, 1, left, "RecoveryCodesLeft after a code was used at the zero time")
}
