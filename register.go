package authkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Registration is the input of Register.
type Registration struct {
	Email    string
	Password string
	// DisplayName is optional; if empty, the part of Email before the "@",
	// unless that would break the rules for display names (it reads as a
	// link, such as "www.evil.com"): then the display name stays empty.
	DisplayName string
}

// Registered is what Register returns: the new user and, when a session
// was started, its tokens.
type Registered struct {
	// User is the account as created.
	User User
	// SignedIn says whether Register started a session: false when
	// Config.RequireVerifiedEmail keeps the user out until the address is
	// verified.
	SignedIn bool
	// Tokens are the new session's tokens when SignedIn; else zero.
	Tokens Tokens
}

// Register creates an account with a password, queues the verification
// email and signs the new user in through the same step as every sign-in.
// It returns a *ValidationError (wrapping ErrInvalidInput) for bad input
// and ErrEmailTaken if the normalized email is registered. The email is
// stored as NormalizeEmail gives it; a display name that holds control or
// invisible characters (CodeControlCharacters) or a link
// (CodeContainsLink) is refused.
//
// With Config.RequireVerifiedEmail set, nobody is signed in (SignedIn is
// false): the user logs in once the emailed link has verified the address.
func (a *Authenticator) Register(ctx context.Context, r Registration, c Client) (Registered, error) {
	email := NormalizeEmail(r.Email)
	name := strings.TrimSpace(r.DisplayName)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	a.checkPassword(v, "password", r.Password)
	checkDisplayName(v, "display_name", name)
	if err := v.err(); err != nil {
		return Registered{}, err
	}
	if err := a.allow(ctx, c, limitRegisterAddr, a.cfg.Limits.RegisterAddr, c.Addr); err != nil {
		return Registered{}, err
	}
	if name == "" {
		name = derivedDisplayName(email)
	}
	hash, err := a.hashPassword(ctx, r.Password)
	if err != nil {
		return Registered{}, err
	}
	id, err := newID()
	if err != nil {
		return Registered{}, err
	}
	now := a.now()
	u := User{ID: id, Email: email, DisplayName: name, PasswordHash: hash, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := a.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrAlreadyExists) {
			return Registered{}, ErrEmailTaken
		}
		return Registered{}, fmt.Errorf("authkit: register: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventUserCreated, UserID: u.ID})
	a.queueLink(a.emailVerificationMail(), a.byID(u.ID))
	if a.cfg.RequireVerifiedEmail {
		// A new address is unverified: signIn would refuse it.
		return Registered{User: u}, nil
	}
	t, err := a.signIn(ctx, proof{user: u, methods: []string{MethodPassword}}, c)
	if err != nil {
		return Registered{}, err
	}
	return Registered{User: u, SignedIn: true, Tokens: t}, nil
}
