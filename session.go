package authkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A refresh token is the session id and a 256-bit secret joined by a dot:
// "<session id>.<secret>". Only the SHA-256 of the secret is stored with
// the session; once the token is spent, the SHA-256 of the whole token
// (which binds it to its session) is kept as a one-time token of purpose
// purposeRefreshSpent until the session would expire, to recognize its
// reuse.
const refreshSeparator = "."

// purposeRefreshSpent marks the one-time token records that Refresh keeps
// of the refresh tokens it spent: the SHA-256 of the whole token (which
// names its session), for the session's user, expiring with the session
// (Cleanup deletes them then). They are never mailed and never accepted by
// another flow; a replay of one, after the reuse grace, ends the session.
// To a Store it is a purpose like any other.
const purposeRefreshSpent TokenPurpose = "refresh_spent"

// splitRefresh returns the session id and secret of a refresh token.
func splitRefresh(token string) (sid, secret string, ok bool) {
	if len(token) > 256 {
		return "", "", false
	}
	sid, secret, ok = strings.Cut(token, refreshSeparator)
	return sid, secret, ok && validID(sid) && secret != ""
}

// accessFor signs an access token for u in session s, with custom, the
// host's claims for it (customClaims), and records its lifetime in t.
func (a *Authenticator) accessFor(u User, s Session, custom []byte, now time.Time, t *Tokens) (string, error) {
	at, exp, err := a.newAccessToken(u, s, custom, now)
	t.ExpiresIn = exp.Sub(now)
	return at, err
}

// sessionExpiry is when a refresh token issued now for a session created at
// created stops working: RefreshTokenTTL from now, capped by SessionMaxAge.
func (a *Authenticator) sessionExpiry(created, now time.Time) time.Time {
	exp := now.Add(a.cfg.RefreshTokenTTL)
	if limit := created.Add(a.cfg.SessionMaxAge); limit.Before(exp) {
		exp = limit
	}
	return exp
}

// Refresh spends a refresh token and issues a new access token and refresh
// token for the same session. Rotation is one atomic compare-and-swap, so of
// several concurrent refreshes with one token exactly one succeeds.
//
// A refresh token that was already spent, by the last rotation or by any
// earlier one, is refused with ErrInvalidToken. Within
// Config.RefreshReuseGrace of its rotation that is all (two tabs
// refreshing at once); after it, the replay is taken for theft and the
// whole session ends, for the thief and the owner alike (EventTokenReuse).
// A token the session never issued (a wrong secret beside a known session
// id) is refused and ends nothing. An expired session returns
// ErrTokenExpired; a disabled account ErrAccountDisabled; with
// Config.RequireVerifiedEmail set, an account whose address is not
// verified ErrEmailNotVerified.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string, c Client) (_ Tokens, err error) {
	ctx, end := a.observe(ctx, FlowRefresh)
	defer func() { end(err) }()
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return Tokens{}, err
	}
	sid, secret, ok := splitRefresh(refreshToken)
	if !ok {
		return Tokens{}, ErrInvalidToken
	}
	s, err := a.store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: refresh: %w", err)
	}
	hash := hashSecret(secret)
	now := a.now()
	if !equalHash(hash, s.RefreshHash) {
		return Tokens{}, a.refuseSpent(ctx, s, hash, refreshToken, now, c)
	}
	if !now.Before(s.ExpiresAt) || (a.cfg.SessionIdleTimeout > 0 && now.Sub(s.LastUsedAt) > a.cfg.SessionIdleTimeout) {
		if err := a.store.DeleteSession(ctx, s.UserID, s.ID); err != nil && !errors.Is(err, ErrNotFound) {
			a.cfg.Logger.WarnContext(ctx, "authkit: refresh: end expired session", "error", err)
		}
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: s.UserID, SessionID: s.ID, Reason: "expired"})
		return Tokens{}, ErrTokenExpired
	}
	u, err := a.store.UserByID(ctx, s.UserID)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: refresh: %w", err)
	}
	if err := a.accountUsable(u); err != nil {
		return Tokens{}, err
	}
	// The host's claims are asked for before the token is spent, so that
	// their failure leaves the session as it was.
	custom, err := a.customClaims(ctx, u, s)
	if err != nil {
		return Tokens{}, err
	}
	newSecretValue, err := newSecret()
	if err != nil {
		return Tokens{}, err
	}
	expires := a.sessionExpiry(s.CreatedAt, now)
	// Remember the token as spent before it is: a replay of it, however
	// many rotations later, is then recognized as theft. Of concurrent
	// refreshes with one token only the first records it.
	spent := OneTimeToken{Hash: hashSecret(refreshToken), UserID: s.UserID, Purpose: purposeRefreshSpent, CreatedAt: now, ExpiresAt: expires}
	if err := a.store.CreateToken(ctx, spent); err != nil && !errors.Is(err, ErrAlreadyExists) {
		return Tokens{}, fmt.Errorf("authkit: refresh: record spent token: %w", err)
	}
	s, err = a.store.RotateSession(ctx, s.ID, s.RefreshHash, hashSecret(newSecretValue), now, expires)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		// Another refresh with the same token won the race.
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: refresh: %w", err)
	}
	t := Tokens{RefreshToken: s.ID + refreshSeparator + newSecretValue, RefreshExpiresAt: s.ExpiresAt, RefreshExpiresIn: s.ExpiresAt.Sub(now), SessionID: s.ID, User: u}
	if t.AccessToken, err = a.accessFor(u, s, custom, now, &t); err != nil {
		return Tokens{}, err
	}
	a.emit(ctx, c, Event{Type: EventSessionRenewed, UserID: u.ID, SessionID: s.ID})
	return t, nil
}

// refuseSpent answers a refresh token of session s that is not its current
// one; hash is the hash of its secret. If the session spent the token
// (the last rotation did, by s.PreviousHash, or an earlier one, by the
// record Refresh keeps of every spent token) longer ago than
// Config.RefreshReuseGrace, the replay is taken for theft and the session
// ends. A token the session never issued ends nothing, so that whoever
// only saw the session id (in an access token, say) cannot end it. The
// error is ErrInvalidToken, or a store failure.
func (a *Authenticator) refuseSpent(ctx context.Context, s Session, hash, refreshToken string, now time.Time, c Client) error {
	var spentAt time.Time
	switch {
	case s.PreviousHash != "" && equalHash(hash, s.PreviousHash):
		spentAt = s.RotatedAt
	default:
		t, err := a.store.Token(ctx, hashSecret(refreshToken))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("authkit: refresh: %w", err)
		}
		if err != nil || t.Purpose != purposeRefreshSpent || t.UserID != s.UserID {
			a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: s.UserID, SessionID: s.ID, Reason: "refresh_unknown"})
			return ErrInvalidToken
		}
		spentAt = t.CreatedAt
	}
	if now.Sub(spentAt) <= a.cfg.RefreshReuseGrace {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: s.UserID, SessionID: s.ID, Reason: "refresh_race"})
		return ErrInvalidToken
	}
	if err := a.store.DeleteSession(ctx, s.UserID, s.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("authkit: refresh: end reused session: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventTokenReuse, UserID: s.UserID, SessionID: s.ID})
	return ErrInvalidToken
}

// Logout ends the session of a refresh token (current, or the one spent just
// before it). It is idempotent and tells nothing: an unknown, spent or
// malformed token is not an error. Access tokens already issued for the
// session stay valid until they expire unless the host checks sessions on
// every request.
func (a *Authenticator) Logout(ctx context.Context, refreshToken string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowLogout)
	defer func() { end(err) }()
	sid, secret, ok := splitRefresh(refreshToken)
	if !ok {
		return nil
	}
	s, err := a.store.Session(ctx, sid)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("authkit: logout: %w", err)
	}
	hash := hashSecret(secret)
	if !equalHash(hash, s.RefreshHash) && (s.PreviousHash == "" || !equalHash(hash, s.PreviousHash)) {
		return nil
	}
	if err := a.store.DeleteSession(ctx, s.UserID, s.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("authkit: logout: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventSessionEnded, UserID: s.UserID, SessionID: s.ID})
	return nil
}

// LogoutAll ends every session of the user and cuts off every access token
// issued before, at once, wherever the user is loaded.
func (a *Authenticator) LogoutAll(ctx context.Context, userID string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowLogoutAll)
	defer func() { end(err) }()
	if _, err := a.updateUser(ctx, userID, UserUpdate{BumpTokenVersion: true, EndSessions: true, UpdatedAt: a.now()}); err != nil {
		return fmt.Errorf("authkit: logout all: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventLogoutAll, UserID: userID})
	return nil
}

// Sessions returns the user's live sessions, oldest first.
func (a *Authenticator) Sessions(ctx context.Context, userID string) ([]Session, error) {
	all, err := a.store.UserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("authkit: sessions: %w", err)
	}
	now := a.now()
	live := all[:0]
	for _, s := range all {
		if a.sessionLive(s, now) {
			live = append(live, s)
		}
	}
	return live, nil
}

// sessionLive reports whether s can still be refreshed at now.
func (a *Authenticator) sessionLive(s Session, now time.Time) bool {
	return now.Before(s.ExpiresAt) && (a.cfg.SessionIdleTimeout == 0 || now.Sub(s.LastUsedAt) <= a.cfg.SessionIdleTimeout)
}

// EndSession ends one session of the user. It returns an error wrapping
// ErrNotFound if the user has no such session; another user's session is
// never touched.
func (a *Authenticator) EndSession(ctx context.Context, userID, sessionID string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowEndSession)
	defer func() { end(err) }()
	if !validID(sessionID) {
		return fmt.Errorf("authkit: end session: %w", ErrNotFound)
	}
	if err := a.store.DeleteSession(ctx, userID, sessionID); err != nil {
		return fmt.Errorf("authkit: end session: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventSessionEnded, UserID: userID, SessionID: sessionID})
	return nil
}

// Cleanup deletes expired one-time tokens and sessions, and the rate-limit
// counters whose budget is whole again, and returns how many records it
// deleted. Hosts call it on a schedule (hourly is plenty); the flows never
// depend on it, since they check expiry themselves.
func (a *Authenticator) Cleanup(ctx context.Context) (_ int64, err error) {
	ctx, end := a.observe(ctx, FlowCleanup)
	defer func() { end(err) }()
	now := a.now()
	n, err := a.store.DeleteExpiredTokens(ctx, now)
	if err != nil {
		return n, fmt.Errorf("authkit: cleanup tokens: %w", err)
	}
	var idle time.Time
	if a.cfg.SessionIdleTimeout > 0 {
		idle = now.Add(-a.cfg.SessionIdleTimeout)
	}
	m, err := a.store.DeleteExpiredSessions(ctx, now, idle)
	n += m
	if err != nil {
		return n, fmt.Errorf("authkit: cleanup sessions: %w", err)
	}
	m, err = a.cfg.Limiter.DeleteStale(ctx, now)
	n += m
	if err != nil {
		return n, fmt.Errorf("authkit: cleanup rate limits: %w", err)
	}
	return n, nil
}
