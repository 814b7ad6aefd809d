package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

func Example() {
	ctx := context.Background()

	// A real service would open a file: sqlite:authkit.db.
	db, err := sqlite.Open(ctx, "sqlite::memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()

	store, err := sqlite.New(db)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	created := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	err = store.CreateUser(ctx, authkit.User{
		ID:           "0b7a6f6e-2f1c-4c7e-9a55-3f7f0f0c2d11",
		Email:        "ada@example.com",
		DisplayName:  "Ada",
		PasswordHash: "$2a$12$…",
		Active:       true,
		CreatedAt:    created,
		UpdatedAt:    created,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Emails are compared ignoring case.
	u, err := store.UserByEmail(ctx, "Ada@Example.COM")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.DisplayName, u.CreatedAt)

	// Store errors are tested with errors.Is.
	err = store.CreateUser(ctx, authkit.User{ID: "another", Email: "ADA@example.com", CreatedAt: created, UpdatedAt: created})
	fmt.Println(errors.Is(err, authkit.ErrAlreadyExists), err)

	_, err = store.UserByID(ctx, "nobody")
	fmt.Println(errors.Is(err, authkit.ErrNotFound))

	// Output:
	// Ada 2025-03-01 09:30:00 +0000 UTC
	// true sqlstore: create user: authkit: already exists
	// true
}
