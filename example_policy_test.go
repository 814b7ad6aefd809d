package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// ExamplePasswordPolicy adds a house rule to the default policy and shows
// how a refusal reaches the caller: a field error with a code and a
// message, on the field of the new password.
func ExamplePasswordPolicy() {
	ctx := context.Background()
	noSeasons := func(_ context.Context, password string, _ authkit.PasswordContext) error {
		for _, season := range []string{"spring", "summer", "autumn", "winter"} {
			if strings.Contains(strings.ToLower(password), season) {
				return &authkit.PasswordRefusal{Code: "password_season", Message: "Seasons are the first thing guessed."}
			}
		}
		return nil
	}
	a, err := authkit.New(authkit.Config{
		Store:          memstore.New(),
		Mailer:         authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:         []byte("an example secret of at least 32 bytes"),
		BaseURL:        "https://app.example.com",
		AppName:        "Acme",
		BcryptCost:     bcrypt.MinCost, // tests only: keep the default (12) in production
		PasswordPolicy: authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, noSeasons),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close(ctx)

	for _, password := range []string{"password123", "ada.lovelace", "acme1234", "12345678", "Summer of '69", "correct horse"} {
		_, err := a.Register(ctx, authkit.Registration{Email: "ada.lovelace@example.com", Password: password}, authkit.Client{})
		var invalid *authkit.ValidationError
		switch {
		case errors.As(err, &invalid):
			fe := invalid.Fields["password"][0]
			fmt.Printf("%-15q %s: %s\n", password, fe.Code, fe.Message)
		case err != nil:
			fmt.Println(err) // not the password's fault: a policy that could not decide
		default:
			fmt.Printf("%-15q registered\n", password)
		}
	}
	// Output:
	// "password123"   password_too_common: This password is too common.
	// "ada.lovelace"  password_too_similar: The password is too similar to the email address.
	// "acme1234"      password_too_similar: The password is too similar to the name of this service.
	// "12345678"      password_too_common: This password is too common.
	// "Summer of '69" password_season: Seasons are the first thing guessed.
	// "correct horse" registered
}

// ExampleNoPasswordPolicy turns the password policy off: only the length
// rules remain. Do so only when passwords are checked elsewhere.
func ExampleNoPasswordPolicy() {
	err := authkit.NoPasswordPolicy(context.Background(), "password123", authkit.PasswordContext{})
	fmt.Println(err)
	err = authkit.DefaultPasswordPolicy(context.Background(), "password123", authkit.PasswordContext{})
	fmt.Println(err, errors.Is(err, authkit.ErrPasswordRefused))
	// Output:
	// <nil>
	// authkit: password refused: password_too_common true
}
