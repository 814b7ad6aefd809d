package authkit_test

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// ExampleNew builds an Authenticator on the in-memory store, registers a
// user and shows how to branch on the kit's errors.
func ExampleNew() {
	ctx := context.Background()
	outbox := make(chan authkit.Message, 10)
	a, err := authkit.New(authkit.Config{
		Store: memstore.New(),
		Mailer: authkit.MailerFunc(func(_ context.Context, m authkit.Message) error {
			outbox <- m
			return nil
		}),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com",
		BcryptCost: bcrypt.MinCost, // tests only: keep the default (12) in production
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close(ctx)

	tok, err := a.Register(ctx, authkit.Registration{Email: " Ada@Example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registered", tok.User.Email, "access token lives", tok.ExpiresIn)
	m := <-outbox
	fmt.Println("mailed", m.Kind, "to", m.To)

	_, err = a.Register(ctx, authkit.Registration{Email: "ada@example.com", Password: "short"}, authkit.Client{})
	var invalid *authkit.ValidationError
	if errors.As(err, &invalid) {
		fmt.Println("password:", invalid.Fields["password"])
	}

	_, err = a.Login(ctx, "ada@example.com", "wrong password", authkit.Client{})
	switch {
	case errors.Is(err, authkit.ErrInvalidCredentials):
		fmt.Println("login: wrong email or password")
	case errors.Is(err, authkit.ErrAccountDisabled):
		fmt.Println("login: disabled")
	}
	// Output:
	// registered ada@example.com access token lives 15m0s
	// mailed verify_email to ada@example.com
	// password: [Password must be at least 8 characters]
	// login: wrong email or password
}

// ExampleAuthenticator_Authenticate checks an access token and loads its
// user, as httpauth.RequireUser does for every request.
func ExampleAuthenticator_Authenticate() {
	ctx := context.Background()
	a, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com",
		BcryptCost: bcrypt.MinCost,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close(ctx)
	tok, _ := a.Register(ctx, authkit.Registration{Email: "grace@example.com", Password: "correct horse"}, authkit.Client{})

	claims, err := a.Authenticate(ctx, tok.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, err := a.CurrentUser(ctx, claims)
	fmt.Println(u.Email, err)

	// Logging out everywhere cuts the token off wherever the user is loaded.
	_ = a.LogoutAll(ctx, u.ID, authkit.Client{})
	_, err = a.CurrentUser(ctx, claims)
	fmt.Println(errors.Is(err, authkit.ErrInvalidToken))
	// Output:
	// grace@example.com <nil>
	// true
}
