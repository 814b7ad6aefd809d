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
func (a *Authenticator) ResendVerification(ctx context.Context, email string, c Client) error {
	return a.requestLink(ctx, email, c, limitResendEmail, EventVerificationRequested, a.emailVerificationMail())
}

// VerifyEmail spends a verification token and marks the address verified.
// A token that was already spent on an address that is now verified is not
// an error: alreadyVerified is true, so a link opened twice (by a mail
// scanner first, say) still answers success. Otherwise it returns
// ErrInvalidToken or ErrTokenExpired.
func (a *Authenticator) VerifyEmail(ctx context.Context, token string, c Client) (alreadyVerified bool, err error) {
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
	if _, err := a.store.UpdateUser(ctx, t.UserID, UserUpdate{EmailVerified: &verified, UpdatedAt: now}); err != nil {
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
