package authpages_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authpages"
)

// totpCode is the code an authenticator app holding secret shows at at.
func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	require.NoError(t, err, "totp.GenerateCode")
	return code
}

// setUpTOTP starts setting up an authenticator app on the account page
// shown in tab, waits for the QR code to load, and returns the key the
// page shows for typing.
func setUpTOTP(t testing.TB, tab context.Context) string {
	t.Helper()
	do(t, tab, "set up two-step sign-in",
		chromedp.Click(chromedp.ID("twostep-start")),
		chromedp.WaitVisible(chromedp.ID("totp")),
		chromedp.Poll[chromedp.Void](`document.getElementById("totp-qr").naturalWidth > 0`))
	secret := strings.ReplaceAll(text(t, tab, "#totp-secret"), " ", "")
	require.Regexp(t, `^[A-Z2-7]{32}$`, secret, "the page shows the key in base32, for typing")
	return secret
}

// TestTwoStepSignIn sets up an authenticator app on the account page, with
// codes computed from the key the page shows, as an app would; then
// signing in asks for a code after the password, on the same page, and
// takes one of the app's codes, and then a recovery code. A sign-in grown
// old confirms who it is, password and code, before new recovery codes;
// and the factor can be turned off.
func TestTwoStepSignIn(t *testing.T) {
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email    = "hedy@example.com"
		password = "frequency hopping horse"
	)
	s.register(t, email, password)
	signInWithPassword := func(ready string) {
		t.Helper()
		do(t, tab, "open the sign-in page",
			chromedp.Navigate(s.url+authpages.PathSignIn),
			chromedp.WaitVisible(chromedp.ID("signin")))
		fill(t, tab, "signin-email", email, "signin-password", password)
		do(t, tab, "sign in with the password",
			chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.ID(ready)))
	}
	activeID := func() string { return js[string](t, tab, `document.activeElement.id`) }

	// Signed in with the password alone, set up an authenticator app.
	signInWithPassword("account")
	do(t, tab, "wait for two-step sign-in", chromedp.WaitVisible(chromedp.ID("twostep-start")))
	secret := setUpTOTP(t, tab)
	assert.Equal(t, "totp-title", activeID(), "focus moves to the set-up")
	assert.NotEmpty(t, js[string](t, tab, `document.getElementById("totp-qr").alt`), "the QR code has a text alternative")
	fill(t, tab, "totp-code", totpCode(t, secret, s.clock.Now()))
	do(t, tab, "turn two-step sign-in on",
		chromedp.Click(chromedp.CSS(`#totp button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("recovery")))
	codes := js[[]string](t, tab, `Array.from(document.querySelectorAll("#recovery-codes li"), function (li) { return li.textContent; })`)
	require.Len(t, codes, 10, "the page shows the ten recovery codes")
	for _, c := range codes {
		assert.Regexp(t, `^[a-z2-7]{6}-[a-z2-7]{6}$`, c, "a recovery code as the API gave it")
	}
	assert.Equal(t, "recovery-title", activeID(), "focus moves to the recovery codes")
	assert.Empty(t, js[string](t, tab, `document.getElementById("totp-secret").textContent + (document.getElementById("totp-qr").getAttribute("src") || "")`),
		"the key left the page")
	do(t, tab, "say the codes are saved",
		chromedp.Click(chromedp.ID("recovery-done")),
		chromedp.WaitVisible(chromedp.ID("twostep-on")))
	assert.Equal(t, "10", text(t, tab, "#twostep-left"), "ten recovery codes left")
	assert.Zero(t, js[int](t, tab, `document.querySelectorAll("#recovery-codes li").length`), "the codes left the page")

	// Signing in now asks for a code once the password is right.
	do(t, tab, "sign out",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("signin")))
	signInWithPassword("signin-code")
	assert.Equal(t, "signin-code-code", activeID(), "focus moves to the code")
	assert.Equal(t, "Your password is right. Now enter the code from your authenticator app.", text(t, tab, "#signin-code-status p"),
		"the code step is announced")
	assert.False(t, js[bool](t, tab, `document.getElementById("signin").checkVisibility()`), "the password step is gone")
	assert.Empty(t, js[string](t, tab, `document.getElementById("signin-password").value`), "and the password left the page")

	const wrong = "zzzzzz-zzzzzz"
	require.NotContains(t, codes, wrong)
	fill(t, tab, "signin-code-code", wrong)
	do(t, tab, "enter a wrong code", chromedp.Click(chromedp.CSS(`#signin-code button[type="submit"]`)))
	assert.Equal(t, "That code is not right. Enter the code your app shows now, or a recovery code you have not used.",
		text(t, tab, "#signin-code-code-error"), "a wrong code, in the page's words, under the field")
	assert.Equal(t, "true", js[string](t, tab, `document.getElementById("signin-code-code").getAttribute("aria-invalid")`), "the field is marked invalid")

	// The set-up spent the app's code of its 30-second period: a phone a
	// period later shows the next one.
	s.clock.Advance(30 * time.Second)
	fill(t, tab, "signin-code-code", totpCode(t, secret, s.clock.Now()))
	do(t, tab, "enter the app's code",
		chromedp.Click(chromedp.CSS(`#signin-code button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))
	live := s.sessions(t, email)
	require.Len(t, live, 2, "the session of registering, and this one: the last one was signed out")
	newest := slices.MaxFunc(live, func(a, b authkit.Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	assert.Equal(t, []string{"pwd", "otp", "mfa"}, newest.AuthMethods, "the session knows it took two factors")

	// A recovery code signs in too, typed with a keyboard that has letters.
	do(t, tab, "sign out",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("signin")))
	signInWithPassword("signin-code")
	assert.Equal(t, "numeric", js[string](t, tab, `document.getElementById("signin-code-code").inputMode`), "a phone shows digits for the app's code")
	do(t, tab, "choose a recovery code", chromedp.Click(chromedp.CSS(`button[data-recovery="signin-code-code"]`)))
	assert.Equal(t, "text", js[string](t, tab, `document.getElementById("signin-code-code").inputMode`), "and letters for a recovery code")
	assert.Equal(t, "signin-code-code", activeID(), "focus stays on the code")
	fill(t, tab, "signin-code-code", codes[0])
	do(t, tab, "enter a recovery code",
		chromedp.Click(chromedp.CSS(`#signin-code button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))
	assert.Equal(t, "9", text(t, tab, "#twostep-left"), "the recovery code was spent")

	// Eleven minutes on, new recovery codes need the password and a code.
	s.clock.Advance(11 * time.Minute)
	do(t, tab, "ask for new recovery codes",
		chromedp.Click(chromedp.ID("twostep-new-codes")),
		chromedp.WaitVisible(chromedp.ID("reauth")))
	assert.Equal(t, "reauth-password", activeID(), "focus moves to the password")
	fill(t, tab, "reauth-password", password, "reauth-code", totpCode(t, secret, s.clock.Now()))
	do(t, tab, "confirm it is me",
		chromedp.Click(chromedp.CSS(`#reauth button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("recovery")))
	assert.False(t, js[bool](t, tab, `document.getElementById("reauth-dialog").open`), "the dialog closed")
	assert.Empty(t, js[string](t, tab, `document.getElementById("reauth-password").value`), "and forgot the password")
	fresh := js[[]string](t, tab, `Array.from(document.querySelectorAll("#recovery-codes li"), function (li) { return li.textContent; })`)
	require.Len(t, fresh, 10, "ten new recovery codes")
	assert.NotContains(t, fresh, codes[1], "a new set")
	do(t, tab, "say the codes are saved",
		chromedp.Click(chromedp.ID("recovery-done")),
		chromedp.WaitVisible(chromedp.ID("twostep-on")))

	// The confirmation holds for the next change: turning it off.
	do(t, tab, "turn two-step sign-in off",
		chromedp.Click(chromedp.ID("twostep-disable")),
		chromedp.Click(chromedp.ID("twostep-disable-yes")),
		chromedp.WaitVisible(chromedp.ID("twostep-off")))
	assert.Equal(t, "Two-step sign-in is off.", text(t, tab, "#twostep-status p"), "the page says so")
	status, err := s.auth.SecondFactor(t.Context(), s.user(t, email).ID)
	require.NoError(t, err, "SecondFactor")
	assert.False(t, status.TOTP, "the factor is gone")
}
