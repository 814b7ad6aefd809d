package authkit

import (
	"context"
	"errors"
	"fmt"
)

// Recovering a forgotten password: a reset link mailed to the address,
// spent once to set a new password.

// ForgotPassword queues a password reset link for an active account,
// spending older reset links. It answers the same, at once, whether or not
// the account exists; the lookup happens off the request path. Only
// malformed input is an error.
func (a *Authenticator) ForgotPassword(ctx context.Context, email string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowForgotPassword)
	defer func() { end(err) }()
	return a.requestLink(ctx, email, c, limitForgotEmail, EventPasswordResetRequested, a.resetMail())
}

// ResetPassword spends a reset token and sets a new password. In one atomic
// step it also marks the email verified (the mail proved it), ends every
// session of the user and cuts off every access token issued before. It
// signs nobody in. It returns a *ValidationError for a password that breaks
// the length rules or that Config.PasswordPolicy refuses (the token is not
// spent then: the user may try another password with the same link), and
// ErrInvalidToken or ErrTokenExpired for a bad token. The policy runs only
// once the token was found good.
//
// A completed reset clears the account's failure budgets (see Limits):
// the ceiling (LoginFailuresSustained) and the strict budget
// (LoginFailures) of c's network. The mail proved the owner, so an
// attacker who kept the account's budgets spent cannot keep the new
// password from working at once, from c's network or any other the
// attacker has not guessed from. The strict budgets of the networks the
// guesses came from are left to refill on their own (by default one
// guess a minute each, under the ceiling).
func (a *Authenticator) ResetPassword(ctx context.Context, token, password string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowResetPassword)
	defer func() { end(err) }()
	v := &ValidationError{}
	if token == "" {
		v.Add("token", FieldError{Code: CodeRequired})
	}
	a.checkPassword(v, "password", password)
	if err := v.err(); err != nil {
		return err
	}
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return err
	}
	if len(token) > 512 {
		return ErrInvalidToken
	}
	hash := hashSecret(token)
	now := a.now()
	// Look before hashing, so that bogus tokens cost no password work; the
	// token is spent atomically below.
	found, err := a.store.Token(ctx, hash)
	if err != nil || found.Purpose != PurposeResetPassword || !found.UsedAt.IsZero() {
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("authkit: reset password: %w", err)
		}
		a.emit(ctx, c, Event{Type: EventTokenInvalid, Reason: "reset_password"})
		return ErrInvalidToken
	}
	// The policy judges the password before the token is spent, so that a
	// refused password leaves the link usable. An expired token is
	// reported as such below, whatever the password.
	if !now.After(found.ExpiresAt) {
		if err := a.resetPolicy(ctx, found.UserID, password); err != nil {
			return err
		}
	}
	newHash, err := a.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	t, err := a.store.ConsumeToken(ctx, hash, PurposeResetPassword, now)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: reset password: %w", err)
	}
	if now.After(t.ExpiresAt) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: t.UserID, Reason: "expired"})
		return ErrTokenExpired
	}
	verified := true
	u, err := a.updateUser(ctx, t.UserID, UserUpdate{
		PasswordHash: &newHash, EmailVerified: &verified,
		BumpTokenVersion: true, EndSessions: true, UpdatedAt: now,
	})
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: reset password: %w", err)
	}
	if err := a.store.DeleteUserTokens(ctx, u.ID, PurposeResetPassword); err != nil {
		a.cfg.Logger.WarnContext(ctx, "authkit: reset password: delete spare tokens", "user_id", u.ID, "error", err)
	}
	// The password is set: clear the budgets even if the client went away
	// meanwhile, or the owner would find the new one throttled.
	bctx, cancel := a.detach(ctx)
	a.clearAccountBudgets(bctx, c, NormalizeEmail(u.Email))
	cancel()
	a.emit(ctx, c, Event{Type: EventPasswordReset, UserID: u.ID})
	a.queueNotice(u)
	return nil
}

// resetPolicy applies the password policy to a reset of userID's password.
// A user gone since the token was looked up makes the token invalid.
func (a *Authenticator) resetPolicy(ctx context.Context, userID, password string) error {
	u, err := a.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: reset password: %w", err)
	}
	pc := PasswordContext{Purpose: PasswordForReset, UserID: u.ID, Email: u.Email, DisplayName: u.DisplayName}
	return a.applyPasswordPolicy(ctx, "password", password, pc)
}
