package strength_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/strength"
)

// Example checks passwords as an Authenticator would with
// Config.PasswordPolicy set to the default policy and a strength estimate.
func Example() {
	policy := authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, strength.Policy{MinScore: 3}.Check)
	pc := authkit.PasswordContext{Purpose: authkit.PasswordForRegister, Email: "ada@example.com", AppName: "Engines"}
	for _, password := range []string{"Password1", "ada1815!", "Monkey2024", "correct horse battery staple"} {
		var r *authkit.PasswordRefusal
		switch err := policy(context.Background(), password, pc); {
		case errors.As(err, &r):
			fmt.Printf("%s: %s: %s\n", password, r.Code, r.Message)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%s: accepted\n", password)
		}
	}
	// Output:
	// Password1: password_too_common: This password is too common.
	// ada1815!: password_too_weak: This password is too easy to guess. Add another word or two. Uncommon words are better.
	// Monkey2024: password_too_weak: This is similar to a commonly used password. Capitalization doesn't help very much.
	// correct horse battery staple: accepted
}
