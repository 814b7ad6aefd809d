package authkittest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authkittest"
	"github.com/authkit/authkit/httpauth"
)

// profile is the host's handler under test: it greets the signed-in user.
func profile(w http.ResponseWriter, r *http.Request) {
	u, _ := httpauth.UserFrom(r.Context())
	fmt.Fprintf(w, "hello %s\n", u.Email)
}

// Example is the unit test of a handler behind RequireUser. In a test, t
// is the test's *testing.T (here a stand-in plays it), and the body below
// is the whole test.
func Example() {
	t := newExampleT()
	defer t.finish()

	kit := authkittest.New(t)
	api, err := httpauth.New(httpauth.Config{Authenticator: kit.Auth})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/profile", nil)
	req.Header.Set("Authorization", "Bearer "+kit.TokenFor(t, "alice@example.com"))
	rec := httptest.NewRecorder()
	api.RequireUser(http.HandlerFunc(profile)).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("GET /profile: status %d, want 200", rec.Code)
	}
	fmt.Print(rec.Body.String())
	// Output:
	// hello alice@example.com
}

// ExampleOutbox follows the link of a verification mail, as a user who
// registered would.
func ExampleOutbox() {
	t := newExampleT()
	defer t.finish()

	kit := authkittest.New(t)
	_, err := kit.Auth.Register(t.Context(), authkit.Registration{Email: "bob@example.com", Password: "lilac-gravel-55-comet"}, authkit.Client{})
	if err != nil {
		t.Fatal(err)
	}
	mail := kit.Outbox.Next(t, authkit.MessageVerifyEmail)
	fmt.Println(mail.To, mail.Link == authkittest.BaseURL+"/verify-email?token="+mail.Token)
	if _, err := kit.Auth.VerifyEmail(t.Context(), mail.Token, authkit.Client{}); err != nil {
		t.Fatal(err)
	}
	u, err := kit.Store.UserByEmail(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("verified:", u.EmailVerified)
	// Output:
	// bob@example.com true
	// verified: true
}
