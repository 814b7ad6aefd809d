package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestMailIsRetriedWithBackoff(t *testing.T) {
	var attempts atomic.Int32
	box := testkit.NewMailbox()
	flaky := authkit.MailerFunc(func(ctx context.Context, m authkit.Message) error {
		if attempts.Add(1) < 3 {
			return errors.New("421 try again later")
		}
		return box.Send(ctx, m)
	})
	k := newKit(t, func(c *authkit.Config) { c.Mailer = flaky })
	_, err := k.Register(t.Context(), authkit.Registration{Email: "retry@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "retry@example.com", box.Next(t).To)
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
	require.Eventually(t, func() bool { _, ok := k.events.last(authkit.EventMailFailed); return ok }, testkit.Timeout, 5*time.Millisecond)
	ev, _ := k.events.last(authkit.EventMailFailed)
	assert.Equal(t, authkit.MessageVerifyEmail, ev.Mail)
	assert.Equal(t, "lost@example.com", ev.Recipient)
	assert.Equal(t, "gave_up", ev.Reason)
	assert.EqualValues(t, 3, attempts.Load())
}

func TestCloseDrainsTheQueue(t *testing.T) {
	box := testkit.NewMailbox()
	held := testkit.NewBlockingMailer(box)
	k := newKit(t, func(c *authkit.Config) {
		c.Mailer = held
		c.MailWorkers = 1
		c.Limits.MailAddr = authkit.Limit{Off: true}
		c.Limits.MailEmail = authkit.Limit{Off: true}
	})
	for i := range 5 {
		_, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("u%d@example.com", i), Password: pw}, authkit.Client{})
		require.NoError(t, err)
	}
	held.Entered(t) // the first message holds the one worker; four wait behind it

	closed := make(chan error, 1)
	go func() { closed <- k.Close(t.Context()) }()
	// Once Close has begun, the kit takes no more mail: a probe to an
	// unknown address (which would send nothing anyway) is refused.
	require.Eventually(t, func() bool {
		assert.NoError(t, k.ForgotPassword(t.Context(), "probe@example.com", authkit.Client{}))
		ev, ok := k.events.last(authkit.EventMailFailed)
		return ok && ev.Reason == "closed"
	}, testkit.Timeout, time.Millisecond, "Close stops taking mail")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the queue was held", err)
	default:
	}

	held.Open()
	require.NoError(t, testkit.Receive(t, closed, "Close"))
	for i := range 5 {
		assert.Equal(t, fmt.Sprintf("u%d@example.com", i), box.Next(t).To, "every queued message went out before Close returned, in order")
	}
	box.None(t)
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	box := testkit.NewMailbox()
	stuck := testkit.NewBlockingMailer(box) // never opened
	k := newKit(t, func(c *authkit.Config) { c.Mailer = stuck; c.MailWorkers = 1 })
	for i := range 3 {
		require.NoError(t, k.ForgotPassword(t.Context(), fmt.Sprintf("u%d@example.com", i), authkit.Client{}))
	}
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	stuck.Entered(t) // the verification mail is held, and will never get through

	// The worker cannot finish until Close gives up and aborts the send, so
	// a Close that waited past its context would never return.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	testkit.Finish(t, "Close with a context that ends", func() { err = k.Close(ctx) })
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "not delivered")
	assert.Zero(t, stuck.Waiting(), "the held send was aborted before Close returned")
	box.None(t)
}

func TestFullQueueNeverBlocksARequest(t *testing.T) {
	blocked := testkit.NewBlockingMailer(nil)
	k := newKit(t, func(c *authkit.Config) { c.Mailer = blocked; c.MailWorkers = 1; c.MailQueueSize = 1 })
	defer blocked.Open()
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	blocked.Entered(t) // the verification mail holds the one worker until the test ends
	// The first request fills the one queue slot; nothing leaves the queue
	// while the worker is held, so a request that waited for room would
	// never return.
	testkit.Finish(t, "requests posting to a full mail queue", func() {
		for i := range 20 {
			if !assert.NoError(t, k.ForgotPassword(t.Context(), fmt.Sprintf("u%d@example.com", i), authkit.Client{})) {
				return
			}
		}
	})
	assert.Equal(t, 1, blocked.Waiting(), "the worker was held throughout")
	require.Eventually(t, func() bool {
		k.events.mu.Lock()
		defer k.events.mu.Unlock()
		full := 0
		for _, ev := range k.events.list {
			if ev.Type == authkit.EventMailFailed && ev.Reason == "queue_full" {
				full++
			}
		}
		return full == 19
	}, testkit.Timeout, time.Millisecond, "every request after the first finds the queue full")
}

func TestSlowMailDoesNotTellWhoHasAnAccount(t *testing.T) {
	box := testkit.NewMailbox()
	slow := testkit.NewBlockingMailer(box)
	k := newKit(t, func(c *authkit.Config) { c.Mailer = slow; c.MailWorkers = 4 })
	defer slow.Open()
	_, err := k.Register(t.Context(), authkit.Registration{Email: "known@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	slow.Entered(t) // the verification mail is held
	// No mail gets through until the gate opens after these calls, so a
	// call that waited for its mail would never return.
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		testkit.Finish(t, "ForgotPassword and ResendVerification for "+email, func() {
			assert.NoError(t, k.ForgotPassword(t.Context(), email, authkit.Client{}))
			assert.NoError(t, k.ResendVerification(t.Context(), email, authkit.Client{}))
		})
	}
	// The known account's two messages reach the mailer, which still holds
	// them: they were sent off the request path, after it answered.
	slow.Entered(t)
	slow.Entered(t)
	assert.Equal(t, 3, slow.Waiting(), "every message held while the calls answered")
	slow.Open()
	require.NoError(t, k.Close(t.Context()), "Close drains the mail queue")
	var kinds []authkit.MessageKind
	for range 3 {
		m := box.Next(t)
		assert.Equal(t, "known@example.com", m.To)
		kinds = append(kinds, m.Kind)
	}
	assert.ElementsMatch(t, []authkit.MessageKind{authkit.MessageVerifyEmail, authkit.MessageResetPassword, authkit.MessageVerifyEmail}, kinds, "the known account still gets its mail")
	box.None(t)
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
	m := k.mail.Next(t)
	assert.Equal(t, "Welcome to Acme", m.Subject)
	assert.True(t, strings.HasPrefix(m.Text, "Confirm: https://app.example.com/verify-email?token="), m.Text)
	assert.True(t, strings.HasSuffix(m.Text, "(24 hours)"), m.Text)
	assert.True(t, strings.HasSuffix(m.HTML, `">Confirm </a>`), "a custom template gets no display name for an unverified address: %s", m.HTML)
	_, err = k.VerifyEmail(t.Context(), testkit.TokenOf(t, m), authkit.Client{})
	require.NoError(t, err)

	require.NoError(t, k.ForgotPassword(t.Context(), "t@example.com", authkit.Client{}))
	m = k.mail.Next(t)
	assert.Equal(t, "Reset your Acme password", m.Subject, "other messages keep the defaults")
	assert.Contains(t, m.HTML, "1 hour")
	assert.Contains(t, m.HTML, "<p>Hello &lt;script&gt;x&lt;/script&gt;,</p>", "a verified address is greeted by name, escaped in HTML")
	assert.NotContains(t, m.HTML, "<script>")
	assert.True(t, strings.HasPrefix(m.Text, "Hello <script>x</script>,\n"), "the text body greets by name: %s", m.Text)
}

// TestMailToAnUnverifiedAddressCarriesNoChosenText registers someone
// else's address with a display name written to deceive its owner. No
// mail to the address carries the name while the address is unverified:
// not the verification mail, nor a resent one, nor a reset mail, nor a
// notice. Once the owner has verified the address, mail greets them by the
// account's name.
func TestMailToAnUnverifiedAddressCarriesNoChosenText(t *testing.T) {
	const bait = "Prize Desk: reply with your code"
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("RequireVerifiedEmail=%v", required), func(t *testing.T) {
			k := newKit(t, func(c *authkit.Config) { c.RequireVerifiedEmail = required })
			reg, err := k.Register(t.Context(), authkit.Registration{Email: "victim@example.com", Password: pw, DisplayName: bait}, authkit.Client{})
			require.NoError(t, err)
			require.Equal(t, bait, reg.User.DisplayName, "the name is allowed: it holds no link")

			unverified := []authkit.Message{k.mail.Next(t, authkit.MessageVerifyEmail)}
			require.NoError(t, k.ResendVerification(t.Context(), "victim@example.com", authkit.Client{}))
			unverified = append(unverified, k.mail.Next(t, authkit.MessageVerifyEmail))
			require.NoError(t, k.ForgotPassword(t.Context(), "victim@example.com", authkit.Client{}))
			unverified = append(unverified, k.mail.Next(t, authkit.MessageResetPassword))
			if !required {
				_, err := k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: reg.User.ID, CurrentPassword: pw, NewPassword: pw + "2"}, authkit.Client{})
				require.NoError(t, err)
				unverified = append(unverified, k.mail.Next(t, authkit.MessagePasswordChanged))
			}
			for _, m := range unverified {
				for part, body := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
					assert.NotContains(t, body, "Prize", "%s %s to an unverified address", m.Kind, part)
					assert.NotContains(t, body, "reply with your code", "%s %s to an unverified address", m.Kind, part)
				}
				assert.True(t, strings.HasPrefix(m.Text, "Hello,\n"), "%s greets neutrally: %q", m.Kind, m.Text)
				assert.Contains(t, m.HTML, "<p>Hello,</p>", "%s greets neutrally", m.Kind)
			}

			_, err = k.VerifyEmail(t.Context(), testkit.TokenOf(t, unverified[1]), authkit.Client{})
			require.NoError(t, err)
			require.NoError(t, k.ForgotPassword(t.Context(), "victim@example.com", authkit.Client{}))
			m := k.mail.Next(t, authkit.MessageResetPassword)
			assert.True(t, strings.HasPrefix(m.Text, "Hello "+bait+",\n"), "a verified address is greeted by name: %q", m.Text)
		})
	}
}

// TestVerificationMailOmitsTheDisplayNameInCustomTemplates checks that a
// host's own template, which may print DisplayName anywhere, gets it empty
// for an unverified address.
func TestVerificationMailOmitsTheDisplayNameInCustomTemplates(t *testing.T) {
	custom, err := authkit.ParseMailTemplate("{{.DisplayName}} confirm", "[{{.DisplayName}}] {{.Email}} {{.Link}}", "")
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) { c.Templates = &authkit.Templates{VerifyEmail: custom} })
	_, err = k.Register(t.Context(), authkit.Registration{Email: "owner@example.com", Password: pw, DisplayName: "Your bank"}, authkit.Client{})
	require.NoError(t, err)
	m := k.mail.Next(t)
	assert.Equal(t, "confirm", m.Subject)
	assert.True(t, strings.HasPrefix(m.Text, "[] owner@example.com https://"), m.Text)
}
