package authpages_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authpages"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// Example mounts the pages at the root of the host's mux, beside the API
// in cookie mode at /api/auth/, and opens the sign-in page twice: once
// asked to return to an allowed path, once to another site, which it
// refuses in favour of the account page.
func Example() {
	auth, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com", // emailed links: /verify-email, /reset-password
		BcryptCost: 4,                         // tests only: keep the default (12) in production
		Now:        func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer auth.Close(context.Background())

	api, err := httpauth.New(httpauth.Config{
		Authenticator: auth,
		Cookies:       &httpauth.CookieConfig{}, // the refresh token in an HttpOnly cookie
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	pages, err := authpages.New(authpages.Config{
		APIPrefix:  "/api/auth",
		AppName:    "Example",
		ReturnURLs: []string{"/app/"},
		Theme:      authpages.Theme{Accent: "#0b6e4f"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	mux.Handle("/", pages)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	returnTo := regexp.MustCompile(`data-return="([^"]*)"`)
	for _, target := range []string{pages.SignInURL("/app/inbox"), pages.SignInURL("https://evil.example/")} {
		res, err := srv.Client().Get(srv.URL + target)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, target, "→", returnTo.FindStringSubmatch(string(body))[1])
	}
	res, err := srv.Client().Get(srv.URL + "/verify-email?token=from-the-email")
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.Header.Get("Content-Security-Policy"))
	fmt.Println(res.Header.Get("Referrer-Policy"), res.Header.Get("Cache-Control"))
	// Output:
	// 200 /sign-in?return=%2Fapp%2Finbox → /app/inbox
	// 200 /sign-in?return=https%3A%2F%2Fevil.example%2F → /account
	// default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
	// no-referrer no-store
}
