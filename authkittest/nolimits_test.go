package authkittest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authkittest"
	"github.com/authkit/authkit/memstore"
)

// wrongLogins tries n wrong passwords on email from one address and
// returns how many were refused by a rate limit; every other answer must
// be ErrInvalidCredentials.
func wrongLogins(t *testing.T, auth *authkit.Authenticator, email string, n int) (limited int) {
	t.Helper()
	c := authkit.Client{Addr: "192.0.2.7:4711"}
	for i := range n {
		_, err := auth.Login(t.Context(), email, "not the password", c)
		var rl *authkit.RateLimitError
		switch {
		case errors.As(err, &rl):
			limited++
		case !errors.Is(err, authkit.ErrInvalidCredentials):
			t.Fatalf("Login #%d with a wrong password: %v, want ErrInvalidCredentials", i, err)
		}
	}
	return limited
}

func TestNoLimits(t *testing.T) {
	// n is beyond every default burst of the login limits (the largest,
	// LoginAddr's, is 30), so that each of them would refuse some.
	const email, password, n = "alice@example.com", "quartz-pelican-18-fog", 40
	for _, tc := range []struct {
		name       string
		limits     authkit.Limits
		wantLimits bool
	}{
		{"default limits", authkit.Limits{}, true}, // the control: the same run is limited
		{"NoLimits", authkit.NoLimits, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth, err := authkit.New(authkit.Config{
				Store: memstore.New(), Mailer: &authkittest.Outbox{}, Secret: []byte(authkittest.Secret),
				BaseURL: authkittest.BaseURL, BcryptCost: 4, Limits: tc.limits,
			})
			require.NoError(t, err, "authkit.New")
			t.Cleanup(func() { _ = auth.Close(context.Background()) })
			_, err = auth.Register(t.Context(), authkit.Registration{Email: email, Password: password}, authkit.Client{})
			require.NoError(t, err, "Register")

			limited := wrongLogins(t, auth, email, n)
			if !tc.wantLimits {
				assert.Zero(t, limited, "RateLimitErrors among %d wrong logins", n)
				_, err = auth.Login(t.Context(), email, password, authkit.Client{Addr: "192.0.2.7:4711"})
				assert.NoError(t, err, "Login with the right password after %d wrong ones", n)
			} else {
				assert.NotZero(t, limited, "RateLimitErrors among %d wrong logins", n)
			}
		})
	}
}

// New switches every limit off.
func TestKitHasNoLimits(t *testing.T) {
	kit := authkittest.New(t)
	kit.TokenFor(t, "bob@example.com")
	assert.Zero(t, wrongLogins(t, kit.Auth, "bob@example.com", 40), "RateLimitErrors from a Kit")
	for i := range 15 { // RegisterAddr's default burst is 10
		_, err := kit.Auth.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("u%d@example.com", i), Password: "tangerine-otter-92-lamp"},
			authkit.Client{Addr: "192.0.2.7:4711"})
		require.NoError(t, err, "Register #%d from one address", i)
	}
}
