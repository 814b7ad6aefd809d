package authkit_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// roleClaims is a CustomClaims hook that gives each token the role held
// in role and the tenant "acme".
func roleClaims(role *atomic.Value) func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
	return func(_ context.Context, u authkit.User, s authkit.Session) (map[string]any, error) {
		return map[string]any{"role": role.Load(), "tenant": "acme", "session_seen": s.ID != "" && u.ID == s.UserID}, nil
	}
}

// TestCustomClaimsAreIssuedAndRefreshed checks that the host's claims are
// in the tokens of sign-in, refresh, password change and reauthentication,
// that a refresh asks again (a changed role reaches the next token), and
// that Claims.Custom reads them back without letting them shadow the
// kit's own.
func TestCustomClaimsAreIssuedAndRefreshed(t *testing.T) {
	var role atomic.Value
	role.Store("reader")
	k := newKit(t, func(c *authkit.Config) { c.CustomClaims = roleClaims(&role) })
	k.register(t, "ada@example.com", pw)
	login, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	roleOf := func(what, token string) string {
		t.Helper()
		_, c, err := k.Authenticate(t.Context(), token)
		require.NoError(t, err, "%s: authenticate", what)
		var got, tenant string
		var seen bool
		found, err := c.Custom("role", &got)
		require.NoError(t, err, what)
		require.True(t, found, "%s: the role claim is there", what)
		found, err = c.Custom("tenant", &tenant)
		require.True(t, found && err == nil && tenant == "acme", "%s: tenant %q", what, tenant)
		found, err = c.Custom("session_seen", &seen)
		require.True(t, found && err == nil && seen, "%s: the hook saw the user's session", what)
		assert.Equal(t, "ada@example.com", c.Email, "%s: the kit's claims are untouched", what)
		return got
	}
	assert.Equal(t, "reader", roleOf("login", login.AccessToken))

	role.Store("admin")
	refreshed, err := k.Refresh(t.Context(), login.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "admin", roleOf("refresh", refreshed.AccessToken), "a refresh asks the hook again")

	_, claims, err := k.Authenticate(t.Context(), refreshed.AccessToken)
	require.NoError(t, err)
	reauth, err := k.Reauthenticate(t.Context(), claims, pw, "", authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "admin", roleOf("reauthenticate", reauth.AccessToken))

	role.Store("owner")
	changed, err := k.ChangePassword(t.Context(), authkit.PasswordChange{
		UserID: login.User.ID, SessionID: login.SessionID, CurrentPassword: pw, NewPassword: pw + " again",
	}, authkit.Client{})
	require.NoError(t, err)
	assert.Equal(t, "owner", roleOf("password change", changed.AccessToken))

	var n int
	found, err := claims.Custom("missing", &n)
	assert.False(t, found, "a claim the token does not carry")
	assert.NoError(t, err)
	found, err = claims.Custom("role", &n)
	assert.True(t, found)
	assert.Error(t, err, "a string does not decode as a number")
	var sub string
	found, _ = claims.Custom("sub", &sub)
	assert.False(t, found, "reserved claims are read from the fields, not through Custom")
}

// TestCustomClaimsRefusedBeginNoSession checks that reserved names (in any
// case, Unicode folding included), oversized claims and values that are
// not JSON fail the sign-in with ErrCustomClaims and begin no session, and
// that the largest claims allowed are issued and fit an access cookie.
func TestCustomClaimsRefusedBeginNoSession(t *testing.T) {
	var claims atomic.Value
	k := newKit(t, func(c *authkit.Config) {
		c.CustomClaims = func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
			return claims.Load().(map[string]any), nil
		}
	})
	claims.Store(map[string]any{})
	k.register(t, "ada@example.com", pw)
	user, err := k.store.UserByEmail(t.Context(), "ada@example.com")
	require.NoError(t, err)
	sessions := func() int {
		list, err := k.Sessions(t.Context(), user.ID)
		require.NoError(t, err)
		return len(list)
	}
	before := sessions()

	refused := map[string]map[string]any{
		"sub":                {"sub": "someone-else"},
		"user_id":            {"user_id": "someone-else"},
		"Email by case":      {"Email": "admin@example.com"},
		"USER_ID by case":    {"USER_ID": "someone-else"},
		"long s folds to s":  {"\u017fub": "someone-else"},
		"exp":                {"exp": 1 << 40},
		"amr":                {"amr": []string{"hwk"}},
		"cnf":                {"cnf": map[string]any{"jkt": "x"}},
		"empty name":         {"": 1},
		"not JSON":           {"f": func() {}},
		"NaN":                {"n": math.NaN()},
		"one byte too large": {"blob": strings.Repeat("x", authkit.MaxCustomClaimsBytes-len(`{"blob":""}`)+1)},
	}
	for name, c := range refused {
		claims.Store(c)
		_, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrCustomClaims, name)
	}
	assert.Equal(t, before, sessions(), "no refused claims begin a session")

	claims.Store(map[string]any{"blob": strings.Repeat("x", authkit.MaxCustomClaimsBytes-len(`{"blob":""}`))})
	largest, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.NoError(t, err, "claims of exactly MaxCustomClaimsBytes")
	assert.Less(t, len("__Host-authkit_access=")+len(largest.AccessToken), 4096, "the largest token still fits a browser's cookie")
	_, c, err := k.Authenticate(t.Context(), largest.AccessToken)
	require.NoError(t, err)
	var blob string
	found, err := c.Custom("blob", &blob)
	require.True(t, found)
	require.NoError(t, err)
	assert.Len(t, blob, authkit.MaxCustomClaimsBytes-len(`{"blob":""}`))
}

// TestCustomClaimsFailureKeepsTheRefreshToken checks that a hook that
// fails at refresh leaves the session as it was: the same refresh token
// works once the hook recovers, and its failure reaches the caller.
func TestCustomClaimsFailureKeepsTheRefreshToken(t *testing.T) {
	errDirectory := errors.New("directory down")
	var failing atomic.Bool
	k := newKit(t, func(c *authkit.Config) {
		c.CustomClaims = func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
			if failing.Load() {
				return nil, errDirectory
			}
			return map[string]any{"role": "reader"}, nil
		}
	})
	k.register(t, "ada@example.com", pw)
	login, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	failing.Store(true)
	_, err = k.Refresh(t.Context(), login.RefreshToken, authkit.Client{})
	require.ErrorIs(t, err, errDirectory, "the hook's error reaches the caller")
	_, err = k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.ErrorIs(t, err, errDirectory)

	failing.Store(false)
	_, err = k.Refresh(t.Context(), login.RefreshToken, authkit.Client{})
	require.NoError(t, err, "the refresh token was not spent by the failed refresh")
}

// TestCustomClaimsReachAVerifier checks that a service holding only the
// public key reads the host's claims too, and that tokens without any
// cost nothing extra to read: Custom reports false.
func TestCustomClaimsReachAVerifier(t *testing.T) {
	key, err := authkit.GenerateKey("one", authkit.AlgEdDSA)
	require.NoError(t, err)
	k := newKit(t, func(c *authkit.Config) {
		c.SigningKey = key
		c.CustomClaims = func(_ context.Context, u authkit.User, _ authkit.Session) (map[string]any, error) {
			if u.Email == "plain@example.com" {
				return nil, nil
			}
			return map[string]any{"roles": []string{"billing", "support"}}, nil
		}
	})
	pub, err := authkit.NewVerificationKey("one", key.Public())
	require.NoError(t, err)
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{Keys: []*authkit.Key{pub}, Issuer: kitIssuer, Audience: kitIssuer, Now: k.clock.Now})
	require.NoError(t, err)

	withRoles, _ := k.register(t, "ada@example.com", pw)
	c, err := v.Verify(t.Context(), withRoles.AccessToken)
	require.NoError(t, err)
	var roles []string
	found, err := c.Custom("roles", &roles)
	require.True(t, found)
	require.NoError(t, err)
	assert.Equal(t, []string{"billing", "support"}, roles)

	plain, _ := k.register(t, "plain@example.com", pw)
	c, err = v.Verify(t.Context(), plain.AccessToken)
	require.NoError(t, err)
	found, err = c.Custom("roles", &roles)
	assert.False(t, found, "no hook claims for this user")
	assert.NoError(t, err)
	assert.NotContains(t, jwtPart(t, plain.AccessToken, 1), "roles")
}

// TestCustomClaimsFailureAfterAPasswordChange checks that a hook failing
// once the new password is written does not report the change as failed:
// the change stands, the caller gets no access token, and the new password
// is the one that works.
func TestCustomClaimsFailureAfterAPasswordChange(t *testing.T) {
	var failing atomic.Bool
	k := newKit(t, func(c *authkit.Config) {
		c.CustomClaims = func(context.Context, authkit.User, authkit.Session) (map[string]any, error) {
			if failing.Load() {
				return nil, errors.New("directory down")
			}
			return map[string]any{"role": "reader"}, nil
		}
	})
	k.register(t, "ada@example.com", pw)
	login, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.NoError(t, err)

	failing.Store(true)
	const newPassword = "another horse battery staple"
	changed, err := k.ChangePassword(t.Context(), authkit.PasswordChange{
		UserID: login.User.ID, SessionID: login.SessionID, CurrentPassword: pw, NewPassword: newPassword,
	}, authkit.Client{})
	require.NoError(t, err, "the change is made")
	assert.Empty(t, changed.AccessToken, "no access token without the host's claims")
	assert.Contains(t, k.log.String(), "directory down", "the hook's failure is logged")

	failing.Store(false)
	_, err = k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	assert.Error(t, err, "the old password no longer works")
	_, err = k.Login(t.Context(), "ada@example.com", newPassword, authkit.Client{})
	assert.NoError(t, err, "the new one does")
}
