package authpages_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/authkit/authkit/authpages"
)

// pagePaths are the paths of every page, with the page's data-page.
var pagePaths = map[string]string{
	"/":                "home",
	"/sign-up":         "sign-up",
	"/sign-in":         "sign-in",
	"/forgot-password": "forgot-password",
	"/reset-password":  "reset-password",
	"/verify-email":    "verify-email",
	"/account":         "account",
}

// TestEveryPageIsSafeByConstruction renders each page and checks its
// headers and its markup: the strict policy, no inline script or style
// for it to block, nothing from another origin, and forms that do not
// fall back to sending passwords in a URL.
func TestEveryPageIsSafeByConstruction(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth", LogoURL: "/logo.svg"})
	for path, name := range pagePaths {
		t.Run(name, func(t *testing.T) {
			page := get(t, p, path)
			require.Equal(t, http.StatusOK, page.status, "GET %s", path)
			assert.Equal(t, authpages.ContentSecurityPolicy, page.header.Get("Content-Security-Policy"), "CSP of %s", path)
			assert.Equal(t, "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
				page.header.Get("Content-Security-Policy"), "the policy the issue asks for")
			assert.Equal(t, "nosniff", page.header.Get("X-Content-Type-Options"), "nosniff on %s", path)
			assert.Equal(t, "no-referrer", page.header.Get("Referrer-Policy"), "Referrer-Policy of %s", path)
			assert.Equal(t, "no-store", page.header.Get("Cache-Control"), "Cache-Control of %s", path)
			assert.Equal(t, "DENY", page.header.Get("X-Frame-Options"), "X-Frame-Options of %s", path)
			assert.Equal(t, "text/html; charset=utf-8", page.header.Get("Content-Type"), "Content-Type of %s", path)

			doc := parse(t, page.body)
			assert.Equal(t, name, bodyAttr(t, doc, "data-page"), "data-page")
			assert.Equal(t, "/api/auth", bodyAttr(t, doc, "data-api"), "data-api")
			roots := elements(doc, func(e *html.Node) bool { return e.Data == "html" })
			require.Len(t, roots, 1)
			lang, _ := attr(roots[0], "lang")
			assert.Equal(t, "en", lang, "the document's language")
			assert.Len(t, elements(doc, func(e *html.Node) bool { return e.Data == "h1" }), 1, "one h1")
			assert.Len(t, elements(doc, func(e *html.Node) bool { return e.Data == "main" }), 1, "one main")

			scripts := elements(doc, func(e *html.Node) bool { return e.Data == "script" })
			require.Len(t, scripts, 1, "one script")
			src, ok := attr(scripts[0], "src")
			require.True(t, ok, "the script is external")
			assert.Nil(t, scripts[0].FirstChild, "the script element holds no code")
			assert.Regexp(t, `^/assets/authpages\.js\?v=[0-9a-f]{16}$`, src, "the script is our own")
			sheets := elements(doc, func(e *html.Node) bool { return e.Data == "link" })
			require.Len(t, sheets, 1, "one stylesheet")
			href, _ := attr(sheets[0], "href")
			assert.Regexp(t, `^/assets/authpages\.css\?v=[0-9a-f]{16}$`, href, "the stylesheet is our own")
			assert.Empty(t, elements(doc, func(e *html.Node) bool { return e.Data == "style" }), "no style element")

			ids := map[string]bool{}
			walk(doc, func(e *html.Node) {
				for _, a := range e.Attr {
					assert.False(t, strings.HasPrefix(a.Key, "on"), "no inline handler: <%s %s>", e.Data, a.Key)
					assert.NotEqual(t, "style", a.Key, "no style attribute: <%s>", e.Data)
					if a.Key == "href" || a.Key == "src" || a.Key == "action" {
						assert.True(t, strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "//"), "<%s %s=%q> stays on the origin", e.Data, a.Key, a.Val)
					}
				}
				if id, ok := attr(e, "id"); ok {
					assert.False(t, ids[id], "id %q is unique", id)
					ids[id] = true
				}
			})
			for _, form := range elements(doc, func(e *html.Node) bool { return e.Data == "form" }) {
				method, _ := attr(form, "method")
				assert.Equal(t, "post", method, "a form never puts its fields in a URL, even without script")
				_, hidden := attr(form, "hidden")
				id, _ := attr(form, "id")
				assert.True(t, hidden || name == "account", "form %s waits for the script (or its page does)", id)
			}
		})
	}
}

// TestFieldsAreLabelledAndDescribed checks every input: a label, the
// autocomplete token password managers expect, and an error element that
// aria-describedby ties to it.
func TestFieldsAreLabelledAndDescribed(t *testing.T) {
	want := map[string]map[string]string{ // page → input id → autocomplete
		"/sign-in":         {"signin-email": "username", "signin-password": "current-password", "signin-code-code": "one-time-code"},
		"/sign-up":         {"signup-display_name": "name", "signup-email": "email", "signup-password": "new-password"},
		"/forgot-password": {"forgot-email": "email"},
		"/reset-password":  {"reset-password": "new-password", "reset-confirm": "new-password"},
		"/verify-email":    {"resend-email": "email"},
		"/account": {
			"password-username": "username", "password-current_password": "current-password",
			"password-new_password": "new-password", "password-confirm": "new-password",
			"totp-code": "one-time-code", "reauth-username": "username", "reauth-password": "current-password", "reauth-code": "one-time-code",
		},
	}
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	for path, inputs := range want {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			doc := parse(t, get(t, p, path).body)
			found := elements(doc, func(e *html.Node) bool { return e.Data == "input" })
			assert.Len(t, found, len(inputs), "inputs of %s", path)
			labels := map[string]bool{}
			for _, l := range elements(doc, func(e *html.Node) bool { return e.Data == "label" }) {
				if f, ok := attr(l, "for"); ok {
					labels[f] = true
				}
			}
			for _, in := range found {
				id, _ := attr(in, "id")
				ac, _ := attr(in, "autocomplete")
				assert.Equal(t, inputs[id], ac, "autocomplete of #%s", id)
				name, _ := attr(in, "name")
				assert.NotEmpty(t, name, "#%s has a name", id)
				if _, hidden := attr(in, "hidden"); hidden {
					continue // the username a password manager files the new password under
				}
				assert.True(t, labels[id], "#%s has a label", id)
				described, _ := attr(in, "aria-describedby")
				assert.Contains(t, strings.Fields(described), id+"-error", "#%s is described by its error", id)
				for _, ref := range strings.Fields(described) {
					assert.NotNil(t, byID(doc, ref), "#%s is described by #%s, which exists", id, ref)
				}
				if _, rule := attr(in, "data-new-password"); rule {
					assert.Contains(t, described, id+"-hint", "#%s says the password rule", id)
				}
				if ac == "one-time-code" {
					// Digits on a phone's keyboard, but no pattern: a
					// recovery code such as abcdef-ghijk2 goes here too.
					mode, _ := attr(in, "inputmode")
					assert.Equal(t, "numeric", mode, "#%s offers digits", id)
					_, pattern := attr(in, "pattern")
					assert.False(t, pattern, "#%s takes recovery codes too", id)
					assert.Contains(t, described, id+"-hint", "#%s says what codes it takes", id)
				}
			}
			for _, form := range elements(doc, func(e *html.Node) bool { return e.Data == "form" }) {
				id, _ := attr(form, "id")
				alert := byID(doc, id+"-alert")
				require.NotNil(t, alert, "form %s has an alert region", id)
				role, _ := attr(alert, "role")
				assert.Equal(t, "alert", role, "#%s-alert is announced", id)
			}
		})
	}
}

// TestTokenPagesDoNotEchoTheToken opens the pages of emailed links as a
// mail scanner would: the token is not in the page (the script reads it
// from the address bar), and the page says not to cache it nor send it
// on.
func TestTokenPagesDoNotEchoTheToken(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	const token = "c2VjcmV0LXRva2VuLXRoYXQtbXVzdC1ub3QtbGVhaw"
	for _, path := range []string{"/reset-password", "/verify-email"} {
		page := get(t, p, path+"?token="+token)
		require.Equal(t, http.StatusOK, page.status, "GET %s", path)
		assert.NotContains(t, page.body, token, "%s does not echo the token", path)
		assert.Equal(t, "no-store", page.header.Get("Cache-Control"), "%s is not cached", path)
		assert.Equal(t, "no-referrer", page.header.Get("Referrer-Policy"), "%s sends no referrer", path)
		assert.Contains(t, page.body, `<meta name="referrer" content="no-referrer">`, "%s says so in the page too", path)
	}
	verify := parse(t, get(t, p, "/verify-email?token="+token).body)
	assert.NotNil(t, byID(verify, "verify-confirm"), "an explicit Confirm")
	assert.NotNil(t, byID(verify, "verify-decline"), "an explicit I did not sign up")
}

// TestSignInNoticesAreFixedTexts checks that the notice parameter picks one
// of the pages' own messages and never puts URL text in the page.
func TestSignInNoticesAreFixedTexts(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	assert.Contains(t, get(t, p, "/sign-in?notice=signed-out").body, "You are signed out.")
	assert.Contains(t, get(t, p, "/sign-in?notice=signed-out-everywhere").body, "You are signed out on every device.")
	assert.Contains(t, get(t, p, "/sign-in?notice=session-ended").body, "Your session has ended.")
	page := get(t, p, "/sign-in?notice=Your+account+is+locked%2C+call+555")
	assert.NotContains(t, page.body, "locked", "an unknown notice shows nothing")
	assert.NotContains(t, page.body, `<p class="notice" role="status">`, "an unknown notice shows nothing")
}

// TestAssets checks the stylesheet and the script: types, versions,
// revalidation, and the same headers as the pages.
func TestAssets(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	doc := parse(t, get(t, p, "/sign-in").body)
	for _, c := range []struct{ tag, attr, contentType, contains string }{
		{"link", "href", "text/css; charset=utf-8", "--ak-accent:"},
		{"script", "src", "text/javascript; charset=utf-8", `"use strict"`},
	} {
		el := elements(doc, func(e *html.Node) bool { return e.Data == c.tag })
		require.Len(t, el, 1)
		url, _ := attr(el[0], c.attr)
		a := get(t, p, url)
		require.Equal(t, http.StatusOK, a.status, "GET %s", url)
		assert.Equal(t, c.contentType, a.header.Get("Content-Type"), "Content-Type of %s", url)
		assert.Equal(t, "nosniff", a.header.Get("X-Content-Type-Options"), "nosniff on %s", url)
		assert.Equal(t, authpages.ContentSecurityPolicy, a.header.Get("Content-Security-Policy"), "CSP on %s", url)
		assert.Contains(t, a.body, c.contains, "%s", url)
		etag := a.header.Get("ETag")
		require.NotEmpty(t, etag, "ETag of %s", url)
		assert.Contains(t, url, strings.Trim(etag, `"`), "the URL carries the version")

		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
		r.Header.Set("If-None-Match", etag)
		assert.Equal(t, http.StatusNotModified, serve(t, p, r).status, "a current copy is not sent again")
	}
}

// TestTheScriptKeepsTokensInMemory reads the script for what it must never
// do: store tokens where other scripts or a later visitor find them, or
// turn text into markup.
func TestTheScriptKeepsTokensInMemory(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	js := get(t, p, "/assets/authpages.js").body
	// The code, without its comments (which name what it never does).
	var code strings.Builder
	for line := range strings.Lines(js) {
		if !strings.HasPrefix(strings.TrimSpace(line), "//") {
			code.WriteString(line)
		}
	}
	for _, banned := range []string{"localStorage", "sessionStorage", "indexedDB", "document.cookie", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "credentials: \"include\""} {
		assert.False(t, strings.Contains(code.String(), banned), "the script does not use %s", banned)
	}
	assert.Contains(t, js, `credentials: "same-origin"`, "fetches stay on the origin")
	assert.Contains(t, js, `"Content-Type"] = "application/json"`, "bodies are JSON")
	assert.Contains(t, js, `history.replaceState`, "tokens leave the address bar")
	assert.Regexp(t, regexp.MustCompile(`"Authorization"\] = "Bearer " \+ accessToken`), js, "the access token goes in a header")
}

// TestRouting checks the answers outside the pages: 404 pages for unknown
// and unclean paths (a redirect to the clean path would leave the mount),
// 405 for other methods.
func TestRouting(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth"})
	for _, path := range []string{"/nope", "/sign-in/", "/assets/", "/assets/other.js", "/sign-in/../account", "//sign-in", "/templates/layout.html"} {
		page := get(t, p, path)
		assert.Equal(t, http.StatusNotFound, page.status, "GET %s", path)
		assert.Equal(t, authpages.ContentSecurityPolicy, page.header.Get("Content-Security-Policy"), "CSP of the 404 of %s", path)
		assert.Contains(t, page.body, "Page not found", "the 404 page for %s", path)
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/sign-in", strings.NewReader("email=a&password=b"))
	a := serve(t, p, r)
	assert.Equal(t, http.StatusMethodNotAllowed, a.status, "POST /sign-in")
	assert.Equal(t, authpages.ContentSecurityPolicy, a.header.Get("Content-Security-Policy"), "CSP of the 405")
	head := serve(t, p, httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/sign-in", nil))
	assert.Equal(t, http.StatusOK, head.status, "HEAD /sign-in")
}

// TestPrefix mounts the pages under a prefix, as a host would.
func TestPrefix(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth", Prefix: "/auth"})
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", p))
	page := get(t, mux, "/auth/sign-in?return=/auth/account")
	require.Equal(t, http.StatusOK, page.status, "GET /auth/sign-in")
	doc := parse(t, page.body)
	assert.Equal(t, "/auth/account", bodyAttr(t, doc, "data-return"), "the account page under the prefix")
	assert.Equal(t, "/auth/sign-in", bodyAttr(t, doc, "data-signin"))
	for _, link := range elements(doc, func(e *html.Node) bool { return e.Data == "a" || e.Data == "link" || e.Data == "script" }) {
		v, ok := attr(link, "href")
		if !ok {
			v, _ = attr(link, "src")
		}
		assert.True(t, strings.HasPrefix(v, "/auth/"), "%q is under the prefix", v)
		if strings.HasPrefix(v, "/auth/assets/") {
			assert.Equal(t, http.StatusOK, get(t, mux, v).status, "GET %s", v)
		}
	}
	assert.Equal(t, http.StatusOK, get(t, mux, "/auth/").status, "the landing page at the prefix")
}
