package authkit_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestAFullQueueNeverDropsASecurityNotice fills the mail queue with links
// while the one worker is held, then changes passwords: the notices are
// neither dropped nor waited for, and every one is delivered once the
// worker is free.
func TestAFullQueueNeverDropsASecurityNotice(t *testing.T) {
	box := testkit.NewMailbox()
	held := testkit.NewBlockingMailer(box)
	k := newKit(t, func(c *authkit.Config) { c.Mailer = held; c.MailWorkers = 1; c.MailQueueSize = 1 })
	defer held.Open()
	var users []authkit.Tokens
	for i := range 3 {
		reg, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("n%d@example.com", i), Password: pw}, authkit.Client{})
		require.NoError(t, err)
		users = append(users, reg.Tokens)
	}
	held.Entered(t) // the first verification mail holds the worker; the queue is full behind it

	testkit.Finish(t, "password changes while the mail queue is full", func() {
		for _, u := range users {
			_, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: u.User.ID, CurrentPassword: pw, NewPassword: "another-pass-1"}, authkit.Client{})
			assert.NoError(t, err)
		}
	})
	k.events.mu.Lock()
	for _, ev := range k.events.list {
		if ev.Type == authkit.EventMailFailed {
			assert.NotEqual(t, authkit.MessagePasswordChanged, ev.Mail, "a notice was dropped: %+v", ev)
		}
	}
	k.events.mu.Unlock()

	held.Open()
	require.NoError(t, k.Close(t.Context()), "Close delivers what is queued")
	notices := map[string]bool{}
	for range users {
		notices[box.Next(t, authkit.MessagePasswordChanged).To] = true
	}
	assert.Len(t, notices, len(users), "every user got a notice: %v", notices)
}
