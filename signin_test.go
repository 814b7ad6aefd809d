package authkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// storedSession reads session sid straight from the store.
func (k *kit) storedSession(t testing.TB, sid string) authkit.Session {
	t.Helper()
	s, err := k.store.Session(t.Context(), sid)
	require.NoError(t, err, "Session(%s)", sid)
	return s
}

func TestEverySignInRecordsHowAndWhenTheUserAuthenticated(t *testing.T) {
	k := newKit(t, nil)
	registered, _ := k.register(t, "how@example.com", pw)
	s := k.storedSession(t, registered.SessionID)
	assert.Equal(t, []string{authkit.MethodPassword}, s.AuthMethods, "register signs in with the password")
	assert.True(t, s.AuthTime.Equal(k.clock.Now()), "AuthTime %v is when the password was checked", s.AuthTime)

	k.clock.Advance(time.Hour)
	loggedIn, err := k.Login(t.Context(), "how@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	s = k.storedSession(t, loggedIn.SessionID)
	assert.Equal(t, []string{"pwd"}, s.AuthMethods, "RFC 8176 value of a password")
	assert.True(t, s.AuthTime.Equal(k.clock.Now()), "a later login records its own time")
	signedInAt := s.AuthTime

	// A refresh is no new authentication: it keeps both.
	k.clock.Advance(time.Hour)
	next, err := k.Refresh(t.Context(), loggedIn.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	s = k.storedSession(t, next.SessionID)
	assert.Equal(t, []string{"pwd"}, s.AuthMethods, "refresh keeps the methods")
	assert.True(t, s.AuthTime.Equal(signedInAt), "refresh keeps the time of the sign-in, got %v", s.AuthTime)
	assert.True(t, s.LastUsedAt.Equal(k.clock.Now()), "while the session itself was used now")
}

func TestRegisterSignsInThroughTheAccountChecks(t *testing.T) {
	// A register that signs in reports the same success as a login does,
	// so that every sign-in is audited alike.
	k := newKit(t, nil)
	tok, _ := k.register(t, "audit@example.com", pw)
	ev, ok := k.events.last(authkit.EventLoginSuccess)
	require.True(t, ok, "register reports the sign-in")
	assert.Equal(t, tok.SessionID, ev.SessionID)
	assert.Equal(t, tok.User.ID, ev.UserID)

	// With verified email required, nobody is signed in and no session is
	// recorded: the account checks would refuse the new address.
	strict := newKit(t, func(c *authkit.Config) { c.RequireVerifiedEmail = true })
	reg, err := strict.Register(t.Context(), authkit.Registration{Email: "strict@example.com", Password: pw}, authkit.Client{})
	require.NoError(t, err)
	assert.False(t, reg.SignedIn)
	assert.Zero(t, reg.Tokens, "no tokens when not signed in")
	_, ok = strict.events.last(authkit.EventLoginSuccess)
	assert.False(t, ok, "no sign-in reported")
}

// goneStore cancels the request's context the moment a session is about to
// be recorded, as a client that hangs up right after its password was
// checked.
type goneStore struct {
	authkit.Store
	hangUp context.CancelFunc
}

func (s *goneStore) CreateSession(ctx context.Context, sess authkit.Session) error {
	s.hangUp()
	return s.Store.CreateSession(ctx, sess)
}

func TestASignInFinishesItsBookkeepingWhenTheClientHangsUp(t *testing.T) {
	var gone *goneStore
	k := newKit(t, func(c *authkit.Config) {
		gone = &goneStore{Store: c.Store, hangUp: func() {}}
		c.Store = gone
		c.Limits.LoginFailures = authkit.Limit{Burst: 2, Every: time.Hour}
	})
	k.register(t, "hangup@example.com", pw)
	_, err := k.Login(t.Context(), "hangup@example.com", "wrong-password", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "one unit of the budget of 2 spent")

	ctx, cancel := context.WithCancel(t.Context())
	gone.hangUp = cancel
	tok, err := k.Login(ctx, "hangup@example.com", pw, authkit.Client{})
	require.NoError(t, err, "the session is recorded on a context of its own")
	require.Error(t, ctx.Err(), "the client did hang up")
	k.storedSession(t, tok.SessionID)

	// The budget was given back: two more wrong guesses are allowed, not one.
	gone.hangUp = func() {}
	for i := range 2 {
		_, err = k.Login(t.Context(), "hangup@example.com", "wrong-password", authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "wrong guess %d after the budget was restored", i+1)
	}
}
