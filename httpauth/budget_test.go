package httpauth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestARightPasswordGivesTheBudgetBackOverHTTP is the HTTP side of the
// rule that a right password gives back the failure budget it may: the
// strict budget of the client's network, and the budget of a known
// device. An owner who mistypes and then logs in has the whole budget
// again; without the give-back the next mistake would be throttled.
func TestARightPasswordGivesTheBudgetBackOverHTTP(t *testing.T) {
	for _, withDevice := range []bool{false, true} {
		name := map[bool]string{false: "the network's budget", true: "a known device's budget"}[withDevice]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withAuth(func(c *authkit.Config) {
				c.Limits.LoginFailures = authkit.Limit{Burst: 3, Every: time.Hour}
				c.Limits.LoginFailuresDevice = authkit.Limit{Burst: 3, Every: time.Hour}
			}))
			const owner = "owner@example.com"
			res := e.post("/register", map[string]string{"email": owner, "password": "correct horse"})
			require.Equal(t, http.StatusCreated, res.status, "POST /register: %s", res.body)
			e.mail.Next(t, authkit.MessageVerifyEmail)
			device := ""
			if withDevice {
				device = deviceToken(t, res)
			}
			login := func(password string) response {
				t.Helper()
				return e.post("/login", map[string]string{"email": owner, "password": password, "device_token": device})
			}

			for range 2 {
				assertProblem(t, login("wrong horse"), http.StatusUnauthorized, "invalid_credentials")
			}
			res = login("correct horse")
			require.Equal(t, http.StatusOK, res.status, "the right password, the budget's third unit: %s", res.body)
			for i := range 3 {
				assertProblem(t, login("wrong horse"), http.StatusUnauthorized, "invalid_credentials")
				require.False(t, t.Failed(), "mistake %d after the right password was throttled: the budget was not given back", i+1)
			}
			assertRateLimited(t, login("wrong horse"))
		})
	}
}
