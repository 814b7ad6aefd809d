package authkit

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Input rules of the flows. Each check records FieldErrors with stable
// codes in a *ValidationError; how they are worded is for the edge to say.

const (
	maxEmailLength       = 254
	maxDisplayNameLength = 255
)

// NormalizeEmail returns the form of an email address the kit stores and
// compares: surrounding white space removed and lower-cased. It does not
// validate the address.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// checkEmail validates an already normalized email.
func checkEmail(v *ValidationError, field, email string) {
	switch {
	case email == "":
		v.Add(field, FieldError{Code: CodeRequired})
	case !validEmail(email):
		v.Add(field, FieldError{Code: CodeInvalidEmail})
	}
}

// validEmail accepts a bare addr-spec with a dotted domain, as a sign-up
// form would: no display name, no comments, no white space.
func validEmail(email string) bool {
	if len(email) > maxEmailLength || strings.ContainsAny(email, " \t\r\n<>()\",;\\") {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// checkDisplayName validates a trimmed display name: at most 255
// characters of valid UTF-8, and none that controls how text is laid out
// (C0 and C1 controls, line and paragraph separators, bidirectional
// overrides and isolates), which could forge lines in emails and logs or
// disguise the name where it is shown.
func checkDisplayName(v *ValidationError, field, name string) {
	if utf8.RuneCountInString(name) > maxDisplayNameLength || !utf8.ValidString(name) {
		v.Add(field, FieldError{Code: CodeTooLong, Limit: maxDisplayNameLength})
		return
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			(r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') {
			v.Add(field, FieldError{Code: CodeControlCharacters})
			return
		}
	}
}

// checkPassword applies the password policy to a new password: at least
// Config.MinPasswordLength characters and at most MaxPasswordBytes bytes.
func (a *Authenticator) checkPassword(v *ValidationError, field, password string) {
	switch {
	case password == "":
		v.Add(field, FieldError{Code: CodeRequired})
	case len(password) > MaxPasswordBytes:
		v.Add(field, FieldError{Code: CodeTooLong, Limit: MaxPasswordBytes})
	case utf8.RuneCountInString(password) < a.cfg.MinPasswordLength:
		v.Add(field, FieldError{Code: CodeTooShort, Limit: a.cfg.MinPasswordLength})
	}
}

// checkGivenPassword checks a password given to be compared with a stored
// one: present, and not longer than any password could be.
func checkGivenPassword(v *ValidationError, field, password string) {
	switch {
	case password == "":
		v.Add(field, FieldError{Code: CodeRequired})
	case len(password) > MaxPasswordBytes:
		v.Add(field, FieldError{Code: CodeTooLong, Limit: MaxPasswordBytes})
	}
}
