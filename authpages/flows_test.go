package authpages_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/authpages"
)

// TestSignUpConfirmSignInAndSignOutEverywhere walks a new user through
// the pages in Chromium: sign up (the API's objection to a field shows
// under that field), open the mailed link, which spends nothing until
// Confirm is clicked, sign in, see the account, sign out everywhere.
func TestSignUpConfirmSignInAndSignOutEverywhere(t *testing.T) {
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email    = "ada@example.com"
		password = "correct horse battery"
	)

	do(t, tab, "open the sign-up page",
		chromedp.Navigate(s.url+authpages.PathSignUp),
		chromedp.WaitVisible(chromedp.ID("signup")))
	fill(t, tab, "signup-display_name", "Ada, see https://spam.example", "signup-email", email, "signup-password", password)
	do(t, tab, "create the account", chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)))
	assert.Equal(t, "Display name must not contain links or web addresses.", text(t, tab, "#signup-display_name-error"),
		"the API's message for the field, under the field")
	assert.Equal(t, "true", js[string](t, tab, `document.getElementById("signup-display_name").getAttribute("aria-invalid")`), "the field is marked invalid")
	assert.Equal(t, "signup-display_name", js[string](t, tab, `document.activeElement.id`), "focus moves to the field")
	assert.NotEmpty(t, text(t, tab, "#signup-alert p"), "the alert region announces the problem")

	fill(t, tab, "signup-display_name", "Ada")
	do(t, tab, "create the account again",
		chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("signup-done")))
	assert.Equal(t, email, text(t, tab, "#signup-done-email"), "the page says where the link went")
	assert.False(t, js[bool](t, tab, `document.getElementById("signup-display_name").hasAttribute("aria-invalid")`), "the corrected field is valid")

	// The mailed link opens the verify page, which asks before it spends.
	link, _ := s.mail.Await(t, email, authpages.PathVerifyEmail)
	do(t, tab, "open the verification link",
		chromedp.Navigate(link.String()),
		chromedp.WaitVisible(chromedp.ID("verify-confirm")))
	assert.NotContains(t, run(t, tab, "location", chromedp.Location()), "token=", "the token left the address bar")
	assert.False(t, s.user(t, email).EmailVerified, "opening the link, scripts and all, verified nothing")
	do(t, tab, "confirm", chromedp.Click(chromedp.ID("verify-confirm")))
	assert.Equal(t, "Email verified successfully.", text(t, tab, "#verify-status p"), "the API's answer")
	assert.True(t, s.user(t, email).EmailVerified, "Confirm verified the address")

	// Sign in and see the account.
	do(t, tab, "open the sign-in page",
		chromedp.Navigate(s.url+authpages.PathSignIn),
		chromedp.WaitVisible(chromedp.ID("signin")))
	fill(t, tab, "signin-email", email, "signin-password", password)
	do(t, tab, "sign in",
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))
	assert.Equal(t, email, text(t, tab, "#account-email"), "the account page shows the email")
	assert.Equal(t, "Ada", text(t, tab, "#account-name"), "and the name")
	assert.Equal(t, "Confirmed", text(t, tab, "#account-verified"), "and that the address is confirmed")
	live := s.sessions(t, email)
	require.Len(t, live, 2, "sign-up and sign-in each made a session")
	do(t, tab, "wait for the devices", chromedp.WaitVisible(chromedp.CSS("#sessions li .session-current:not([hidden])")))
	assert.Equal(t, len(live), js[int](t, tab, `document.querySelectorAll("#sessions li").length`), "every device is listed")
	assert.Equal(t, 0, js[int](t, tab, `localStorage.length + sessionStorage.length`), "no token is stored")
	assert.NotContains(t, js[string](t, tab, `document.cookie`), "refresh", "the refresh cookie is out of the script's reach")

	// Sign out everywhere.
	do(t, tab, "sign out everywhere",
		chromedp.Click(chromedp.ID("sign-out-everywhere")),
		chromedp.WaitVisible(chromedp.ID("signin")))
	assert.Equal(t, "You are signed out on every device.", text(t, tab, "p.notice"), "the sign-in page says so")
	assert.Empty(t, s.sessions(t, email), "no session is left")
	do(t, tab, "open the account page again",
		chromedp.Navigate(s.url+authpages.PathAccount),
		chromedp.WaitVisible(chromedp.ID("signin")))
	assert.Contains(t, run(t, tab, "location", chromedp.Location()), authpages.PathSignIn+"?return=%2Faccount",
		"signed out, the account page sends the user to sign in, and back")
}

// TestForgotResetAndSignIn resets a forgotten password through the mailed
// link; then the new password signs in and the old one does not, and the
// spent link offers a new one.
func TestForgotResetAndSignIn(t *testing.T) {
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email   = "grace@example.com"
		oldPass = "old horse battery staple"
		newPass = "new horse battery staple"
	)
	s.register(t, email, oldPass)

	do(t, tab, "open the forgot-password page",
		chromedp.Navigate(s.url+authpages.PathForgotPassword),
		chromedp.WaitVisible(chromedp.ID("forgot")))
	fill(t, tab, "forgot-email", email)
	do(t, tab, "ask for a link", chromedp.Click(chromedp.CSS(`#forgot button[type="submit"]`)))
	assert.Equal(t, "If an account exists, a password reset link has been sent.", text(t, tab, "#forgot-status p"))

	link, _ := s.mail.Await(t, email, authpages.PathResetPassword)
	do(t, tab, "open the reset link",
		chromedp.Navigate(link.String()),
		chromedp.WaitVisible(chromedp.ID("reset")))
	assert.NotContains(t, run(t, tab, "location", chromedp.Location()), "token=", "the token left the address bar")

	fill(t, tab, "reset-password", newPass, "reset-confirm", newPass+"!")
	do(t, tab, "set a password that was mistyped", chromedp.Click(chromedp.CSS(`#reset button[type="submit"]`)))
	assert.Equal(t, "The two passwords do not match.", text(t, tab, "#reset-confirm-error"), "the mistake, under its field")
	assert.Equal(t, "reset-confirm", js[string](t, tab, `document.activeElement.id`), "focus moves to the field")
	fill(t, tab, "reset-confirm", newPass)
	do(t, tab, "set the new password",
		chromedp.Click(chromedp.CSS(`#reset button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("reset-done")))

	// The old password no longer signs in; the page offers a reset.
	do(t, tab, "open the sign-in page",
		chromedp.Navigate(s.url+authpages.PathSignIn),
		chromedp.WaitVisible(chromedp.ID("signin")))
	fill(t, tab, "signin-email", email, "signin-password", oldPass)
	do(t, tab, "sign in with the old password", chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)))
	assert.Equal(t, "Invalid email or password", text(t, tab, "#signin-alert p"), "the old password is refused")
	assert.Equal(t, "Reset your password", text(t, tab, `#signin-alert a[href="/forgot-password"]`), "with a way to recover")

	fill(t, tab, "signin-password", newPass)
	do(t, tab, "sign in with the new password",
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))
	assert.Equal(t, email, text(t, tab, "#account-email"), "signed in with the new password")

	// The link was spent: opened again, it says so and offers a new one.
	do(t, tab, "open the spent link",
		chromedp.Navigate(link.String()),
		chromedp.WaitVisible(chromedp.ID("reset")))
	fill(t, tab, "reset-password", "a third horse battery", "reset-confirm", "a third horse battery")
	do(t, tab, "use the spent link", chromedp.Click(chromedp.CSS(`#reset button[type="submit"]`)))
	assert.Equal(t, "Invalid or expired reset token", text(t, tab, "#reset-problem p"), "a spent link is refused")
	assert.Equal(t, "Request a new link", text(t, tab, `#reset-problem a[href="/forgot-password"]`), "with a way to recover")
}
