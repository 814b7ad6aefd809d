package authkit

import (
	"context"
	"errors"
	"fmt"
)

// The password policy: what decides, beyond the length rules of
// checkPassword, whether a new password may be set. The default policy is
// in policydefault.go.

// PasswordPurpose says which flow is setting a password.
type PasswordPurpose string

// The purposes of PasswordContext.
const (
	// PasswordForRegister: Register, for a new account.
	PasswordForRegister PasswordPurpose = "register"
	// PasswordForReset: ResetPassword, with a reset link.
	PasswordForReset PasswordPurpose = "reset"
	// PasswordForChange: ChangePassword, by a signed-in user who gave the
	// current password.
	PasswordForChange PasswordPurpose = "change"
)

// PasswordContext tells a PasswordPolicy who is setting a password, and
// why, so that the policy can refuse a password made of the user's own
// details.
type PasswordContext struct {
	// Purpose is the flow that sets the password.
	Purpose PasswordPurpose
	// UserID is the account's id; for PasswordForRegister, the id the new
	// account will have if it is created.
	UserID string
	// Email is the account's email, normalized (see NormalizeEmail).
	Email string
	// DisplayName is the account's display name; for PasswordForRegister,
	// the one given or else the one derived from the email.
	DisplayName string
	// AppName is Config.AppName, the name of the service.
	AppName string
}

// PasswordPolicy decides whether a new password may be set. The
// Authenticator calls it in every flow that sets a password (Register,
// ResetPassword, ChangePassword), after that flow has checked its proof
// (the input's format, the reset token, the current password) and the
// length rules (Config.MinPasswordLength, MaxPasswordBytes), and before it
// hashes the password or spends anything: a refused password leaves a
// reset link usable, so the user may try again with the same link.
//
// password is the NFKC form of the password given (the form that is
// hashed), never over MaxPasswordBytes. The policy returns nil to accept
// it; a *PasswordRefusal to refuse it, which the flow reports as a
// FieldError on the password field (a *ValidationError, so httpauth
// answers 400 invalid_input with the refusal's message); or any other
// error when it cannot decide (a breach service that does not answer,
// say), which fails the flow without blaming the user: return one that
// wraps ErrBusy for "try again later" (httpauth: 503 unavailable with
// Retry-After); anything else is an internal error (httpauth: 500, logged).
//
// A policy must be safe for concurrent use and honour ctx. It must never
// log or keep the password.
type PasswordPolicy func(ctx context.Context, password string, pc PasswordContext) error

// PasswordRefusal is the error a PasswordPolicy returns to refuse a
// password. It unwraps to ErrPasswordRefused.
type PasswordRefusal struct {
	// Code says, in a stable machine-readable word, why the password is
	// refused, such as CodePasswordTooCommon. Policies of their own may
	// use codes of their own.
	Code FieldCode
	// Message says why for people, in English, such as "This password is
	// too common."; it becomes the FieldError's Message. If empty, the
	// edge words the Code.
	Message string
}

// Error returns "authkit: password refused: " and the code.
func (e *PasswordRefusal) Error() string {
	return "authkit: password refused: " + string(e.Code)
}

// Unwrap returns ErrPasswordRefused.
func (e *PasswordRefusal) Unwrap() error { return ErrPasswordRefused }

// NoPasswordPolicy accepts every password that meets the length rules. Set
// Config.PasswordPolicy to it to turn the default policy off (NIST SP
// 800-63B asks verifiers to refuse common and compromised passwords: do
// so only when the host checks passwords some other way).
func NoPasswordPolicy(context.Context, string, PasswordContext) error { return nil }

// PasswordPolicies returns a policy that runs each of policies in turn and
// returns the first error, so that a host can add checks to the default
// policy:
//
//	cfg.PasswordPolicy = authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, myPolicy)
//
// Nil policies are skipped. Put cheap, local checks before ones that cost
// a network call.
func PasswordPolicies(policies ...PasswordPolicy) PasswordPolicy {
	policies = append([]PasswordPolicy(nil), policies...)
	return func(ctx context.Context, password string, pc PasswordContext) error {
		for _, p := range policies {
			if p == nil {
				continue
			}
			if err := p(ctx, password, pc); err != nil {
				return err
			}
		}
		return nil
	}
}

// applyPasswordPolicy runs the configured policy on a new password that
// passed checkPassword. A refusal comes back as a *ValidationError on
// field; any other error of the policy, wrapped.
func (a *Authenticator) applyPasswordPolicy(ctx context.Context, field, password string, pc PasswordContext) error {
	pc.AppName = a.cfg.AppName
	err := a.cfg.PasswordPolicy(ctx, normalizePassword(password), pc)
	if err == nil {
		return nil
	}
	var refusal *PasswordRefusal
	if errors.As(err, &refusal) {
		v := &ValidationError{}
		v.Add(field, FieldError{Code: refusal.Code, Message: refusal.Message})
		return v
	}
	return fmt.Errorf("authkit: password policy: %w", err)
}
