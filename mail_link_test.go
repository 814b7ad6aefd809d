package authkit_test

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestMessagesCarryTheirLink checks that a link mail gives its link in
// Message.Link, the same as in its bodies, and that the development
// mailer logs the link as a field of its own.
func TestMessagesCarryTheirLink(t *testing.T) {
	k := newKit(t, nil)
	_, token := k.register(t, "ada@example.com", "correct horse battery staple")
	require.NoError(t, k.ForgotPassword(t.Context(), "ada@example.com", authkit.Client{}))
	reset := k.mail.Next(t, authkit.MessageResetPassword)
	assert.True(t, strings.HasPrefix(reset.Link, "https://app.example.com/reset-password?token="), "Link %q", reset.Link)
	assert.Contains(t, reset.Text, reset.Link)
	assert.Contains(t, reset.HTML, reset.Link)
	assert.NotEmpty(t, token)

	log := &testkit.LogBuffer{}
	m := authkit.LogMailer(slog.New(slog.NewTextHandler(log, nil)))
	require.NoError(t, m.Send(t.Context(), reset))
	assert.Contains(t, log.String(), "link="+strconv.Quote(reset.Link), "the link as a field of its own")
}
