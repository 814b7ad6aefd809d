package authkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestCheckSessionRefusesTheTokensOfAnIdleOrExpiredSession is the Go
// API's side of Config.CheckSession (httpauth checks the HTTP side): with
// it, Authenticate refuses an access token that is itself still good
// when its session idled out or expired; without it, the same token
// passes until it expires. A session kept in use stays live.
func TestCheckSessionRefusesTheTokensOfAnIdleOrExpiredSession(t *testing.T) {
	cases := []struct {
		name   string
		change func(*authkit.Config)
		after  time.Duration
	}{
		{"idle", func(c *authkit.Config) { c.SessionIdleTimeout = 10 * time.Minute }, 11 * time.Minute},
		{"expired", func(c *authkit.Config) { c.RefreshTokenTTL = 10 * time.Minute }, 11 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, check := range []bool{true, false} {
				k := newKit(t, func(cfg *authkit.Config) {
					cfg.AccessTokenTTL = time.Hour
					cfg.CheckSession = check
					c.change(cfg)
				})
				tok, _ := k.register(t, "s@example.com", pw)
				kept, err := k.Login(t.Context(), "s@example.com", pw, authkit.Client{})
				require.NoError(t, err)
				k.clock.Advance(c.after / 2)
				kept, err = k.Refresh(t.Context(), kept.RefreshToken, authkit.Client{})
				require.NoError(t, err, "the kept session is used halfway")
				k.clock.Advance(c.after - c.after/2)

				_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
				require.NoError(t, err, "the access token itself has not expired")
				_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
				if check {
					assert.ErrorIs(t, err, authkit.ErrInvalidToken, "CheckSession: the %s session's token is refused", c.name)
				} else {
					assert.NoError(t, err, "without CheckSession the token lives until it expires")
				}
				_, _, err = k.Authenticate(t.Context(), kept.AccessToken)
				assert.NoError(t, err, "CheckSession=%v: the session kept in use is live", check)
			}
		})
	}
}
