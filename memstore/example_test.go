package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// A memstore compares emails ignoring case and reports the store errors
// that callers test with errors.Is.
func Example() {
	ctx := context.Background()
	s := memstore.New()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	err := s.CreateUser(ctx, authkit.User{
		ID: "4f1c1e9a-0d2b-4c3e-8a5f-6b7c8d9e0f1a", Email: "ada@example.com",
		DisplayName: "Ada", Active: true, CreatedAt: at, UpdatedAt: at,
	})
	fmt.Println("create:", err)

	u, err := s.UserByEmail(ctx, "Ada@Example.com")
	fmt.Println("found:", u.DisplayName, err)

	err = s.CreateUser(ctx, authkit.User{ID: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", Email: "ADA@example.com"})
	fmt.Println("duplicate email:", errors.Is(err, authkit.ErrAlreadyExists))

	_, err = s.UserByID(ctx, "00000000-0000-4000-8000-000000000000")
	fmt.Println("unknown id:", errors.Is(err, authkit.ErrNotFound))
	// Output:
	// create: <nil>
	// found: Ada <nil>
	// duplicate email: true
	// unknown id: true
}
