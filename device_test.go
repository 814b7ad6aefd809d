package authkit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// Device credentials: what they let through, and everything that is not
// one.

var b64 = base64.RawURLEncoding

// deviceParts takes a credential apart: its payload (device id and issue
// time) and its MAC.
func deviceParts(t testing.TB, token string) (payload, mac []byte) {
	t.Helper()
	rest, ok := strings.CutPrefix(token, "v1.")
	require.True(t, ok, "a credential starts with v1.: %q", token)
	p64, m64, ok := strings.Cut(rest, ".")
	require.True(t, ok)
	payload, err := b64.DecodeString(p64)
	require.NoError(t, err)
	mac, err = b64.DecodeString(m64)
	require.NoError(t, err)
	require.Len(t, payload, 24, "16 bytes of device id and 8 of issue time")
	require.Len(t, mac, 32, "HMAC-SHA256")
	return payload, mac
}

// deviceToken puts a credential together from its parts.
func deviceToken(payload, mac []byte) string {
	return "v1." + b64.EncodeToString(payload) + "." + b64.EncodeToString(mac)
}

// spendCeiling spends the account's ceiling from as many networks as it
// takes, with the device credential given, and reports how many guesses
// were checked.
func spendCeiling(t testing.TB, k *kit, email, dev string) int {
	t.Helper()
	checked := 0
	for i := 0; ; i++ {
		require.Less(t, i, 1000, "the ceiling never refused")
		if !guessFrom(t, k, email, authkit.Client{Addr: attackerNet(i), Device: dev}) {
			return checked
		}
		checked++
	}
}

// TestNotADeviceCredentialIsIgnored shows the owner's right password with
// each kind of credential that is not good for the account, while the
// account's budgets are spent: every one is refused as if none were
// shown (the account's budgets apply, and a refusal is the same
// *RateLimitError), none is an error of its own, and the guesses that
// carried it spent the account's budgets. A genuine credential, shown
// the same way, signs in.
func TestNotADeviceCredentialIsIgnored(t *testing.T) {
	const owner = "owner@example.com"
	cases := []struct {
		name string
		// make returns the credential to show, given the owner's genuine
		// one issued at the start; advance moves the clock first.
		make    func(t *testing.T, k *kit, genuine string) string
		advance time.Duration
	}{
		{"none", func(*testing.T, *kit, string) string { return "" }, 0},
		{"garbage", func(*testing.T, *kit, string) string { return "not-a-device" }, 0},
		{"a megabyte", func(*testing.T, *kit, string) string { return strings.Repeat("A", 1<<20) }, 0},
		{"another version", func(_ *testing.T, _ *kit, g string) string { return "v2." + strings.TrimPrefix(g, "v1.") }, 0},
		{"padded", func(_ *testing.T, _ *kit, g string) string { return " " + g }, 0},
		{"base64 with padding", func(t *testing.T, _ *kit, g string) string {
			p, m := deviceParts(t, g)
			return "v1." + base64.URLEncoding.EncodeToString(p) + "." + base64.URLEncoding.EncodeToString(m)
		}, 0},
		{"a changed MAC", func(t *testing.T, _ *kit, g string) string {
			p, m := deviceParts(t, g)
			m[7] ^= 1
			return deviceToken(p, m)
		}, 0},
		{"a changed device id", func(t *testing.T, _ *kit, g string) string {
			p, m := deviceParts(t, g)
			p[0] ^= 0x80
			return deviceToken(p, m)
		}, 0},
		{"an expired one with its issue time moved to now", func(t *testing.T, k *kit, g string) string {
			p, m := deviceParts(t, g)
			binary.BigEndian.PutUint64(p[16:], uint64(k.clock.Now().Unix()))
			return deviceToken(p, m)
		}, authkit.DefaultDeviceTTL + time.Hour},
		{"issued in the future", func(t *testing.T, _ *kit, g string) string {
			p, m := deviceParts(t, g)
			binary.BigEndian.PutUint64(p[16:], binary.BigEndian.Uint64(p[16:])+365*24*3600)
			return deviceToken(p, m)
		}, 0},
		{"no MAC", func(t *testing.T, _ *kit, g string) string {
			p, _ := deviceParts(t, g)
			return "v1." + b64.EncodeToString(p) + "."
		}, 0},
		{"a MAC of the access-token secret used raw", func(t *testing.T, _ *kit, g string) string {
			p, _ := deviceParts(t, g)
			m := hmac.New(sha256.New, testSecret)
			m.Write([]byte("authkit device v1\x00" + owner + "\x00"))
			m.Write(p)
			return deviceToken(p, m.Sum(nil))
		}, 0},
		{"expired", func(_ *testing.T, _ *kit, g string) string { return g }, authkit.DefaultDeviceTTL},
		{"another account's", func(t *testing.T, k *kit, _ string) string {
			other, _ := k.register(t, "other@example.com", pw)
			return device(t, k, other)
		}, 0},
		{"another deployment's", func(t *testing.T, _ *kit, _ string) string {
			elsewhere := newKit(t, func(c *authkit.Config) {
				c.Secret = []byte("another-deployment-secret-of-32-bytes-or-more")
			})
			tok, _ := elsewhere.register(t, owner, pw)
			return device(t, elsewhere, tok)
		}, 0},
		{"the access token", func(t *testing.T, k *kit, _ string) string {
			tok, err := k.Login(t.Context(), owner, pw, authkit.Client{Addr: "192.0.2.99"})
			require.NoError(t, err)
			return tok.AccessToken
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, _ := newClockedKit(t, func(c *authkit.Config) {
				c.Limits.LoginFailuresSustained = authkit.Limit{Burst: 6, Every: time.Hour}
			})
			tok, _ := k.register(t, owner, pw)
			genuine := device(t, k, tok)
			k.clock.Advance(c.advance)
			shown := c.make(t, k, genuine)
			fresh, err := k.Login(t.Context(), owner, pw, authkit.Client{Addr: "192.0.2.1"})
			require.NoError(t, err, "the owner signs in before the attack")
			control := device(t, k, fresh)

			checked := spendCeiling(t, k, owner, shown)
			assert.LessOrEqual(t, checked, 5, "guesses that show it spend the account's ceiling")
			_, err = k.Login(t.Context(), owner, pw, authkit.Client{Addr: "203.0.113.9", Device: shown})
			wait := throttled(t, err)
			assert.Equal(t, "login_failures_sustained", lastLimit(t, k), "the account's budgets apply")
			_, err = k.Login(t.Context(), owner, pw, authkit.Client{Addr: "203.0.113.9"})
			assert.Equal(t, wait, throttled(t, err), "the same answer as with no credential")

			_, err = k.Login(t.Context(), owner, pw, authkit.Client{Addr: "203.0.113.9", Device: control})
			assert.NoError(t, err, "a genuine credential, shown the same way, signs in")
		})
	}
}

// TestAStolenDeviceCredentialIsRateLimited guesses with the owner's own
// device credential, from a new network each time, once a minute for a
// day: the device's budget holds it to 10 + 80 = 90 checks, as it would
// the owner's device, and spends nothing of the account's budgets.
func TestAStolenDeviceCredentialIsRateLimited(t *testing.T) {
	k, h := newClockedKit(t, nil)
	tok, _ := k.register(t, "owner@example.com", pw)
	stolen := device(t, k, tok)
	for i := range 10 {
		require.True(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(i), Device: stolen}), "guess %d", i+1)
	}
	assert.False(t, guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(10), Device: stolen}), "the device's burst is spent")
	assert.Equal(t, "login_failures_device", lastLimit(t, k))
	_, err := k.Login(t.Context(), "owner@example.com", pw, authkit.Client{Addr: "192.0.2.10"})
	require.NoError(t, err, "the account's budgets are untouched: the owner signs in without a device")

	for i := range 24 * 60 {
		guessFrom(t, k, "owner@example.com", authkit.Client{Addr: attackerNet(100 + i), Device: stolen})
		k.clock.Advance(time.Minute)
	}
	thief := len(h.checks()) - 1 // less the owner's login
	assert.LessOrEqual(t, thief, 10+80+1, "the first day's checks: the burst, then one per 18 minutes")
	assert.GreaterOrEqual(t, thief, 85)
	for _, ev := range k.events.list {
		assert.NotContains(t, fmt.Sprint(ev), stolen, "events never carry the credential")
	}
}

// TestAKnownDeviceChangesThePasswordUnderAttack: with the account's
// ceiling kept spent, ChangePassword refuses the current password of a
// caller without a device, as a login would, and takes it from the
// owner's known device.
func TestAKnownDeviceChangesThePasswordUnderAttack(t *testing.T) {
	k, _ := newClockedKit(t, nil)
	tok, _ := k.register(t, "owner@example.com", pw)
	dev := device(t, k, tok)
	spendCeiling(t, k, "owner@example.com", "")
	change := authkit.PasswordChange{UserID: tok.User.ID, SessionID: tok.SessionID, CurrentPassword: pw, NewPassword: "another-pass-1"}
	_, err := k.ChangePassword(t.Context(), change, authkit.Client{Addr: "192.0.2.10"})
	throttled(t, err)
	_, err = k.ChangePassword(t.Context(), change, authkit.Client{Addr: "192.0.2.10", Device: dev})
	require.NoError(t, err, "the known device is not held back")
	_, err = k.Login(t.Context(), "owner@example.com", "another-pass-1", authkit.Client{Device: dev})
	assert.NoError(t, err)
}

// TestADeviceCredentialFitsTheAccountNotTheSpelling: the credential is
// bound to the normalized email, so the owner may type it any way that
// normalizes alike.
func TestADeviceCredentialFitsTheAccountNotTheSpelling(t *testing.T) {
	k, _ := newClockedKit(t, nil)
	tok, _ := k.register(t, "owner@example.com", pw)
	dev := device(t, k, tok)
	spendCeiling(t, k, "owner@example.com", "")
	_, err := k.Login(t.Context(), "  Owner@EXAMPLE.com ", pw, authkit.Client{Device: dev})
	assert.NoError(t, err)
}

// TestDeviceCredentialsLiveDeviceTTL: a credential is good until
// DeviceTTL after it was issued, and not a second longer.
func TestDeviceCredentialsLiveDeviceTTL(t *testing.T) {
	k, _ := newClockedKit(t, func(c *authkit.Config) { c.DeviceTTL = 3 * time.Hour })
	tok, _ := k.register(t, "owner@example.com", pw)
	d, err := k.NewDeviceToken(tok)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Hour, d.ExpiresIn)
	k.clock.Advance(3*time.Hour - time.Second)
	spendCeiling(t, k, "owner@example.com", "")
	_, err = k.Login(t.Context(), "owner@example.com", pw, authkit.Client{Device: d.Token})
	require.NoError(t, err, "a second before it expires")
	k.clock.Advance(time.Second)
	_, err = k.Login(t.Context(), "owner@example.com", pw, authkit.Client{Device: d.Token})
	throttled(t, err)
}

// TestNewDeviceTokenVouchesOnlyForItsOwnSignIns: a device credential is
// issued for tokens this deployment signed and that have not expired,
// never for anything else; each is new, and bound to the token's account.
func TestNewDeviceTokenVouchesOnlyForItsOwnSignIns(t *testing.T) {
	k, _ := newClockedKit(t, nil)
	tok, _ := k.register(t, "owner@example.com", pw)
	elsewhere := newKit(t, func(c *authkit.Config) { c.Secret = []byte("another-deployment-secret-of-32-bytes-or-more") })
	foreign, _ := elsewhere.register(t, "owner@example.com", pw)

	for name, bad := range map[string]authkit.Tokens{
		"zero Tokens":               {},
		"another deployment's":      foreign,
		"a refresh token only":      {RefreshToken: tok.RefreshToken, User: tok.User},
		"a user without a token":    {User: tok.User},
		"a tampered access token":   {AccessToken: tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA", User: tok.User},
		"the access token as email": {AccessToken: "owner@example.com"},
	} {
		_, err := k.NewDeviceToken(bad)
		assert.ErrorIs(t, err, authkit.ErrInvalidToken, name)
	}

	one, err := k.NewDeviceToken(tok)
	require.NoError(t, err)
	two, err := k.NewDeviceToken(tok)
	require.NoError(t, err)
	assert.NotEqual(t, one.Token, two.Token, "every credential is new")
	p1, _ := deviceParts(t, one.Token)
	p2, _ := deviceParts(t, two.Token)
	assert.NotEqual(t, p1[:16], p2[:16], "and names a new device")
	assert.Equal(t, uint64(testkit.Start.Unix()), binary.BigEndian.Uint64(p1[16:]), "issued now")
	assert.Equal(t, authkit.DefaultDeviceTTL, one.ExpiresIn)
	assert.Equal(t, 180*24*time.Hour, authkit.DefaultDeviceTTL)

	k.clock.Advance(authkit.DefaultAccessTokenTTL + time.Hour)
	_, err = k.NewDeviceToken(tok)
	assert.ErrorIs(t, err, authkit.ErrTokenExpired, "an expired access token vouches for nothing")
}

// TestDevicesFollowTheirKey: the device key is derived from DeviceSecret,
// else Secret, else the signing key, so a restart with the same keys keeps
// devices, a new source forgets them (they fall back to the account's
// budgets: nobody is locked out), and DeviceSecret keeps them across a
// change of signing key.
func TestDevicesFollowTheirKey(t *testing.T) {
	ed1, err := authkit.GenerateKey("one", authkit.AlgEdDSA)
	require.NoError(t, err)
	ed2, err := authkit.GenerateKey("two", authkit.AlgES256)
	require.NoError(t, err)
	rsa, err := authkit.GenerateKey("rsa", authkit.AlgRS256)
	require.NoError(t, err)
	deviceSecret := []byte("a-device-secret-of-thirty-two-bytes-or-more")
	with := func(signing *authkit.Key, secret, devSecret []byte) func(*authkit.Config) {
		return func(c *authkit.Config) {
			c.SigningKey, c.Secret, c.DeviceSecret = signing, secret, devSecret
		}
	}
	cases := []struct {
		name        string
		issue, show func(*authkit.Config)
		known       bool
	}{
		{"the same Secret after a restart", with(nil, testSecret, nil), with(nil, testSecret, nil), true},
		{"another Secret", with(nil, testSecret, nil), with(nil, []byte("a-brand-new-secret-of-32-bytes-or-more"), nil), false},
		{"the same Ed25519 key", with(ed1, nil, nil), with(ed1, nil, nil), true},
		{"the same RSA key", with(rsa, nil, nil), with(rsa, nil, nil), true},
		{"a new signing key", with(ed1, nil, nil), with(ed2, nil, nil), false},
		{"a new signing key, the same DeviceSecret", with(ed1, nil, deviceSecret), with(ed2, nil, deviceSecret), true},
		{"Secret outlives a new signing key", with(ed1, testSecret, nil), with(ed2, testSecret, nil), true},
		{"DeviceSecret is not the Secret", with(nil, testSecret, nil), with(nil, testSecret, deviceSecret), false},
		{"an HS256 SigningKey of the same secret is the same source", with(nil, testSecret, nil), with(mustHMACKey(t, testSecret), nil, nil), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			issuer := newKit(t, c.issue)
			tok, _ := issuer.register(t, "owner@example.com", pw)
			dev := device(t, issuer, tok)

			shown := newKit(t, c.show)
			shown.register(t, "owner@example.com", pw)
			spendCeiling(t, shown, "owner@example.com", "")
			_, err := shown.Login(t.Context(), "owner@example.com", pw, authkit.Client{Addr: "192.0.2.10", Device: dev})
			if c.known {
				assert.NoError(t, err, "the device is known")
			} else {
				throttled(t, err)
				assert.False(t, errors.Is(err, authkit.ErrInvalidToken), "a forgotten device is no error")
			}
		})
	}
}

func mustHMACKey(t testing.TB, secret []byte) *authkit.Key {
	t.Helper()
	k, err := authkit.NewHMACKey("", secret)
	require.NoError(t, err)
	return k
}

// TestDeviceSettingsAreValidated: a DeviceSecret too short to be a key,
// or a negative DeviceTTL, is refused by New.
func TestDeviceSettingsAreValidated(t *testing.T) {
	newWith := func(change func(*authkit.Config)) error {
		cfg := authkit.Config{Store: newKit(t, nil).store, Mailer: testkit.NewMailbox(), Secret: testSecret, BaseURL: "https://x.example", BcryptCost: 4}
		change(&cfg)
		a, err := authkit.New(cfg)
		if err == nil {
			_ = a.Close(t.Context())
		}
		return err
	}
	assert.ErrorIs(t, newWith(func(c *authkit.Config) { c.DeviceSecret = make([]byte, 31) }), authkit.ErrConfig, "31 bytes")
	assert.ErrorIs(t, newWith(func(c *authkit.Config) { c.DeviceSecret = []byte{} }), authkit.ErrConfig, "empty, not nil")
	assert.ErrorIs(t, newWith(func(c *authkit.Config) { c.DeviceTTL = -time.Hour }), authkit.ErrConfig, "negative TTL")
	assert.ErrorIs(t, newWith(func(c *authkit.Config) { c.Limits.LoginFailuresDevice = authkit.Limit{Burst: 1} }), authkit.ErrConfig, "a device budget without interval")
	assert.NoError(t, newWith(func(c *authkit.Config) { c.DeviceSecret = make([]byte, 32) }))
}
