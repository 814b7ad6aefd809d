package authkit

import (
	"context"
	"errors"
	"fmt"
)

// Authenticate says whether an access token is good now, and whose it is.
// It is the one check every protected request should make, whatever carries
// it (httpauth's middleware, a gRPC interceptor, a WebSocket upgrade):
//
//   - the token verifies (VerifyAccessToken: signature, algorithm, key id,
//     type, issuer, audience, expiry);
//   - its user exists and is active, and the token's version is the user's
//     current one, so a password reset or change, a logout everywhere or a
//     disabling cuts the token off at once;
//   - with Config.RequireVerifiedEmail, the user's address is verified;
//   - with Config.CheckSession, the token's session is live, so a logout
//     cuts off that session's tokens at once too.
//
// It returns the user as loaded now and the token's claims. The error wraps
// ErrTokenExpired or ErrInvalidToken for a token that is not good,
// ErrAccountDisabled for a disabled account and ErrEmailNotVerified for an
// unverified one; any other error is a Store failure. It reads the Store
// once, twice with Config.CheckSession; with the user cache
// (Config.UserCacheTTL) the user is read at most once per TTL, and every
// change that cuts tokens off (a logout everywhere, a password reset or
// change, a disabling, a deletion) drops it at once on this instance and,
// through the UserWatcher, within about a second on every other.
func (a *Authenticator) Authenticate(ctx context.Context, accessToken string) (_ User, _ *Claims, err error) {
	ctx, end := a.observe(ctx, FlowAuthenticate)
	defer func() { end(err) }()
	claims, err := a.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return User{}, nil, err
	}
	u, err := a.loadUser(ctx, claims.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return User{}, nil, ErrInvalidToken
	case err != nil:
		return User{}, nil, fmt.Errorf("authkit: authenticate: %w", err)
	case !u.Active:
		return User{}, nil, ErrAccountDisabled
	case u.TokenVersion != claims.TokenVersion:
		return User{}, nil, ErrInvalidToken
	}
	if err := a.accountUsable(u); err != nil {
		return User{}, nil, err
	}
	if a.cfg.CheckSession {
		if _, err := a.liveSession(ctx, u.ID, claims.SessionID); err != nil {
			return User{}, nil, err
		}
	}
	return u, claims, nil
}

// loadUser reads the user with id for Authenticate: from the user cache
// when it holds the user, else from the Store (and then into the cache).
func (a *Authenticator) loadUser(ctx context.Context, id string) (User, error) {
	if a.users == nil {
		return a.store.UserByID(ctx, id)
	}
	u, epoch, ok := a.users.get(id)
	if ok {
		return u, nil
	}
	u, err := a.store.UserByID(ctx, id)
	if err == nil {
		a.users.put(u, epoch)
	}
	return u, err
}

// VerifyAccessToken checks an access token on its own (signature with a
// pinned algorithm, key id, type, issuer, audience, expiry) and returns its
// claims. It does no I/O, so it cannot see a logout, a password change or a
// disabled account: call Authenticate to know whether the token is good now.
// The error wraps ErrTokenExpired or ErrInvalidToken.
func (a *Authenticator) VerifyAccessToken(_ context.Context, accessToken string) (*Claims, error) {
	return a.keys.Load().verify(accessToken)
}

// liveSession returns session sid of the user if it is live: no session
// id, or a session that ended, idled out or is another user's, is
// ErrInvalidToken; any other error is a Store failure.
func (a *Authenticator) liveSession(ctx context.Context, userID, sid string) (Session, error) {
	if !validID(sid) {
		return Session{}, ErrInvalidToken
	}
	s, err := a.store.Session(ctx, sid)
	switch {
	case errors.Is(err, ErrNotFound):
		return Session{}, ErrInvalidToken
	case err != nil:
		return Session{}, fmt.Errorf("authkit: authenticate: session: %w", err)
	case s.UserID != userID || !a.sessionLive(s, a.now()):
		return Session{}, ErrInvalidToken
	}
	return s, nil
}
