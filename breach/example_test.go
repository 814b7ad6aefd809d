package breach_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/breach"
	"github.com/authkit/authkit/memstore"
)

// Example adds the breach check after the default policy. A fake range
// service on loopback stands in for the public one; it knows one breached
// password, "correct horse battery staple" (SHA-1 ABF7A…).
func Example() {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/range/ABF7A" {
			_, _ = io.WriteString(w, "AD6438836DBE526AA231ABDE2D0EEF74D42:3\r\n0000000000000000000000000000000000A:0\r\n")
		}
	}))
	defer fake.Close()

	checker, err := breach.New(breach.Config{BaseURL: fake.URL, Timeout: 2 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := authkit.New(authkit.Config{
		Store:          memstore.New(),
		Mailer:         authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:         []byte("an example secret of 32 bytes or more"),
		BaseURL:        "https://app.example.com",
		BcryptCost:     4,
		PasswordPolicy: authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, checker.Policy),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = a.Close(context.Background()) }()

	for _, password := range []string{"correct horse battery staple", "a password of my very own"} {
		_, err := a.Register(context.Background(), authkit.Registration{Email: "ada@example.com", Password: password}, authkit.Client{})
		var v *authkit.ValidationError
		switch {
		case errors.As(err, &v):
			fmt.Printf("%q: %s\n", password, v.Fields["password"][0].Message)
		case errors.Is(err, authkit.ErrBusy):
			fmt.Println("the service did not answer: try again later")
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%q: registered\n", password)
		}
	}
	// Output:
	// "correct horse battery staple": This password has appeared in a data breach. Choose another.
	// "a password of my very own": registered
}
