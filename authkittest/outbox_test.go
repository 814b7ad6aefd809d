package authkittest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authkittest"
)

func TestOutboxVerificationMail(t *testing.T) {
	kit := authkittest.New(t)
	ctx := t.Context()
	_, err := kit.Auth.Register(ctx, authkit.Registration{Email: "alice@example.com", Password: "quartz-pelican-18-fog"}, authkit.Client{})
	require.NoError(t, err, "Register")

	mail := kit.Outbox.Next(t, authkit.MessageVerifyEmail)
	assert.Equal(t, "alice@example.com", mail.To)
	assert.True(t, strings.HasPrefix(mail.Link, authkittest.BaseURL+"/verify-email?token="), "link %q", mail.Link)
	assert.Contains(t, mail.Text, mail.Link, "the link is the one in the text body")
	require.NotEmpty(t, mail.Token)
	_, err = kit.Auth.VerifyEmail(ctx, mail.Token, authkit.Client{})
	require.NoError(t, err, "VerifyEmail(the mailed token)")
	u, err := kit.Store.UserByEmail(ctx, "alice@example.com")
	require.NoError(t, err)
	assert.True(t, u.EmailVerified)
}

// A message without a Link field gets the first link of its text body.
func TestOutboxLinkFromText(t *testing.T) {
	var o authkittest.Outbox
	require.NoError(t, o.Send(t.Context(), authkit.Message{
		Kind: authkit.MessageResetPassword, To: "a@example.com",
		Text: "Open this link:\n\nhttps://app.example.com/reset-password?token=abc123\n\nThanks.",
	}))
	mail := o.Last(t)
	assert.Equal(t, "https://app.example.com/reset-password?token=abc123", mail.Link)
	assert.Equal(t, "abc123", mail.Token)

	require.NoError(t, o.Send(t.Context(), authkit.Message{Kind: authkit.MessagePasswordChanged, Text: "Your password changed."}))
	notice := o.Last(t)
	assert.Empty(t, notice.Link, "a notice has no link")
	assert.Empty(t, notice.Token, "a notice has no token")
}

func TestOutboxNextAndLast(t *testing.T) {
	var o authkittest.Outbox
	send := func(k authkit.MessageKind, to string) {
		require.NoError(t, o.Send(t.Context(), authkit.Message{Kind: k, To: to, Text: "x"}))
	}
	send(authkit.MessageVerifyEmail, "1")
	send(authkit.MessageResetPassword, "2")
	send(authkit.MessageVerifyEmail, "3")
	send(authkit.MessagePasswordChanged, "4")

	assert.Equal(t, "1", o.Next(t, authkit.MessageVerifyEmail).To, "Next takes the oldest of its kind")
	assert.Equal(t, "4", o.Last(t).To, "Last takes the newest")
	assert.Equal(t, "3", o.Next(t, authkit.MessageVerifyEmail).To, "Next skips what it returned")
	assert.Equal(t, "2", o.Next(t, authkit.MessageResetPassword).To, "Next left the other kinds")

	var all []string
	for _, m := range o.Messages() {
		all = append(all, m.To)
	}
	assert.Equal(t, []string{"1", "2", "3", "4"}, all, "Messages keeps every message, taken or not")

	go send(authkit.MessageVerifyEmail, "5")
	assert.Equal(t, "5", o.Next(t, authkit.MessageVerifyEmail).To, "Next waits for mail to arrive")
}

// The Kit closes its Authenticator when the test ends, and Close delivers
// the queued mail: every message is in the Outbox afterwards.
func TestKitClosesAtCleanup(t *testing.T) {
	var kit *authkittest.Kit
	t.Run("register", func(t *testing.T) {
		kit = authkittest.New(t)
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			_, err := kit.Auth.Register(t.Context(), authkit.Registration{Email: email, Password: "tangerine-otter-92-lamp"}, authkit.Client{})
			require.NoError(t, err, "Register(%s)", email)
		}
	})
	assert.Len(t, kit.Outbox.Messages(), 3, "the verification mails, delivered by Close")
}
