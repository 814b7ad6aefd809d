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

	// ErrPasswordRefused is the sentinel every *PasswordRefusal unwraps
	// to: a PasswordPolicy refused a new password. The flows report a
	// refusal as a *ValidationError on the password field.
	ErrPasswordRefused = errors.New("authkit: password refused")
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

// FieldCode names, in a stable machine-readable word, what is wrong with
// an input field. Wording for people belongs at the edge (httpauth maps
// each code to the original design's message), so a translation is a
// table, not a change to the flows.
type FieldCode string

// The codes of FieldError.
const (
	// CodeRequired: the field is missing or empty.
	CodeRequired FieldCode = "required"
	// CodeInvalidEmail: not a bare address with a dotted domain.
	CodeInvalidEmail FieldCode = "invalid_email"
	// CodeTooShort: fewer characters than FieldError.Limit.
	CodeTooShort FieldCode = "too_short"
	// CodeTooLong: more than FieldError.Limit; bytes for a password (bcrypt's
	// limit), characters otherwise.
	CodeTooLong FieldCode = "too_long"
	// CodeControlCharacters: characters that control how text is laid out
	// (line breaks, bidirectional overrides, …), refused in display names.
	CodeControlCharacters FieldCode = "control_characters"
	// CodeContainsLink: a display name holds a URL, a "www." name, a dotted
	// host name under a top-level domain ("evil.com") or an IP address,
	// which mail programs and browsers would turn into a link.
	CodeContainsLink FieldCode = "contains_link"
	// CodeWrongPassword: the current password given is not the user's.
	CodeWrongPassword FieldCode = "wrong_password"
	// CodeWrongCode: the code given is not one the user's authenticator
	// app makes now.
	CodeWrongCode FieldCode = "wrong_code"
)

// The codes of password refusals (PasswordRefusal), on the field of a new
// password. The default policy (DefaultPasswordPolicy) uses the first
// five; the strength and breach subpackages the last two.
const (
	// CodePasswordTooCommon: the password is in the list of common
	// passwords.
	CodePasswordTooCommon FieldCode = "password_too_common"
	// CodePasswordTooSimilar: the password is, or is a large part of, the
	// user's email, its local part, the display name or the service's name.
	CodePasswordTooSimilar FieldCode = "password_too_similar"
	// CodePasswordEntirelyNumeric: the password is a short run of digits,
	// such as a date, a phone number or a PIN.
	CodePasswordEntirelyNumeric FieldCode = "password_entirely_numeric"
	// CodePasswordRepeated: the password is one character, or a block of
	// two or three, repeated ("aaaaaaaa", "abcabcabc").
	CodePasswordRepeated FieldCode = "password_repeated"
	// CodePasswordSequence: the password is a run of consecutive
	// characters ("12345678", "abcdefgh", "87654321").
	CodePasswordSequence FieldCode = "password_sequence"
	// CodePasswordTooWeak: a strength estimate found the password too easy
	// to guess.
	CodePasswordTooWeak FieldCode = "password_too_weak"
	// CodePasswordBreached: the password appears in a corpus of passwords
	// exposed by data breaches.
	CodePasswordBreached FieldCode = "password_breached"
)

// FieldError is one thing wrong with one input field.
type FieldError struct {
	// Code says what is wrong.
	Code FieldCode
	// Limit is the bound a CodeTooShort or CodeTooLong broke; otherwise 0.
	Limit int
	// Message, when not empty, says what is wrong for people, in English:
	// a PasswordPolicy's own words (PasswordRefusal.Message). The kit's
	// other checks leave it empty for the edge to word the Code.
	Message string
}

// ValidationError reports input that breaks the kit's rules, with one or
// more FieldErrors per field, keyed by the JSON field names of the HTTP API
// ("email", "password", …). It unwraps to ErrInvalidInput.
type ValidationError struct {
	Fields map[string][]FieldError
}

// Error returns the fields and their codes in a stable order, such as
// "authkit: invalid input: email: invalid_email; password: too_short".
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
		for j, fe := range e.Fields[name] {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(string(fe.Code))
		}
	}
	return b.String()
}

// Unwrap returns ErrInvalidInput.
func (e *ValidationError) Unwrap() error { return ErrInvalidInput }

// Add records a FieldError for field, creating the map as needed.
func (e *ValidationError) Add(field string, fe FieldError) {
	if e.Fields == nil {
		e.Fields = make(map[string][]FieldError)
	}
	e.Fields[field] = append(e.Fields[field], fe)
}

// err returns e as an error, or nil when no field failed.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// fieldError is shorthand for a ValidationError with one FieldError.
func fieldError(field string, code FieldCode) error {
	v := &ValidationError{}
	v.Add(field, FieldError{Code: code})
	return v
}
