package authkit

import (
	"context"
	"errors"
	"fmt"
)

// Verifying an email address: a link mailed at registration (or on
// request), spent once to mark the address verified.

// ResendVerification queues a fresh verification link for an unverified
// account, spending the older links. It answers the same, at once, whether
// or not the account exists and whatever its state; the lookup happens off
// the request path. Only malformed input is an error.
func (a *Authenticator) ResendVerification(ctx context.Context, email string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowResendVerification)
	defer func() { end(err) }()
	return a.requestLink(ctx, email, c, limitResendEmail, EventVerificationRequested, a.emailVerificationMail())
}

// VerifyEmail spends a verification token and marks the address verified.
// A token that was already spent on an address that is now verified is not
// an error: alreadyVerified is true, so a link opened twice (by a mail
// scanner first, say) still answers success. Otherwise it returns
// ErrInvalidToken or ErrTokenExpired.
func (a *Authenticator) VerifyEmail(ctx context.Context, token string, c Client) (alreadyVerified bool, err error) {
	ctx, end := a.observe(ctx, FlowVerifyEmail)
	defer func() { end(err) }()
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return false, err
	}
	if token == "" || len(token) > 512 {
		return false, ErrInvalidToken
	}
	hash := hashSecret(token)
	now := a.now()
	t, err := a.store.ConsumeToken(ctx, hash, PurposeVerifyEmail, now)
	if errors.Is(err, ErrNotFound) {
		if a.spentOnVerified(ctx, hash) {
			return true, nil
		}
		a.emit(ctx, c, Event{Type: EventTokenInvalid, Reason: "verify_email"})
		return false, ErrInvalidToken
	}
	if err != nil {
		return false, fmt.Errorf("authkit: verify email: %w", err)
	}
	if now.After(t.ExpiresAt) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: t.UserID, Reason: "expired"})
		return false, ErrTokenExpired
	}
	verified := true
	if _, err := a.updateUser(ctx, t.UserID, UserUpdate{EmailVerified: &verified, UpdatedAt: now}); err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, ErrInvalidToken
		}
		return false, fmt.Errorf("authkit: verify email: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventEmailVerified, UserID: t.UserID})
	return false, nil
}

// spentOnVerified reports whether hash names a verification token that was
// used and whose user is verified now.
func (a *Authenticator) spentOnVerified(ctx context.Context, hash string) bool {
	t, err := a.store.Token(ctx, hash)
	if err != nil || t.Purpose != PurposeVerifyEmail || t.UsedAt.IsZero() {
		return false
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	return err == nil && u.EmailVerified
}

// DeclineRegistration answers "I did not sign up" from the owner of an
// address that someone registered: perhaps an attacker, who chose the
// password and hopes the owner will verify the account for them (account
// pre-hijacking). The verification token mailed to the address is the
// proof of the inbox. It spends the token and deletes the account, still
// unverified, with its sessions and tokens, so that every access token and
// session of whoever registered it stops working and the owner can
// register the address as their own.
//
// It returns ErrInvalidToken or ErrTokenExpired for a bad token, and
// ErrInvalidToken for an account that is verified already: that owner
// declines nothing, and resets the password instead. An owner whose link
// expired asks for a fresh one (ResendVerification).
func (a *Authenticator) DeclineRegistration(ctx context.Context, token string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowDeclineRegistration)
	defer func() { end(err) }()
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return err
	}
	if token == "" || len(token) > 512 {
		return ErrInvalidToken
	}
	now := a.now()
	t, err := a.store.ConsumeToken(ctx, hashSecret(token), PurposeVerifyEmail, now)
	if errors.Is(err, ErrNotFound) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, Reason: "decline_registration"})
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: decline registration: %w", err)
	}
	if now.After(t.ExpiresAt) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: t.UserID, Reason: "expired"})
		return ErrTokenExpired
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrInvalidToken
	case err != nil:
		return fmt.Errorf("authkit: decline registration: %w", err)
	case u.EmailVerified:
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: u.ID, Reason: "decline_verified"})
		return ErrInvalidToken
	}
	if err := a.deleteUser(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("authkit: decline registration: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventUserDeleted, UserID: u.ID, Reason: "registration_declined"})
	return nil
}
