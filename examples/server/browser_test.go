package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/browsertest"
	"github.com/authkit/authkit/internal/testkit"
)

// browser starts a headless Chromium for the test and returns a context
// that drives one tab of it.
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx := browsertest.Tab(t)
	// A watchdog for the whole browser, which a timeout on the tab's first
	// use would bound: generous, only to turn a hang into a failure.
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*testkit.Timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestTheVerifyPageSpendsNothingUntilAPersonChooses opens mailed
// verification links in a real browser, scripts running, as a mail scanner
// that runs JavaScript would: nothing is spent until a button is clicked.
// Then "I did not sign up" undoes an account someone registered with the
// address, and "Confirm" verifies another.
func TestTheVerifyPageSpendsNothingUntilAPersonChooses(t *testing.T) {
	tab := browser(t)
	s := start(t, map[string]string{"AUTHKIT_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "authkit.db")})

	// register signs an address up, as whoever knows it might, and returns
	// the access token and the page the mailed link opens.
	register := func(email string) (access, page string) {
		t.Helper()
		status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": email, "password": "correct horse"})
		require.Equal(t, http.StatusCreated, status, "register %s: %v", email, body)
		var token string
		require.Eventually(t, func() bool {
			for _, line := range strings.Split(s.log.String(), "\n") {
				if m := verifyLink.FindStringSubmatch(line); m != nil && strings.Contains(line, "to="+email) {
					token = m[2]
				}
			}
			return token != ""
		}, testkit.Timeout, 10*time.Millisecond, "the verification mail of %s is logged", email)
		return body["access_token"].(string), s.base + "/verify-email?token=" + token
	}
	verified := func(access string) (bool, int) {
		t.Helper()
		status, me, _ := s.call(t, "GET", "/api/auth/me", access, nil)
		v, _ := me["email_verified"].(bool)
		return v, status
	}

	attacker, page := register("victim@example.com")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("verify-decline")),
	))
	shown, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("verify-question")))
	require.NoError(t, err)
	assert.Contains(t, shown, "Did you create an account")
	ok, status := verified(attacker)
	require.Equal(t, http.StatusOK, status)
	assert.False(t, ok, "opening the page, scripts and all, verified nothing")

	require.NoError(t, chromedp.Do(tab,
		chromedp.Click(chromedp.ID("verify-decline")),
		chromedp.WaitVisible(chromedp.CSS("#verify-status p")),
	))
	shown, err = chromedp.Run(tab, chromedp.Text(chromedp.CSS("#verify-status p")))
	require.NoError(t, err)
	assert.Contains(t, shown, "deleted")
	_, status = verified(attacker)
	assert.Equal(t, http.StatusUnauthorized, status, "the account someone else registered is gone, with its session")

	owner, page := register("owner@example.com")
	require.NoError(t, chromedp.Do(tab,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("verify-confirm")),
		chromedp.Click(chromedp.ID("verify-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#verify-status p")),
	))
	shown, err = chromedp.Run(tab, chromedp.Text(chromedp.CSS("#verify-status p")))
	require.NoError(t, err)
	assert.Equal(t, "Email verified successfully.", shown)
	ok, _ = verified(owner)
	assert.True(t, ok, "Confirm verified the address")
}
