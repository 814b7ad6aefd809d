package authpages_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/authkit/authkit/authpages"
)

// TestPasswordPolicyShowsUnderTheField: a password the policy refuses is
// named under the password field, in the policy's words, on sign-up and
// on reset and on a change; and the reset link still works after a
// refusal.
func TestPasswordPolicyShowsUnderTheField(t *testing.T) {
	tab := browser(t)
	s := newSite(t, authpages.Config{})
	const (
		email    = "ada@example.com"
		password = "correct horse battery"
	)

	do(t, tab, "open the sign-up page",
		chromedp.Navigate(s.url+authpages.PathSignUp),
		chromedp.WaitVisible(chromedp.ID("signup")))
	fill(t, tab, "signup-email", email, "signup-password", "password123")
	do(t, tab, "sign up with a common password", chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)))
	assert.Equal(t, "This password is too common.", text(t, tab, "#signup-password-error"), "the policy's message, under the field")
	assert.Equal(t, "true", js[string](t, tab, `document.getElementById("signup-password").getAttribute("aria-invalid")`), "the field is marked invalid")
	assert.Equal(t, "signup-password", js[string](t, tab, `document.activeElement.id`), "focus moves to the field")

	fill(t, tab, "signup-password", password)
	do(t, tab, "sign up with a good one",
		chromedp.Click(chromedp.CSS(`#signup button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("signup-done")))

	do(t, tab, "open the forgot-password page",
		chromedp.Navigate(s.url+authpages.PathForgotPassword),
		chromedp.WaitVisible(chromedp.ID("forgot")))
	fill(t, tab, "forgot-email", email)
	do(t, tab, "ask for a link", chromedp.Click(chromedp.CSS(`#forgot button[type="submit"]`)))
	link, _ := s.mail.Await(t, email, authpages.PathResetPassword)
	do(t, tab, "open the reset link",
		chromedp.Navigate(link.String()),
		chromedp.WaitVisible(chromedp.ID("reset")))
	fill(t, tab, "reset-password", "ada@example.com", "reset-confirm", "ada@example.com")
	do(t, tab, "reset to the email", chromedp.Click(chromedp.CSS(`#reset button[type="submit"]`)))
	assert.Equal(t, "The password is too similar to the email address.", text(t, tab, "#reset-password-error"), "the policy's message, under the field")

	fill(t, tab, "reset-password", "new horse battery staple", "reset-confirm", "new horse battery staple")
	do(t, tab, "reset again with the same link",
		chromedp.Click(chromedp.CSS(`#reset button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("reset-done")))

	// Change of password, on the account page.
	do(t, tab, "open the sign-in page",
		chromedp.Navigate(s.url+authpages.PathSignIn),
		chromedp.WaitVisible(chromedp.ID("signin")))
	fill(t, tab, "signin-email", email, "signin-password", "new horse battery staple")
	do(t, tab, "sign in",
		chromedp.Click(chromedp.CSS(`#signin button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("account")))
	fill(t, tab, "password-current_password", "new horse battery staple", "password-new_password", "1234567890", "password-confirm", "1234567890")
	do(t, tab, "change to a sequence",
		chromedp.Click(chromedp.CSS(`#password button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("password-new_password-error")))
	assert.Equal(t, "This password is too common.", text(t, tab, "#password-new_password-error"), "the policy's message, under the new password")
}
