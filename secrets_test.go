package authkit_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestNoSecretReachesEventsLogsOrErrors runs every flow, collects every
// secret the kit handled (passwords, tokens, links, hashes) and searches
// the events, the log and the errors for them.
func TestNoSecretReachesEventsLogsOrErrors(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.MailMaxAttempts = 1 })
	var secrets []string
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	c := authkit.Client{Addr: "198.51.100.7", UserAgent: "secret-test"}
	const p1, p2, p3 = "first-Pa55word", "second-Pa55word", "third-Pa55word"
	secrets = append(secrets, p1, p2, p3, "wrong-Pa55word")

	tok, verify := k.register(t, "s@example.com", p1)
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken, verify, tok.User.PasswordHash)
	_, err := k.Register(t.Context(), authkit.Registration{Email: "s@example.com", Password: p1}, c)
	keep(err)
	_, err = k.Login(t.Context(), "s@example.com", "wrong-Pa55word", c)
	keep(err)
	_, err = k.Login(t.Context(), "nobody@example.com", "wrong-Pa55word", c)
	keep(err)
	login, err := k.Login(t.Context(), "s@example.com", p1, c)
	require.NoError(t, err)
	secrets = append(secrets, login.AccessToken, login.RefreshToken)
	ref, err := k.Refresh(t.Context(), login.RefreshToken, c)
	require.NoError(t, err)
	secrets = append(secrets, ref.AccessToken, ref.RefreshToken)
	k.clock.Advance(time.Minute)
	_, err = k.Refresh(t.Context(), login.RefreshToken, c) // reuse: ends the session
	keep(err)
	_, err = k.VerifyEmail(t.Context(), verify, c)
	keep(err)
	_, err = k.VerifyEmail(t.Context(), verify+"x", c)
	keep(err)
	keep(k.ResendVerification(t.Context(), "s@example.com", c))
	keep(k.ForgotPassword(t.Context(), "s@example.com", c))
	m := k.mail.Next(t)
	reset := testkit.TokenOf(t, m)
	secrets = append(secrets, reset, m.Text[strings.Index(m.Text, "https://"):strings.Index(m.Text, reset)+len(reset)])
	keep(k.ResetPassword(t.Context(), reset+"x", p2, c))
	keep(k.ResetPassword(t.Context(), reset, p2, c))
	keep(k.ResetPassword(t.Context(), reset, p2, c))
	k.mail.Next(t)
	again, err := k.Login(t.Context(), "s@example.com", p2, c)
	require.NoError(t, err)
	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: again.User.ID, SessionID: again.SessionID, CurrentPassword: "wrong-Pa55word", NewPassword: p3}, c)
	keep(err)
	changed, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: again.User.ID, SessionID: again.SessionID, CurrentPassword: p2, NewPassword: p3}, c)
	require.NoError(t, err)
	secrets = append(secrets, again.AccessToken, again.RefreshToken, changed.AccessToken)
	keep(k.Logout(t.Context(), again.RefreshToken, c))
	keep(k.LogoutAll(t.Context(), again.User.ID, c))
	keep(k.SetActive(t.Context(), again.User.ID, false, c))
	_, err = k.Login(t.Context(), "s@example.com", p3, c)
	keep(err)
	u, _ := k.User(t.Context(), again.User.ID)
	secrets = append(secrets, u.PasswordHash, testSecret2())
	require.NoError(t, k.Close(t.Context()))

	haystack := k.log.String() + fmt.Sprintf("%+v", k.events.list)
	for _, err := range errs {
		haystack += err.Error()
	}
	require.NotEmpty(t, k.events.list)
	require.NotEmpty(t, errs)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		assert.NotContains(t, haystack, s, "a secret leaked into events, logs or errors")
	}
	// The hook saw the whole story.
	types := k.events.types()
	for _, want := range []authkit.EventType{
		authkit.EventUserCreated, authkit.EventLoginFail, authkit.EventLoginSuccess,
		authkit.EventSessionRenewed, authkit.EventTokenReuse, authkit.EventEmailVerified,
		authkit.EventVerificationRequested, authkit.EventPasswordResetRequested,
		authkit.EventPasswordReset, authkit.EventPasswordChangeFail, authkit.EventPasswordChange,
		authkit.EventSessionEnded, authkit.EventLogoutAll, authkit.EventUserDisabled, authkit.EventTokenInvalid,
	} {
		assert.Contains(t, types, want)
	}
	ev, _ := k.events.last(authkit.EventLoginFail)
	assert.Equal(t, "198.51.100.7", ev.ClientAddr)
	assert.Equal(t, "secret-test", ev.UserAgent)
	assert.Equal(t, k.clock.Now(), ev.Time)
}

func testSecret2() string { return string(testSecret) }
