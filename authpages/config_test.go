package authpages_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authpages"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// TestNewRefusesABadConfig feeds New each kind of bad setting, including
// values that would break out of the stylesheet or point the pages at
// another origin.
func TestNewRefusesABadConfig(t *testing.T) {
	ok := authpages.Config{APIPrefix: "/api/auth"}
	cases := map[string]func(*authpages.Config){
		"no APIPrefix":                    func(c *authpages.Config) { c.APIPrefix = "" },
		"relative APIPrefix":              func(c *authpages.Config) { c.APIPrefix = "api/auth" },
		"APIPrefix on another host":       func(c *authpages.Config) { c.APIPrefix = "https://evil.example/api" },
		"scheme-relative APIPrefix":       func(c *authpages.Config) { c.APIPrefix = "//evil.example/api" },
		"APIPrefix with dot-dot":          func(c *authpages.Config) { c.APIPrefix = "/api/../auth" },
		"APIPrefix with a query":          func(c *authpages.Config) { c.APIPrefix = "/api/auth?x=1" },
		"APIPrefix with a quote":          func(c *authpages.Config) { c.APIPrefix = `/api/"auth` },
		"APIPrefix is the root":           func(c *authpages.Config) { c.APIPrefix = "/" },
		"relative Prefix":                 func(c *authpages.Config) { c.Prefix = "account" },
		"Prefix with a backslash":         func(c *authpages.Config) { c.Prefix = `/\evil` },
		"AppName with a newline":          func(c *authpages.Config) { c.AppName = "Ex\nample" },
		"logo on another host":            func(c *authpages.Config) { c.LogoURL = "https://evil.example/logo.png" },
		"scheme-relative logo":            func(c *authpages.Config) { c.LogoURL = "//evil.example/logo.png" },
		"javascript logo":                 func(c *authpages.Config) { c.LogoURL = "javascript:alert(1)" },
		"logo with a backslash":           func(c *authpages.Config) { c.LogoURL = `/\evil.example/logo.png` },
		"relative logo":                   func(c *authpages.Config) { c.LogoURL = "logo.png" },
		"colour ends its declaration":     func(c *authpages.Config) { c.Theme.Accent = "red; } body { display: none" },
		"colour opens a comment":          func(c *authpages.Config) { c.Theme.Text = "red /* x" },
		"colour loads a url":              func(c *authpages.Config) { c.Theme.Background = "url(/track)" },
		"colour loads an image-set":       func(c *authpages.Config) { c.Theme.Background = "image-set(x 1x)" },
		"colour with an escape":           func(c *authpages.Config) { c.Theme.Error = `\72 ed` },
		"colour with a quote":             func(c *authpages.Config) { c.Theme.Surface = `"red"` },
		"colour with a closing tag":       func(c *authpages.Config) { c.Theme.Muted = "</style>" },
		"colour with a newline":           func(c *authpages.Config) { c.Theme.Success = "red\n" },
		"colour calls expression":         func(c *authpages.Config) { c.Theme.AccentText = "expression(alert(1))" },
		"colour too long":                 func(c *authpages.Config) { c.Theme.Accent = strings.Repeat("a", 65) },
		"negative MinPasswordLength":      func(c *authpages.Config) { c.MinPasswordLength = -1 },
		"MinPasswordLength past bcrypt":   func(c *authpages.Config) { c.MinPasswordLength = authkit.MaxPasswordBytes + 1 },
		"return URL on another host":      func(c *authpages.Config) { c.ReturnURLs = []string{"https://evil.example/"} },
		"scheme-relative return URL":      func(c *authpages.Config) { c.ReturnURLs = []string{"//evil.example/"} },
		"relative return URL":             func(c *authpages.Config) { c.ReturnURLs = []string{"app/"} },
		"return URL with dot-dot":         func(c *authpages.Config) { c.ReturnURLs = []string{"/app/../admin"} },
		"return URL with a query":         func(c *authpages.Config) { c.ReturnURLs = []string{"/app?x=1"} },
		"return URL with a backslash":     func(c *authpages.Config) { c.ReturnURLs = []string{`/\evil.example`} },
		"return URL with an encoded dot":  func(c *authpages.Config) { c.ReturnURLs = []string{"/app/%2e%2e/admin"} },
		"return URL with an empty string": func(c *authpages.Config) { c.ReturnURLs = []string{""} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			change(&cfg)
			p, err := authpages.New(cfg)
			require.Error(t, err, "New with %+v", cfg)
			assert.Nil(t, p, "no Pages with an error")
			assert.True(t, errors.Is(err, authkit.ErrConfig), "errors.Is(%v, authkit.ErrConfig)", err)
			assert.True(t, strings.HasPrefix(err.Error(), "authpages: "), "error %q names the package", err)
		})
	}
}

// TestNewAcceptsAGoodConfig checks that the settings a host would use pass
// and show up where they belong.
func TestNewAcceptsAGoodConfig(t *testing.T) {
	p, err := authpages.New(authpages.Config{
		APIPrefix:         "/api/auth/",
		Prefix:            "/account-pages/",
		AppName:           "Example & Co",
		LogoURL:           "/static/logo.svg?v=2",
		MinPasswordLength: 12,
		ReturnURLs:        []string{"/app/", "/settings"},
		Theme: authpages.Theme{
			Accent:     "#2456d3",
			AccentText: "white",
			Background: "rgb(244 245 247 / 100%)",
			Surface:    "hsl(0, 0%, 100%)",
			Text:       "color-mix(in srgb, black 90%, blue)",
			Muted:      "oklch(45% 0.02 260)",
		},
	})
	require.NoError(t, err, "New")

	page := get(t, p, "/sign-up")
	require.Equal(t, http.StatusOK, page.status, "GET /sign-up")
	body := page.body
	assert.Contains(t, body, `data-api="/api/auth"`, "the API prefix, without its trailing slash")
	assert.Contains(t, body, `href="/account-pages/sign-in"`, "links carry the prefix")
	assert.Contains(t, body, `src="/static/logo.svg?v=2"`, "the logo")
	assert.Contains(t, body, "Example &amp; Co", "the app name, escaped")
	assert.Contains(t, body, `minlength="12"`, "the password rule")
	assert.Contains(t, body, "At least 12 characters.", "the password hint")

	css := get(t, p, "/assets/authpages.css")
	require.Equal(t, http.StatusOK, css.status, "GET the stylesheet")
	for _, want := range []string{
		"--ak-accent: #2456d3;", "--ak-accent-text: white;", "--ak-background: rgb(244 245 247 / 100%);",
		"--ak-surface: hsl(0, 0%, 100%);", "--ak-text: color-mix(in srgb, black 90%, blue);",
		"--ak-muted: oklch(45% 0.02 260);", "--ak-error: #b3261e;", "--ak-success: #17693a;",
	} {
		assert.Contains(t, css.body, want, "the stylesheet declares the theme (or its default)")
	}
	assert.Equal(t, "/account-pages/sign-in?return=%2Fapp%2F", p.SignInURL("/app/"), "SignInURL")
	assert.Equal(t, "/account-pages/sign-in", p.SignInURL(""), "SignInURL without a return")
}

// TestDefaults checks what a minimal Config gives.
func TestDefaults(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	page := get(t, p, "/sign-in")
	assert.Contains(t, page.body, "<title>Sign in – authkit</title>", "AppName defaults to authkit")
	assert.Contains(t, page.body, `data-min-length="8"`, "MinPasswordLength defaults to authkit's")
	assert.Contains(t, page.body, `data-max-bytes="72"`, "the bcrypt limit")
	assert.Contains(t, page.body, `data-return="/account"`, "sign-in leads to the account page")
	assert.NotContains(t, page.body, "<img", "no logo")
}

// TestPasswordRulesFromTheAuthenticator checks that pages given the
// Authenticator check its own rule, and that giving a second rule beside
// it is refused.
func TestPasswordRulesFromTheAuthenticator(t *testing.T) {
	auth, err := authkit.New(authkit.Config{Store: memstore.New(), Mailer: testkit.NewMailbox(), Secret: []byte(strings.Repeat("s", 32)), BaseURL: "https://app.example.com", MinPasswordLength: 11})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = auth.Close(t.Context()) })

	p := newPages(t, authpages.Config{APIPrefix: "/api/auth", Authenticator: auth})
	page := get(t, p, "/sign-up")
	assert.Contains(t, page.body, `minlength="11"`, "the Authenticator's rule")
	assert.Contains(t, page.body, `data-min-length="11"`, "the Authenticator's rule, for the script")

	_, err = authpages.New(authpages.Config{APIPrefix: "/api/auth", Authenticator: auth, MinPasswordLength: 8})
	assert.ErrorIs(t, err, authkit.ErrConfig, "Authenticator and MinPasswordLength both set")
}
