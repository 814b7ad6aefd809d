package authpages_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/authpages"
)

// axeScript returns the source of axe-core's axe.min.js, which
// AUTHKIT_TEST_AXE names (.ci/axe fetches it and prints its path), or
// skips the test.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AUTHKIT_TEST_AXE")
	if path == "" {
		t.Skip("AUTHKIT_TEST_AXE is not set: set it to the axe.min.js that .ci/axe fetches (export AUTHKIT_TEST_AXE=\"$(.ci/axe)\") to run the accessibility test")
	}
	src, err := os.ReadFile(path) // #nosec G304 -- a file the person running the tests names
	require.NoError(t, err, "read AUTHKIT_TEST_AXE")
	return string(src)
}

// violation is one failed axe-core rule.
type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun is the expression that runs axe on the page and reduces its
// violations to what a failure message needs.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
  return r.violations.map(function (v) {
    return {id: v.id, impact: v.impact || "", help: v.help,
            nodes: v.nodes.map(function (n) { return n.target.join(" "); })};
  });
})`

// TestPagesPassAxe opens every page, 375 CSS pixels wide as on a small
// phone, in each state a person meets (a form, its errors, a link that is
// incomplete, the signed-in account, setting up two-step sign-in with its
// QR code, the recovery codes, the dialog that confirms who it is, the
// code step of signing in), runs axe-core in it and fails on any serious
// or critical violation, and on a page wider than the screen.
func TestPagesPassAxe(t *testing.T) {
	axe := axeScript(t)
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email    = "axe@example.com"
		password = "accessible horse battery"
	)
	s.register(t, email, password)
	do(t, tab, "a phone's width", chromedp.EmulateViewport(375, 740))
	var secret string // of the authenticator app the account sets up

	check := func(t *testing.T) {
		t.Helper()
		wide := js[bool](t, tab, `document.documentElement.scrollWidth > document.documentElement.clientWidth`)
		assert.False(t, wide, "the page fits 375 pixels: nothing scrolls sideways")
		if !js[bool](t, tab, `typeof axe === "object"`) { // not yet in this document
			do(t, tab, "inject axe-core", chromedp.Evaluate[chromedp.Void](axe))
		}
		found := run(t, tab, "run axe-core", chromedp.Evaluate[[]violation](axeRun, chromedp.EvalAwaitPromise))
		var bad []string
		for _, v := range found {
			if v.Impact == "serious" || v.Impact == "critical" {
				bad = append(bad, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", ")))
			} else {
				t.Logf("axe, %s: %s (%s) at %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
			}
		}
		assert.Empty(t, bad, "serious or critical accessibility violations")
	}
	open := func(t *testing.T, path, ready string) {
		do(t, tab, "open "+path, chromedp.Navigate(s.url+path), chromedp.WaitVisible(chromedp.CSS(ready)))
	}
	submit := func(t *testing.T, form, ready string) {
		do(t, tab, "submit "+form,
			chromedp.Click(chromedp.CSS("#"+form+` button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(ready)))
	}

	steps := []struct {
		name string
		show func(t *testing.T)
	}{
		{"home", func(t *testing.T) { open(t, "/", "main") }},
		{"sign-up", func(t *testing.T) { open(t, "/sign-up", "#signup") }},
		{"sign-up with errors", func(t *testing.T) { submit(t, "signup", "#signup-email-error") }},
		{"sign-in after signing out", func(t *testing.T) { open(t, "/sign-in?notice=signed-out", "#signin") }},
		{"sign-in refused", func(t *testing.T) {
			fill(t, tab, "signin-email", email, "signin-password", "wrong horse battery")
			submit(t, "signin", "#signin-alert p")
		}},
		{"forgot-password", func(t *testing.T) { open(t, "/forgot-password", "#forgot") }},
		{"forgot-password sent", func(t *testing.T) {
			fill(t, tab, "forgot-email", email)
			submit(t, "forgot", "#forgot-status p")
		}},
		{"reset-password", func(t *testing.T) { open(t, "/reset-password?token=x", "#reset") }},
		{"reset-password without a token", func(t *testing.T) { open(t, "/reset-password", "#reset-problem a") }},
		{"verify-email", func(t *testing.T) { open(t, "/verify-email?token=x", "#verify-choices") }},
		{"verify-email without a token", func(t *testing.T) { open(t, "/verify-email", "#resend") }},
		{"not found", func(t *testing.T) { open(t, "/nope", "main") }},
		{"account", func(t *testing.T) {
			open(t, "/sign-in", "#signin")
			fill(t, tab, "signin-email", email, "signin-password", password)
			submit(t, "signin", "#account")
			do(t, tab, "wait for the devices", chromedp.WaitVisible(chromedp.CSS("#sessions li")))
		}},
		{"account, change of password refused", func(t *testing.T) {
			fill(t, tab, "password-current_password", "wrong horse battery", "password-new_password", "another horse battery", "password-confirm", "another horse battery")
			submit(t, "password", "#password-current_password-error")
		}},
		{"account, two-step set-up with its QR code", func(t *testing.T) { secret = setUpTOTP(t, tab) }},
		{"account, recovery codes", func(t *testing.T) {
			fill(t, tab, "totp-code", totpCode(t, secret, s.clock.Now()))
			submit(t, "totp", "#recovery")
		}},
		{"account, two-step sign-in on", func(t *testing.T) {
			do(t, tab, "say the codes are saved", chromedp.Click(chromedp.ID("recovery-done")), chromedp.WaitVisible(chromedp.ID("twostep-on")))
		}},
		{"account, confirm it is you", func(t *testing.T) {
			s.clock.Advance(11 * time.Minute) // the sign-in is old now
			do(t, tab, "ask for new recovery codes", chromedp.Click(chromedp.ID("twostep-new-codes")), chromedp.WaitVisible(chromedp.ID("reauth")))
		}},
		{"sign-in, code step", func(t *testing.T) {
			open(t, "/sign-in", "#signin")
			fill(t, tab, "signin-email", email, "signin-password", password)
			submit(t, "signin", "#signin-code")
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.show(t)
			check(t)
		})
	}
}
