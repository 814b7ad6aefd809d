package breach_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// newAuthenticator is an Authenticator on memstore with cheap bcrypt and
// policy, its mail dropped.
func newAuthenticator(t testing.TB, policy authkit.PasswordPolicy) *authkit.Authenticator {
	t.Helper()
	a, err := authkit.New(authkit.Config{
		Store:          memstore.New(),
		Mailer:         authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:         []byte("a test secret of at least 32 bytes, not a real one"),
		BaseURL:        "https://app.example.com",
		BcryptCost:     4,
		PasswordPolicy: policy,
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}
