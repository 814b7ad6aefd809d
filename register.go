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
// It returns a *ValidationError (wrapping ErrInvalidInput) for bad input,
// a password that Config.PasswordPolicy refuses among it, and ErrEmailTaken
// if the normalized email is registered. The email is
// stored as NormalizeEmail gives it; a display name that holds control or
// invisible characters (CodeControlCharacters) or a link
// (CodeContainsLink) is refused.
//
// With Config.RequireVerifiedEmail set, nobody is signed in (SignedIn is
// false): the user logs in once the emailed link has verified the address.
//
// With Config.RegisterQuietly set, a taken address is no error: Register
// answers as for a new one, signing nobody in, with a Registered whose
// User holds only the email and display name given (no ID, for either),
// and mails the address's owner instead. A host that needs the new user's
// id takes it from the EventUserCreated event.
func (a *Authenticator) Register(ctx context.Context, r Registration, c Client) (_ Registered, err error) {
	ctx, end := a.observe(ctx, FlowRegister)
	defer func() { end(err) }()
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
	id, err := newID()
	if err != nil {
		return Registered{}, err
	}
	pc := PasswordContext{Purpose: PasswordForRegister, UserID: id, Email: email, DisplayName: name}
	if err := a.applyPasswordPolicy(ctx, "password", r.Password, pc); err != nil {
		if errors.Is(err, ErrInvalidInput) {
			a.emit(ctx, c, Event{Type: EventUserCreateFail, Reason: "password_refused"})
		}
		return Registered{}, err
	}
	hash, err := a.hashPassword(ctx, r.Password)
	if err != nil {
		return Registered{}, err
	}
	now := a.now()
	u := User{ID: id, Email: email, DisplayName: name, PasswordHash: hash, Active: true, CreatedAt: now, UpdatedAt: now}
	// quiet is what a quiet registration answers, taken address or not.
	quiet := Registered{User: User{Email: email, DisplayName: name}}
	if err := a.store.CreateUser(ctx, u); err != nil {
		switch {
		case !errors.Is(err, ErrAlreadyExists):
			return Registered{}, fmt.Errorf("authkit: register: %w", err)
		case !a.cfg.RegisterQuietly:
			return Registered{}, ErrEmailTaken
		}
		a.emit(ctx, c, Event{Type: EventUserCreateFail, Reason: "email_taken"})
		a.queueAlreadyRegistered(email)
		return quiet, nil
	}
	// The account exists: what follows must not be cut short by a client
	// that goes away.
	ctx, cancel := a.detach(ctx)
	defer cancel()
	a.emit(ctx, c, Event{Type: EventUserCreated, UserID: u.ID})
	a.queueLink(a.emailVerificationMail(), a.byID(u.ID))
	switch {
	case a.cfg.RegisterQuietly:
		return quiet, nil
	case a.cfg.RequireVerifiedEmail:
		// A new address is unverified: signIn would refuse it.
		return Registered{User: u}, nil
	}
	t, err := a.signIn(ctx, proof{user: u, methods: []string{MethodPassword}}, c)
	if err != nil {
		return Registered{}, err
	}
	return Registered{User: u, SignedIn: true, Tokens: t}, nil
}
