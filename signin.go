package authkit

import (
	"context"
	"errors"
	"fmt"
)

// Ways of authenticating, as the RFC 8176 "amr" values that
// Session.AuthMethods records.
const (
	// MethodPassword ("pwd") is a password checked against its hash.
	MethodPassword = "pwd"
)

// proof is what a way of signing in hands to signIn once it has proved who
// the user is: the user as it was read when the proof was checked, and the
// methods (RFC 8176 "amr" values) that proved it, in order.
type proof struct {
	user    User
	methods []string
}

// signIn is the one step every way of signing in ends in; nothing else
// starts a session. In order, it:
//
//  1. applies the account checks (accountUsable): active, and verified when
//     Config.RequireVerifiedEmail is set;
//  2. asks for a second factor when the account has one and the proof does
//     not include it (secondFactorDue, in secondfactor.go), answering with
//     a *SecondFactorChallenge instead of tokens;
//  3. starts the session, recording the methods and the time of the proof,
//     and issues its tokens;
//  4. confirms that the account did not change between the proof and the
//     session (confirmSignIn), ending the session if it did;
//  5. reports EventLoginSuccess.
//
// The proof's own failures (a wrong password, say) are the caller's to
// report before it gets here.
func (a *Authenticator) signIn(ctx context.Context, p proof, c Client) (Tokens, error) {
	u := p.user
	if err := a.accountUsable(u); err != nil {
		reason := "disabled"
		if errors.Is(err, ErrEmailNotVerified) {
			reason = "email_not_verified"
		}
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: reason})
		return Tokens{}, err
	}
	if err := a.secondFactorDue(ctx, u, p.methods); err != nil {
		return Tokens{}, err
	}
	t, err := a.startSession(ctx, u, p.methods, c)
	if err != nil {
		return Tokens{}, err
	}
	if err := a.confirmSignIn(ctx, u, t.SessionID, c); err != nil {
		return Tokens{}, err
	}
	// A device credential is a convenience: without one the client counts
	// as a new device next time, so failing to make one fails nothing.
	if t.Device, err = a.issueDevice(u.Email); err != nil {
		a.cfg.Logger.WarnContext(ctx, "authkit: sign in: device credential", "user_id", u.ID, "error", err)
	}
	a.emit(ctx, c, Event{Type: EventLoginSuccess, UserID: u.ID, SessionID: t.SessionID})
	return t, nil
}

// accountUsable applies the account checks that every sign-in, refresh and
// authenticated request makes: ErrAccountDisabled for a disabled account,
// and ErrEmailNotVerified for an unverified one when
// Config.RequireVerifiedEmail is set.
func (a *Authenticator) accountUsable(u User) error {
	switch {
	case !u.Active:
		return ErrAccountDisabled
	case a.cfg.RequireVerifiedEmail && !u.EmailVerified:
		return ErrEmailNotVerified
	}
	return nil
}

// startSession creates a session for u, proved by methods now, and issues
// its first tokens.
func (a *Authenticator) startSession(ctx context.Context, u User, methods []string, c Client) (Tokens, error) {
	sid, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Tokens{}, err
	}
	now := a.now()
	client := c.cleaned()
	s := Session{
		ID: sid, UserID: u.ID, RefreshHash: hashSecret(secret),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: a.sessionExpiry(now, now),
		UserAgent: client.UserAgent, ClientAddr: client.Addr,
		AuthMethods: append([]string(nil), methods...), AuthTime: now,
	}
	custom, err := a.customClaims(ctx, u, s)
	if err != nil {
		return Tokens{}, err
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return Tokens{}, fmt.Errorf("authkit: start session: %w", err)
	}
	t := Tokens{RefreshToken: sid + refreshSeparator + secret, RefreshExpiresAt: s.ExpiresAt, RefreshExpiresIn: s.ExpiresAt.Sub(now), SessionID: sid, User: u}
	if t.AccessToken, err = a.accessFor(u, s, custom, now, &t); err != nil {
		return Tokens{}, err
	}
	a.emit(ctx, c, Event{Type: EventSessionCreated, UserID: u.ID, SessionID: sid})
	return t, nil
}

// confirmSignIn makes sure that the account did not change under a sign-in
// between its proof (against checked, the user as read then) and the
// creation of session sid. A password reset or change, a disabling or a
// logout everywhere each raise the token version in the same atomic step in
// which they end the user's sessions, so one that landed before the session
// was created shows here, and one that landed after it ended the session
// already. When the account changed, confirmSignIn ends the session and
// returns ErrInvalidCredentials: what was proved (a password, say) may no
// longer stand.
//
// The check is a write (a compare-and-swap on the password hash that
// writes only UpdatedAt), not a read: in a database, a write to the user's
// row waits for a change still in flight in another transaction and then
// sees it, where a read would see the row as it was and miss a change
// whose ending of sessions ran before this session was inserted.
func (a *Authenticator) confirmSignIn(ctx context.Context, checked User, sid string, c Client) error {
	cur, err := a.updateUser(ctx, checked.ID, UserUpdate{IfPasswordHash: checked.PasswordHash, UpdatedAt: a.now()})
	if errors.Is(err, ErrConflict) {
		// The hash changed. A rehash by a concurrent login keeps the token
		// version; every other write of a hash raises it.
		cur, err = a.store.UserByID(ctx, checked.ID)
	}
	if err == nil && cur.Active && cur.TokenVersion == checked.TokenVersion {
		return nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("authkit: sign in: %w", err)
	} else {
		err = ErrInvalidCredentials
	}
	if derr := a.store.DeleteSession(ctx, checked.ID, sid); derr != nil && !errors.Is(derr, ErrNotFound) {
		a.cfg.Logger.ErrorContext(ctx, "authkit: sign in: end session of a changed account", "user_id", checked.ID, "error", derr)
		return fmt.Errorf("authkit: sign in: end session: %w", derr)
	}
	a.emit(ctx, c, Event{Type: EventLoginFail, UserID: checked.ID, SessionID: sid, Reason: "account_changed"})
	return err
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
