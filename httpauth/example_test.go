package httpauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// newExampleAuth returns an Authenticator on memstore with a fixed clock
// and a mailer that hands messages to outbox.
func newExampleAuth(outbox chan<- authkit.Message) *authkit.Authenticator {
	auth, err := authkit.New(authkit.Config{
		Store: memstore.New(),
		Mailer: authkit.MailerFunc(func(_ context.Context, m authkit.Message) error {
			outbox <- m
			return nil
		}),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com",
		BcryptCost: 4, // tests only: keep the default (12) in production
		Now:        func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	return auth
}

// post sends a JSON body and returns the status and decoded answer.
func post(client *http.Client, url, body string) (int, map[string]any) {
	res, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// Example mounts the Handler under /api/auth/ of the host's mux, which
// gives the seed design's URLs, then registers, logs in with a wrong
// password and asks for a password reset.
func Example() {
	outbox := make(chan authkit.Message, 10)
	auth := newExampleAuth(outbox)
	defer auth.Close(context.Background())

	api, err := httpauth.New(httpauth.Config{Authenticator: auth})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	status, body := post(srv.Client(), srv.URL+"/api/auth/register",
		`{"email": "user@example.com", "password": "securepass123", "display_name": "John Doe"}`)
	fmt.Println(status, body["token_type"], body["email"], body["display_name"], body["expires_in"])
	fmt.Println("mailed:", (<-outbox).Kind)

	status, body = post(srv.Client(), srv.URL+"/api/auth/login",
		`{"email": "user@example.com", "password": "wrong password"}`)
	fmt.Println(status, body["code"], body["detail"])

	status, body = post(srv.Client(), srv.URL+"/api/auth/forgot-password", `{"email": "user@example.com"}`)
	fmt.Println(status, body["message"])
	fmt.Println("mailed:", (<-outbox).Kind)
	// Output:
	// 201 bearer user@example.com John Doe 900
	// mailed: verify_email
	// 401 invalid_credentials Invalid email or password
	// 200 If an account exists, a password reset link has been sent.
	// mailed: reset_password
}

// ExampleHandler_RequireUser protects a handler of the host service: it
// runs only with a valid access token and reads the user from the request
// context.
func ExampleHandler_RequireUser() {
	outbox := make(chan authkit.Message, 10)
	auth := newExampleAuth(outbox)
	defer auth.Close(context.Background())
	api, err := httpauth.New(httpauth.Config{Authenticator: auth})
	if err != nil {
		fmt.Println(err)
		return
	}

	hello := func(w http.ResponseWriter, r *http.Request) {
		user, _ := httpauth.UserFrom(r.Context())
		fmt.Fprintf(w, "Hello, %s!", user.DisplayName)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	mux.Handle("GET /api/hello", api.RequireUser(http.HandlerFunc(hello)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	_, body := post(srv.Client(), srv.URL+"/api/auth/register",
		`{"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"}`)
	token, _ := body["access_token"].(string)

	for _, bearer := range []string{token, "", "forged"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/hello", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		text, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			var p map[string]any
			_ = json.Unmarshal(text, &p)
			fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"), p["detail"])
			continue
		}
		fmt.Println(res.StatusCode, string(text))
	}
	// Output:
	// 200 Hello, Ada!
	// 401 Bearer Authentication credentials were not provided.
	// 401 Bearer error="invalid_token" Invalid or expired token
}

// ExampleOpenAPI reads the OpenAPI document of the API, the one a Handler
// serves at openapi.json under its mount point.
func ExampleOpenAPI() {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(httpauth.OpenAPI(), &doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("OpenAPI", doc.OpenAPI, "served from", doc.Servers[0].URL)
	fmt.Println("POST /login is", doc.Paths["/login"]["post"].OperationID)
	// Output:
	// OpenAPI 3.1.0 served from .
	// POST /login is login
}
