package authkit_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

const pw = "securepass123"

func TestNewRefusesBadConfig(t *testing.T) {
	good := func() authkit.Config {
		return authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", BcryptCost: 4}
	}
	cases := map[string]func(*authkit.Config){
		"no store":            func(c *authkit.Config) { c.Store = nil },
		"no mailer":           func(c *authkit.Config) { c.Mailer = nil },
		"short secret":        func(c *authkit.Config) { c.Secret = []byte("too short") },
		"no secret":           func(c *authkit.Config) { c.Secret = nil },
		"negative access ttl": func(c *authkit.Config) { c.AccessTokenTTL = -time.Second },
		"negative reset ttl":  func(c *authkit.Config) { c.ResetTTL = -time.Second },
		"negative workers":    func(c *authkit.Config) { c.MailWorkers = -1 },
		"no base url":         func(c *authkit.Config) { c.BaseURL = "" },
		"relative base url":   func(c *authkit.Config) { c.BaseURL = "/app" },
		"ftp base url":        func(c *authkit.Config) { c.BaseURL = "ftp://x.example" },
		"bcrypt cost 3":       func(c *authkit.Config) { c.BcryptCost = 3 },
		"bcrypt cost 32":      func(c *authkit.Config) { c.BcryptCost = 32 },
		"min length over 72":  func(c *authkit.Config) { c.MinPasswordLength = 73 },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			change(&cfg)
			a, err := authkit.New(cfg)
			assert.Nil(t, a)
			assert.ErrorIs(t, err, authkit.ErrConfig, "New(%s)", name)
		})
	}
	a, err := authkit.New(good())
	require.NoError(t, err, "New with a good config")
	require.NoError(t, a.Close(t.Context()))
}

func ptr[T any](v T) *T { return &v }

func TestOneTimeTokensAreRandomAndStoredHashed(t *testing.T) {
	k := newKit(t, nil)
	_, verify := k.register(t, "v@example.com", pw)
	raw, err := base64.RawURLEncoding.DecodeString(verify)
	require.NoError(t, err, "token is base64url without padding")
	assert.Len(t, raw, 32, "256 bits")

	sum := sha256.Sum256([]byte(verify))
	stored, err := k.store.Token(t.Context(), hex.EncodeToString(sum[:]))
	require.NoError(t, err, "the store holds the SHA-256 of the token")
	assert.Equal(t, authkit.PurposeVerifyEmail, stored.Purpose)
	_, err = k.store.Token(t.Context(), verify)
	assert.ErrorIs(t, err, authkit.ErrNotFound, "the token itself is never stored")
	assert.Equal(t, 24*time.Hour, stored.ExpiresAt.Sub(stored.CreatedAt), "verification lives 24 h by default")

	_, verify2 := k.register(t, "w@example.com", pw)
	assert.NotEqual(t, verify, verify2)
}

func TestDisablingAUserEndsEverything(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "d@example.com", pw)
	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, false, authkit.Client{}))
	_, err := k.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.Error(t, err)
	_, err = k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)

	require.NoError(t, k.SetActive(t.Context(), tok.User.ID, true, authkit.Client{}))
	_, err = k.Login(t.Context(), "d@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "enabled again")
	assert.ErrorIs(t, k.SetActive(t.Context(), "no-such-user", false, authkit.Client{}), authkit.ErrNotFound)
}

func TestUserJSONLeavesOutThePasswordHash(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "j@example.com", pw)
	require.NotEmpty(t, tok.User.PasswordHash)
	b, err := json.Marshal(tok.User)
	require.NoError(t, err)
	assert.NotContains(t, string(b), tok.User.PasswordHash)
	assert.NotContains(t, string(b), "PasswordHash")
	assert.Contains(t, string(b), "j@example.com")
}

func TestMailFlowsNormalizeTheEmail(t *testing.T) {
	k := newKit(t, nil)
	k.register(t, "norm@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "  NORM@Example.COM\t", authkit.Client{}))
	msg := k.mail.Next(t)
	assert.Equal(t, authkit.MessageResetPassword, msg.Kind, "a padded, mixed-case email finds the account")
	assert.Equal(t, "norm@example.com", msg.To)
	require.NoError(t, k.ResendVerification(t.Context(), " Norm@EXAMPLE.com ", authkit.Client{}))
	msg = k.mail.Next(t)
	assert.Equal(t, authkit.MessageVerifyEmail, msg.Kind)
	assert.Equal(t, "norm@example.com", msg.To)
}
