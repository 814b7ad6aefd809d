package authkit

import "strings"

// NormalizeEmail returns the form of an email address the kit stores and
// compares: surrounding white space removed and lower-cased. It does not
// validate the address.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}
