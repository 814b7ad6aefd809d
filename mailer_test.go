package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

func TestMailIsRetriedWithBackoff(t *testing.T) {
	var attempts atomic.Int32
	box := newMailbox()
	flaky := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		if attempts.Add(1) < 3 {
			return errors.New("421 try again later")
		}
		return box.Send(ctx, m)
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = flaky })
	_, err := k.Register(t.Context(), authkit.Registration{Email: "retry@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "retry@example.com", box.next(t).To)
	assert.EqualValues(t, 3, attempts.Load(), "delivered on the third attempt")
}

func TestMailGivenUpIsReported(t *testing.T) {
	var attempts atomic.Int32
	down := authkit.MailerFunc(func(context.Context, authkit.Message) error {
		attempts.Add(1)
		return errors.New("connection refused")
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = down; c.MailMaxAttempts = 3 })
	_, err := k.Register(t.Context(), authkit.Registration{Email: "lost@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err, "a failing mailer never fails the request")
	require.Eventually(t, func() bool { _, ok := k.events.last(authkit.EventMailFailed); return ok }, 5*time.Second, 5*time.Millisecond)
	ev, _ := k.events.last(authkit.EventMailFailed)
	assert.Equal(t, authkit.MessageVerifyEmail, ev.Mail)
	assert.Equal(t, "lost@example.com", ev.Recipient)
	assert.Equal(t, "gave_up", ev.Reason)
	assert.EqualValues(t, 3, attempts.Load())
}

func TestCloseDrainsTheQueue(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	slow := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		sent = append(sent, m.To)
		mu.Unlock()
		return nil
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = slow; c.MailWorkers = 1 })
	for i := range 5 {
		_, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("u%d@example.com", i), Password: pw}, authkit.Client{})
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, k.Close(ctx))
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, sent, 5, "every queued message went out before Close returned")
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	stuck := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		<-ctx.Done()
		return ctx.Err()
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = stuck; c.MailWorkers = 1 })
	for i := range 3 {
		require.NoError(t, k.ForgotPassword(t.Context(), fmt.Sprintf("u%d@example.com", i), authkit.Client{}))
	}
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = k.Close(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "not delivered")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestFullQueueNeverBlocksARequest(t *testing.T) {
	release := make(chan struct{})
	blocked := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = blocked; c.MailWorkers = 1; c.MailQueueSize = 1 })
	defer close(release)
	// The verification mail holds the one worker (or the one queue slot),
	// however fast the machine.
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	start := time.Now()
	for i := range 20 {
		require.NoError(t, k.ForgotPassword(t.Context(), fmt.Sprintf("u%d@example.com", i), authkit.Client{}))
	}
	assert.Less(t, time.Since(start), time.Second)
	require.Eventually(t, func() bool {
		ev, ok := k.events.last(authkit.EventMailFailed)
		return ok && ev.Reason == "queue_full"
	}, 5*time.Second, 5*time.Millisecond)
}

func TestSlowMailDoesNotTellWhoHasAnAccount(t *testing.T) {
	box := newMailbox()
	slow := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		time.Sleep(300 * time.Millisecond)
		return box.Send(ctx, m)
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = slow })
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	box.next(t)
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		start := time.Now()
		require.NoError(t, k.ForgotPassword(t.Context(), email, authkit.Client{}))
		require.NoError(t, k.ResendVerification(t.Context(), email, authkit.Client{}))
		assert.Less(t, time.Since(start), 100*time.Millisecond, "%s answered off the mail path", email)
	}
	kinds := []authkit.MessageKind{box.next(t).Kind, box.next(t).Kind}
	assert.ElementsMatch(t, []authkit.MessageKind{authkit.MessageResetPassword, authkit.MessageVerifyEmail}, kinds, "the known account still gets its mail")
}

func TestTemplatesCanBeReplaced(t *testing.T) {
	custom, err := authkit.ParseMailTemplate(
		"Welcome to {{.AppName}}",
		"Confirm: {{.Link}} ({{.ExpiresIn}})",
		`<a href="{{.Link}}">Confirm {{.DisplayName}}</a>`)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) {
		c.AppName = "Acme"
		c.Templates = &authkit.Templates{VerifyEmail: custom}
	})
	_, err = k.Register(t.Context(), authkit.Registration{Email: "t@example.com", Password: pw, DisplayName: `<script>x</script>`}, authkit.Client{})
	require.NoError(t, err)
	m := k.mail.next(t)
	assert.Equal(t, "Welcome to Acme", m.Subject)
	assert.True(t, strings.HasPrefix(m.Text, "Confirm: https://app.example.com/verify-email?token="), m.Text)
	assert.True(t, strings.HasSuffix(m.Text, "(24 hours)"), m.Text)
	assert.Contains(t, m.HTML, "&lt;script&gt;", "HTML templates escape what they insert")
	assert.NotContains(t, m.HTML, "<script>")

	require.NoError(t, k.ForgotPassword(t.Context(), "t@example.com", authkit.Client{}))
	m = k.mail.next(t)
	assert.Equal(t, "Reset your Acme password", m.Subject, "other messages keep the defaults")
	assert.Contains(t, m.HTML, "1 hour")
}
