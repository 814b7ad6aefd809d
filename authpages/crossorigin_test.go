package authpages_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/authpages"
	"github.com/authkit/authkit/internal/testkit"
)

// attackPage is a page of another origin that tries, with the victim's
// browser and so with the victim's cookies where the browser sends them,
// to refresh, log out, log out everywhere and change the password: with
// cross-site form posts (the classic CSRF, one with a text/plain body
// shaped as JSON), with simple fetches that need no preflight, and with
// JSON fetches that do. When every fetch has settled it writes "done" and
// what the script could read into #status.
const attackPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Win a prize</title></head>
<body>
<p id="status">running</p>
<iframe name="f-refresh" title="a"></iframe><iframe name="f-logout" title="b"></iframe>
<iframe name="f-logout-all" title="c"></iframe><iframe name="f-change" title="d"></iframe>
<form method="post" action="%[1]s/refresh" target="f-refresh" enctype="text/plain"></form>
<form method="post" action="%[1]s/logout" target="f-logout" enctype="text/plain"></form>
<form method="post" action="%[1]s/logout-all" target="f-logout-all"></form>
<form method="post" action="%[1]s/change-password" target="f-change" enctype="text/plain">
<input type="hidden" name='{"current_password": "guess", "new_password": "attacker chosen password", "x": "' value='"}'>
</form>
<script>
(async function () {
  var api = "%[1]s";
  for (var i = 0; i < document.forms.length; i++) document.forms[i].submit();
  var change = JSON.stringify({ current_password: "guess", new_password: "attacker chosen password" });
  var tries = [];
  ["/refresh", "/logout", "/logout-all", "/change-password"].forEach(function (path) {
    var body = path === "/change-password" ? change : "";
    tries.push(fetch(api + path, { method: "POST", mode: "no-cors", credentials: "include", body: body })
      .then(function () { return "opaque"; }, function () { return "error"; }));
    tries.push(fetch(api + path, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body: body })
      .then(function (r) { return "read " + r.status; }, function () { return "blocked"; }));
  });
  var results = await Promise.all(tries);
  document.getElementById("status").textContent = "done " + results.join(" ");
})();
</script>
</body></html>`

// victimState is what an attack would change on the server: the user's
// password, token version and sessions, each session's refresh secret and
// last use.
type victimState struct {
	passwordHash string
	tokenVersion int64
	sessions     map[string]string // id → refresh hash and last use
}

func stateOf(t testing.TB, s *site, email string) victimState {
	t.Helper()
	u := s.user(t, email)
	st := victimState{passwordHash: u.PasswordHash, tokenVersion: u.TokenVersion, sessions: map[string]string{}}
	for _, sess := range s.sessions(t, email) {
		st.sessions[sess.ID] = sess.RefreshHash + " " + sess.LastUsedAt.String()
	}
	return st
}

// TestAnotherOriginCannotActForTheVictim signs the victim in through the
// pages, then opens attacking pages of two other loopback origins in the
// same browser: one on another site (127.0.0.2), whose requests the
// browser sends without the SameSite=Strict refresh cookie, and one on the
// same site but another port, whose requests carry it, so that only the
// API's origin check stands in the way. Each attack reaches the server and
// fails there; the victim stays signed in and nothing changed.
func TestAnotherOriginCannotActForTheVictim(t *testing.T) {
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email    = "victim@example.com"
		password = "victim horse battery"
	)
	s.register(t, email, password)
	do(t, tab, "open the sign-in page",
		chromedp.Navigate(s.url+authpages.PathSignIn),
		chromedp.WaitVisible(chromedp.ID("signin")))
	fill(t, tab, "signin-email", email, "signin-password", password)
	do(t, tab, "sign in",
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))

	attack := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, attackPage, s.url+"/api/auth")
	})
	victimURL, err := url.Parse(s.url)
	require.NoError(t, err)
	for _, c := range []struct {
		name, listen string
		withCookie   bool // whether the browser sends the refresh cookie along
	}{
		{"another site", "127.0.0.2:0", false},
		{"same site, another port", "127.0.0.1:0", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := stateOf(t, s, email)
			origin := serveOn(t, c.listen, attack)
			require.NotEqual(t, victimURL.Host, strings.TrimPrefix(origin, "http://"), "another origin")

			do(t, tab, "open the attacking page",
				chromedp.Navigate(origin+"/"),
				chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent.startsWith("done")`,
					chromedp.WithPollingTimeout(testkit.Timeout)))
			status := text(t, tab, "#status")
			assert.NotContains(t, status, "read ", "no answer of the API was readable by the other origin: %s", status)

			// Every form post and simple fetch reached the server (4 + 4);
			// each was refused.
			var posts []seen
			require.Eventually(t, func() bool {
				posts = postsOf(s.seenFrom(origin))
				return len(posts) >= 8
			}, testkit.Timeout, 10*time.Millisecond, "the attacks reach the server")
			assert.Len(t, posts, 8, "four form posts and four simple fetches, and no JSON fetch got past its preflight")
			for _, p := range posts {
				assert.GreaterOrEqual(t, p.status, 400, "%s %s from %s was refused", p.method, p.path, origin)
				assert.Equal(t, c.withCookie, p.cookie, "%s %s from %s came with the refresh cookie: %v", p.method, p.path, origin, p.cookie)
			}

			after := stateOf(t, s, email)
			assert.Equal(t, before, after, "the password, the token version and the sessions are unchanged")

			do(t, tab, "come back to the account page",
				chromedp.Navigate(s.url+authpages.PathAccount),
				chromedp.WaitVisible(chromedp.ID("account")))
			assert.Equal(t, email, text(t, tab, "#account-email"), "the victim is still signed in")
		})
	}
}

// postsOf returns the POSTs among requests.
func postsOf(requests []seen) []seen {
	var out []seen
	for _, r := range requests {
		if r.method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}
