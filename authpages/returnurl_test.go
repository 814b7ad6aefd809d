package authpages_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/authpages"
)

// TestReturnURLsAreNoOpenRedirect asks the sign-in page to send the user on
// to each address an attacker would try, and checks that only the allowed
// same-origin paths come through; everything else lands on the account
// page.
func TestReturnURLsAreNoOpenRedirect(t *testing.T) {
	p := newPages(t, authpages.Config{APIPrefix: "/api/auth", ReturnURLs: []string{"/app/", "/settings"}})
	const account = "/account"
	cases := []struct {
		name, raw, want string
	}{
		// Allowed.
		{"exact path", "/settings", "/settings"},
		{"prefix itself", "/app/", "/app/"},
		{"under the prefix", "/app/projects/42", "/app/projects/42"},
		{"with a query", "/app/search?q=a+b&page=2", "/app/search?q=a+b&page=2"},
		{"with a fragment", "/app/#/inbox", "/app/#/inbox"},
		{"the account page", "/account", "/account"},
		{"nothing", "", account},

		// Not on the list.
		{"another path", "/admin", account},
		{"exact entry is no prefix", "/settings/keys", account},
		{"prefix entry without its slash is a different path", "/application", account},
		{"root", "/", account},

		// Other origins.
		{"absolute URL", "https://evil.example/app/", account},
		{"http URL", "http://evil.example/", account},
		{"scheme-relative", "//evil.example/app/", account},
		{"triple slash", "///evil.example/app/", account},
		{"backslash", `/\evil.example/app/`, account},
		{"two backslashes", `\\evil.example/app/`, account},
		{"backslash later", `/app/\..\..\evil`, account},
		{"tab in scheme-relative", "/\t/evil.example/app/", account},
		{"newline in scheme-relative", "/\n/evil.example/app/", account},
		{"leading space", " /app/", account},
		{"encoded slashes", "/%2F%2Fevil.example/app/", account},
		{"encoded slash under prefix", "/app/%2F%2Fevil.example", account},
		{"encoded backslash", "/%5Cevil.example/app/", account},
		{"scheme without slashes", "https:evil.example", account},
		{"user info", "//user@evil.example/app/", account},
		{"prefix as host", "//app/", account},

		// Scripts and data.
		{"javascript", "javascript:alert(document.domain)", account},
		{"JavaScript in capitals", "JaVaScRiPt:alert(1)", account},
		{"javascript with a tab", "java\tscript:alert(1)", account},
		{"javascript after a slash-free prefix", "app/javascript:alert(1)", account},
		{"data URL", "data:text/html,<script>alert(1)</script>", account},
		{"vbscript", "vbscript:msgbox(1)", account},

		// Climbing out of the prefix.
		{"dot-dot", "/app/../admin", account},
		{"encoded dot-dot", "/app/%2e%2e/admin", account},
		{"dot segment", "/app/./x", account},
		{"double slash inside", "/app//evil.example", account},
		{"control character", "/app/\x00", account},
		{"encoded control character", "/app/%00", account},
		{"encoded newline", "/app/%0d%0aSet-Cookie:x", account},
		{"non-ASCII", "/app/ü", account},
		{"very long", "/app/" + string(make([]byte, 3000)), account},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page := get(t, p, "/sign-in?"+url.Values{"return": {c.raw}}.Encode())
			require.Equal(t, http.StatusOK, page.status, "GET /sign-in")
			got := bodyAttr(t, parse(t, page.body), "data-return")
			assert.Equal(t, c.want, got, "return=%q", c.raw)
		})
	}
}
