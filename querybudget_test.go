package authkit_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// TestQueryBudget counts the Store calls, rate-limit calls included (on
// a SQL Store each is a round trip), that each flow makes on the request
// path, and fails when a change adds one or moves one: the README's
// "Query budget" table states the same figures. Mail, built beside the
// request on the kit's own goroutines, is not counted.
func TestQueryBudget(t *testing.T) {
	mem := memstore.New()
	store := faults.Wrap(mem)
	// The counting wrapper hides the memstore's watching: pass it on, so
	// that the user cache is on as it is over any Store that watches.
	w := newWatcher(mem)
	k := newKit(t, func(c *authkit.Config) { c.Store, c.Limiter, c.UserWatcher = store, store, w })
	testkit.Receive(t, w.ready, "the user cache is in use")
	ctx := faults.Mark(t.Context())
	client := authkit.Client{Addr: "192.0.2.1"}

	var login authkit.Tokens
	var resetToken string
	flows := []struct {
		name string
		run  func() error
		want []string
	}{
		{"register", func() error {
			_, err := k.Register(ctx, authkit.Registration{Email: "ada@example.com", Password: pw}, client)
			return err
		}, []string{"Allow", "CreateUser", "TOTP", "CreateSession", "UpdateUser"}},
		{"login", func() (err error) {
			login, err = k.Login(ctx, "ada@example.com", pw, client)
			return err
		}, []string{"Allow", "Peek", "Peek", "Allow", "Allow", "UserByEmail", "Reset", "TOTP", "CreateSession", "UpdateUser"}},
		{"authenticated request, cold", func() error {
			_, _, err := k.Authenticate(ctx, login.AccessToken)
			return err
		}, []string{"UserByID"}},
		{"authenticated request, warm: token and user seen before", func() error {
			_, _, err := k.Authenticate(ctx, login.AccessToken)
			return err
		}, nil},
		{"refresh", func() (err error) {
			login, err = k.Refresh(ctx, login.RefreshToken, client)
			return err
		}, []string{"Allow", "Session", "UserByID", "CreateToken", "RotateSession"}},
		{"forgot password", func() error {
			return k.ForgotPassword(ctx, "ada@example.com", client)
		}, []string{"Allow", "Allow"}},
		{"reset password", func() error {
			return k.ResetPassword(ctx, resetToken, pw+" again", client)
		}, []string{"Allow", "Token", "UserByID", "ConsumeToken", "UpdateUser", "DeleteUserTokens", "Reset", "Reset"}},
	}
	for _, f := range flows {
		if f.name == "reset password" {
			resetToken = testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
		}
		store.Arm(faults.Fault{Counts: faults.Marked})
		err := f.run()
		report := store.Disarm()
		require.NoError(t, err, f.name)
		assert.Equal(t, f.want, report.Methods, "%s: %d calls", f.name, report.Calls)
	}
}
