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

	reg, err := a.Register(ctx, authkit.Registration{Email: " Ada@Example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registered", reg.User.Email, "signed in:", reg.SignedIn, "access token lives", reg.Tokens.ExpiresIn)
	m := <-outbox
	fmt.Println("mailed", m.Kind, "to", m.To)

	_, err = a.Register(ctx, authkit.Registration{Email: "ada@example.com", Password: "short"}, authkit.Client{})
	var invalid *authkit.ValidationError
	if errors.As(err, &invalid) {
		for _, fe := range invalid.Fields["password"] {
			fmt.Println("password:", fe.Code, fe.Limit)
		}
	}

	_, err = a.Login(ctx, "ada@example.com", "wrong password", authkit.Client{})
	switch {
	case errors.Is(err, authkit.ErrInvalidCredentials):
		fmt.Println("login: wrong email or password")
	case errors.Is(err, authkit.ErrAccountDisabled):
		fmt.Println("login: disabled")
	}
	// Output:
	// registered ada@example.com signed in: true access token lives 15m0s
	// mailed verify_email to ada@example.com
	// password: too_short 8
	// login: wrong email or password
}

// ExampleAuthenticator_Authenticate checks whether an access token is good
// now and loads its user, as httpauth.RequireUser does for every request
// and as a gRPC interceptor or a WebSocket upgrade would.
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
	reg, _ := a.Register(ctx, authkit.Registration{Email: "grace@example.com", Password: "correct horse"}, authkit.Client{})
	token := reg.Tokens.AccessToken

	u, claims, err := a.Authenticate(ctx, token)
	fmt.Println(u.Email, claims.SessionID == reg.Tokens.SessionID, err)

	// Logging out everywhere cuts the token off at once, although its
	// signature stays good until it expires.
	_ = a.LogoutAll(ctx, u.ID, authkit.Client{})
	_, _, err = a.Authenticate(ctx, token)
	fmt.Println(errors.Is(err, authkit.ErrInvalidToken))
	_, err = a.VerifyAccessToken(ctx, token)
	fmt.Println(err)
	// Output:
	// grace@example.com true <nil>
	// true
	// <nil>
}
