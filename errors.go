package authkit

import (
	"errors"
	"sort"
	"strings"
)

// Errors returned by the Authenticator's flows. Test for them with errors.Is;
// details are added by wrapping, so never compare error strings.
var (
	// ErrInvalidCredentials means the email or the password is wrong. The two
	// cases are deliberately indistinguishable.
	ErrInvalidCredentials = errors.New("authkit: invalid email or password")

	// ErrEmailTaken means a user with the same normalized email exists.
	ErrEmailTaken = errors.New("authkit: email already registered")

	// ErrAccountDisabled means the account exists but is not active. Login
	// returns it only after the right password was given.
	ErrAccountDisabled = errors.New("authkit: user account is disabled")

	// ErrEmailNotVerified means Config.RequireVerifiedEmail is set and the
	// account has not verified its email. Login returns it only after the
	// right password was given.
	ErrEmailNotVerified = errors.New("authkit: email not verified")

	// ErrInvalidToken means a token (access, refresh, verification or reset)
	// is malformed, forged, unknown, already spent, or no longer matches its
	// user.
	ErrInvalidToken = errors.New("authkit: invalid token")

	// ErrTokenExpired means a token was genuine but is past its expiry.
	ErrTokenExpired = errors.New("authkit: token expired")

	// ErrInvalidInput is the sentinel every *ValidationError unwraps to.
	ErrInvalidInput = errors.New("authkit: invalid input")

	// ErrRateLimited means a rate limit refused the request. The error is a
	// *RateLimitError that says when to retry.
	ErrRateLimited = errors.New("authkit: rate limited")

	// ErrBusy means the kit refused work because too much of it is already
	// waiting (for example password hashing under a login flood). The caller
	// may retry later.
	ErrBusy = errors.New("authkit: too busy, try again later")
)

// Errors a Store returns. The Authenticator translates them into the flow
// errors above; Store implementations must return them (possibly wrapped) so
// that errors.Is works.
var (
	// ErrNotFound means the record asked for does not exist.
	ErrNotFound = errors.New("authkit: not found")

	// ErrAlreadyExists means a unique key (email, token hash, id) is taken.
	ErrAlreadyExists = errors.New("authkit: already exists")

	// ErrConflict means a conditional write did not apply because the record
	// changed since it was read (a compare-and-swap lost).
	ErrConflict = errors.New("authkit: conflict")
)

// ValidationError reports input that breaks the kit's rules, with one or more
// messages per field (the JSON field names of the HTTP API: "email",
// "password", …). It unwraps to ErrInvalidInput.
type ValidationError struct {
	Fields map[string][]string
}

// Error returns the messages joined in a stable order.
func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("authkit: invalid input")
	for i, name := range names {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Fields[name], ", "))
	}
	return b.String()
}

// Unwrap returns ErrInvalidInput.
func (e *ValidationError) Unwrap() error { return ErrInvalidInput }

// add records msg for field, creating the map as needed.
func (e *ValidationError) add(field, msg string) {
	if e.Fields == nil {
		e.Fields = make(map[string][]string)
	}
	e.Fields[field] = append(e.Fields[field], msg)
}

// err returns e as an error, or nil when no field failed.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// fieldError is shorthand for a ValidationError with one message.
func fieldError(field, msg string) error {
	v := &ValidationError{}
	v.add(field, msg)
	return v
}
