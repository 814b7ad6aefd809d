package memstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(testing.TB) authkit.Store { return memstore.New() })
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
