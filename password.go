package authkit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Signing in with a password, and changing it. The hasher and the bound on
// concurrent hashing are in hasher.go; the rules for new passwords in
// validate.go; forgotten passwords in recovery.go.

// Login checks an email and password and signs the user in. Whatever the
// account's state, a wrong password returns ErrInvalidCredentials, and an
// unknown email costs the same password work as a wrong password. Only
// after the right password does it reveal ErrAccountDisabled or
// ErrEmailNotVerified.
//
// Before the password is checked, the attempt spends one unit of a
// failure budget (see Limits): the budget of the known device that
// c.Device names, when it is a valid credential of this account; else the
// account's strict budget for c's network and its ceiling. When the budget
// is spent, Login returns a *RateLimitError without checking the password.
// A right password gives back the device's budget and the strict budget of
// c's network, not the ceiling. An invalid c.Device is ignored, never an
// error. The returned Tokens.Device is a fresh device credential: hand it
// to the client so that its next logins are not held back by guesses made
// elsewhere.
func (a *Authenticator) Login(ctx context.Context, email, password string, c Client) (_ Tokens, err error) {
	ctx, end := a.observe(ctx, FlowLogin)
	defer func() { end(err) }()
	email = NormalizeEmail(email)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	checkGivenPassword(v, "password", password)
	if err := v.err(); err != nil {
		return Tokens{}, err
	}
	if err := a.allow(ctx, c, limitLoginAddr, a.cfg.Limits.LoginAddr, c.Addr); err != nil {
		return Tokens{}, err
	}
	// One unit of the device's or the account's failure budgets is spent
	// before any password is checked, alike whether the account exists; a
	// right password gives back what it may. A spent budget refuses here.
	g, err := a.spendGuess(ctx, c, email)
	if err != nil {
		return Tokens{}, err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		// Spend the same work as a wrong password, then fail alike.
		if err := a.wrongPasswordWork(ctx, password); err != nil {
			return Tokens{}, err
		}
		a.emit(ctx, c, Event{Type: EventLoginFail, Reason: "unknown_email"})
		return Tokens{}, ErrInvalidCredentials
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: login: %w", err)
	}
	ok, legacy, err := a.matchPassword(ctx, u.PasswordHash, password)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return Tokens{}, err
		}
		// An empty, corrupt or over-cost hash is refused before any work:
		// spend the work of a wrong password, so that timing does not
		// single such accounts out.
		if err := a.wrongPasswordWork(ctx, password); err != nil {
			return Tokens{}, err
		}
		a.cfg.Logger.ErrorContext(ctx, "authkit: login: unusable password hash", "user_id", u.ID, "error", err)
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "corrupt_hash"})
		return Tokens{}, ErrInvalidCredentials
	}
	if !ok {
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "bad_password"})
		return Tokens{}, ErrInvalidCredentials
	}
	// The password was right. What follows must not be cut short by a
	// client that goes away: a budget not given back, or a session half
	// recorded, would count against the owner.
	ctx, cancel := a.detach(ctx)
	defer cancel()
	a.guessedRight(ctx, g)
	t, err := a.signIn(ctx, proof{user: u, methods: []string{MethodPassword}}, c)
	if err != nil {
		return Tokens{}, err
	}
	// Rehash only now: signIn's check must not take our own new hash for a
	// change of password. A hash that matched only the password as typed
	// predates normalization: its replacement holds the NFKC form.
	if legacy || a.hasher.NeedsRehash(u.PasswordHash) {
		a.rehash(ctx, u, password)
	}
	return t, nil
}

// wrongPasswordWork spends the hashing work that checking password against
// a real hash costs, for a login that has no usable hash to check. It
// returns only ErrBusy, when no hashing slot was free.
func (a *Authenticator) wrongPasswordWork(ctx context.Context, password string) error {
	if _, err := a.verifyPassword(ctx, a.dummyHash, password); errors.Is(err, ErrBusy) {
		return err
	}
	return nil
}

// rehash replaces u's hash by one of the configured cost, unless the
// password changed meanwhile. A failure only leaves the old hash in place.
func (a *Authenticator) rehash(ctx context.Context, u User, password string) {
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		return
	}
	_, err = a.updateUser(ctx, u.ID, UserUpdate{PasswordHash: &hash, IfPasswordHash: u.PasswordHash, UpdatedAt: a.now()})
	if err != nil && !errors.Is(err, ErrConflict) {
		a.cfg.Logger.WarnContext(ctx, "authkit: rehash password", "user_id", u.ID, "error", err)
	}
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	// UserID is the signed-in user.
	UserID string
	// SessionID is the caller's session, which survives the change; every
	// other session ends. Empty ends them all.
	SessionID string
	// AuthTime is when the caller signed in (its access token's auth_time,
	// Claims.AuthTime). For an account with a second factor the change
	// needs it within Config.ReauthenticationWindow, else
	// ErrReauthenticationRequired.
	AuthTime        time.Time
	CurrentPassword string
	NewPassword     string
}

// ChangePassword checks the current password and sets a new one. It first
// spends the password reset links mailed before, so that none can undo the
// change (if that fails, nothing changes); then, in one atomic step, it
// sets the password, ends every other session of the user and cuts off
// every access token issued before, including the caller's; then it mails
// a notice. When SessionID
// is given and that session still stands, the returned Tokens hold a fresh
// access token for it (and no refresh token: the session's stays valid).
// A wrong current password is a *ValidationError with CodeWrongPassword on
// "current_password"; a new password that Config.PasswordPolicy refuses,
// checked only once the current one was right, a *ValidationError on
// "new_password".
//
// Each current password given spends a unit of the same failure budgets
// as a login (see Limits): the known device's when c.Device is a valid
// credential of the account, else the account's strict budget for c's
// network and its ceiling. So a stolen access token cannot be used to
// guess the password, and guesses made elsewhere do not keep the owner's
// known device from changing it. When the budget is spent, ChangePassword
// returns a *RateLimitError without checking the password; a right one
// gives back what it does for Login. A disabled account gets
// ErrAccountDisabled.
func (a *Authenticator) ChangePassword(ctx context.Context, pc PasswordChange, c Client) (_ Tokens, err error) {
	ctx, end := a.observe(ctx, FlowChangePassword)
	defer func() { end(err) }()
	v := &ValidationError{}
	if pc.CurrentPassword == "" {
		v.Add("current_password", FieldError{Code: CodeRequired})
	}
	a.checkPassword(v, "new_password", pc.NewPassword)
	if err := v.err(); err != nil {
		return Tokens{}, err
	}
	u, err := a.store.UserByID(ctx, pc.UserID)
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: change password: %w", err)
	}
	if !u.Active {
		return Tokens{}, ErrAccountDisabled
	}
	if err := a.recentIfSecondFactor(ctx, u.ID, pc.AuthTime); err != nil {
		return Tokens{}, err
	}
	g, err := a.spendGuess(ctx, c, NormalizeEmail(u.Email))
	if err != nil {
		return Tokens{}, err
	}
	ok, err := a.verifyPassword(ctx, u.PasswordHash, pc.CurrentPassword)
	if errors.Is(err, ErrBusy) {
		return Tokens{}, err
	}
	if !ok || err != nil {
		a.emit(ctx, c, Event{Type: EventPasswordChangeFail, UserID: u.ID, SessionID: pc.SessionID, Reason: "bad_password"})
		return Tokens{}, fieldError("current_password", CodeWrongPassword)
	}
	a.guessedRight(ctx, g)
	policy := PasswordContext{Purpose: PasswordForChange, UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName}
	if err := a.applyPasswordPolicy(ctx, "new_password", pc.NewPassword, policy); err != nil {
		if errors.Is(err, ErrInvalidInput) {
			a.emit(ctx, c, Event{Type: EventPasswordChangeFail, UserID: u.ID, SessionID: pc.SessionID, Reason: "password_refused"})
		}
		return Tokens{}, err
	}
	newHash, err := a.hashPassword(ctx, pc.NewPassword)
	if err != nil {
		return Tokens{}, err
	}
	// A reset link mailed before the change would undo it: spend them
	// before the password changes, so that a failure on the way leaves
	// the old password, never the new one beside a live link.
	if err := a.store.DeleteUserTokens(ctx, u.ID, PurposeResetPassword); err != nil {
		return Tokens{}, fmt.Errorf("authkit: change password: spend reset links: %w", err)
	}
	now := a.now()
	u, err = a.updateUser(ctx, u.ID, UserUpdate{
		PasswordHash: &newHash, IfPasswordHash: u.PasswordHash,
		BumpTokenVersion: true, EndSessions: true, KeepSession: pc.SessionID, UpdatedAt: now,
	})
	if errors.Is(err, ErrConflict) {
		// The password changed since it was checked: the one given is no
		// longer the current one.
		return Tokens{}, fieldError("current_password", CodeWrongPassword)
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: change password: %w", err)
	}
	// And a link mailed while the change was under way.
	if err := a.store.DeleteUserTokens(ctx, u.ID, PurposeResetPassword); err != nil {
		a.cfg.Logger.WarnContext(ctx, "authkit: change password: spend reset links", "user_id", u.ID, "error", err)
	}
	a.emit(ctx, c, Event{Type: EventPasswordChange, UserID: u.ID, SessionID: pc.SessionID})
	a.queueNotice(u)
	t := Tokens{User: u}
	// A session that ended meanwhile (by a logout everywhere that raced
	// this change, say) gets no access token; nor does a store failure,
	// nor a failure of the host's claims: the password is changed, and
	// saying otherwise would leave the user believing the old one works.
	if pc.SessionID == "" {
		return t, nil
	}
	if s, err := a.liveSession(ctx, u.ID, pc.SessionID); err == nil {
		t.SessionID = s.ID
		custom, err := a.customClaims(ctx, u, s)
		if err != nil {
			a.cfg.Logger.ErrorContext(ctx, "authkit: change password: no access token", "user_id", u.ID, "error", err)
			return t, nil
		}
		if t.AccessToken, err = a.accessFor(u, s, custom, now, &t); err != nil {
			return Tokens{}, err
		}
	}
	return t, nil
}
