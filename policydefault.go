package authkit

import (
	"context"
	_ "embed" // the list of common passwords
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The default password policy: refuse what NIST SP 800-63B section 3.1.1.2
// asks verifiers to refuse and can be checked here, with no service to
// call and no composition rules.

//go:generate go run ./internal/gencommon

// commonPasswords holds the common passwords the default policy refuses:
// lower-case, sorted byte-wise, one a line, each line ended by "\n" (see
// data/NOTICE.md for its source and licence). It is searched as it is, so
// it costs the package nothing at init and nothing on the heap.
//
//go:embed data/common-passwords.txt
var commonPasswords string

// maxNumericDigits is the length under which a password made only of
// digits is refused: such passwords are mostly dates, phone numbers and
// PINs, which an attacker tries early.
const maxNumericDigits = 12

// DefaultPasswordPolicy is the policy of an Authenticator whose
// Config.PasswordPolicy is nil. It refuses, case-insensitively and in this
// order:
//
//   - a password too similar to the user's details (CodePasswordTooSimilar):
//     one that is a piece of the email, its local part, the display name or
//     Config.AppName, or that is mostly one of them ("alice2024" for
//     alice@example.com), compared on letters and digits only;
//   - a common password (CodePasswordTooCommon): one of the 11,611
//     passwords of at least 8 characters among the 30,000 most common in
//     zxcvbn's list (see data/NOTICE.md), compared case-insensitively;
//   - a password of fewer than 12 digits and nothing else
//     (CodePasswordEntirelyNumeric);
//   - one character, or a block of two or three, repeated
//     (CodePasswordRepeated);
//   - a run of consecutive characters, up or down ("12345678",
//     "abcdefgh", "87654321"), (CodePasswordSequence).
//
// It makes no composition rules (no "one digit and one symbol"), as NIST
// asks. Its refusals are *PasswordRefusal errors worded as Django's
// validators word theirs, such as "This password is too common.". It never
// returns another error. Compose it with other policies with
// PasswordPolicies; turn it off with NoPasswordPolicy.
func DefaultPasswordPolicy(_ context.Context, password string, pc PasswordContext) error {
	folded := strings.ToLower(norm.NFKC.String(password))
	if err := tooSimilar(folded, pc); err != nil {
		return err
	}
	switch {
	case isCommonPassword(folded):
		return &PasswordRefusal{Code: CodePasswordTooCommon, Message: "This password is too common."}
	case folded != "" && isDigits(folded) && len(folded) < maxNumericDigits:
		return &PasswordRefusal{Code: CodePasswordEntirelyNumeric, Message: "This password is entirely numeric."}
	case isRepeated(folded):
		return &PasswordRefusal{Code: CodePasswordRepeated, Message: "This password is made of repeated characters."}
	case isSequence(folded):
		return &PasswordRefusal{Code: CodePasswordSequence, Message: "This password is a sequence of consecutive characters."}
	}
	return nil
}

// isCommonPassword reports whether the lower-cased password is in
// commonPasswords, by a binary search over its lines.
func isCommonPassword(password string) bool {
	list := commonPasswords
	// lo and hi are always the starts of lines (or the end of list).
	lo, hi := 0, len(list)
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + strings.LastIndexByte(list[lo:mid], '\n') + 1
		end := start + strings.IndexByte(list[start:hi], '\n')
		if end < start {
			return false // not a list of lines ended by "\n"
		}
		switch line := list[start:end]; {
		case password == line:
			return true
		case password < line:
			hi = start
		default:
			lo = end + 1
		}
	}
	return false
}

// similarTo is one of the user's details a password must not be made of,
// and how a refusal names it.
type similarTo struct {
	value   string
	message string
}

// minSimilarLength is the fewest letters and digits a detail must have to
// be compared: a password that merely contains "al" or "io" is fine.
const minSimilarLength = 3

// tooSimilar refuses a lower-cased password that is a piece of one of the
// user's details, or that is at least half made of one, comparing letters
// and digits only ("Alice.Smith" and "alice smith!" are both
// "alicesmith").
func tooSimilar(password string, pc PasswordContext) error {
	p := skeleton(password)
	if p == "" {
		return nil
	}
	email := strings.ToLower(pc.Email)
	details := []similarTo{
		{email, "The password is too similar to the email address."},
		{localPart(email), "The password is too similar to the email address."},
		{pc.DisplayName, "The password is too similar to the display name."},
		{pc.AppName, "The password is too similar to the name of this service."},
	}
	for _, d := range details {
		v := skeleton(strings.ToLower(norm.NFKC.String(d.value)))
		if utf8.RuneCountInString(v) < minSimilarLength {
			continue
		}
		if strings.Contains(v, p) || (strings.Contains(p, v) && 2*len(v) >= len(p)) {
			return &PasswordRefusal{Code: CodePasswordTooSimilar, Message: d.message}
		}
	}
	return nil
}

// localPart returns the part of an email before its last "@", or "".
func localPart(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return email[:at]
}

// skeleton keeps the letters and digits of s.
func skeleton(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// isRepeated reports whether s is a block of one to three characters
// repeated, at least twice over.
func isRepeated(s string) bool {
	runes := []rune(s)
	for n := 1; n <= 3 && 2*n <= len(runes); n++ {
		if len(runes)%n != 0 {
			continue
		}
		repeated := true
		for i := n; i < len(runes) && repeated; i++ {
			repeated = runes[i] == runes[i-n]
		}
		if repeated {
			return true
		}
	}
	return false
}

// isSequence reports whether s, of two characters or more, is a run of
// consecutive code points, ascending or descending, of letters or digits.
func isSequence(s string) bool {
	runes := []rune(s)
	if len(runes) < 2 {
		return false
	}
	step := runes[1] - runes[0]
	if step != 1 && step != -1 {
		return false
	}
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
		if i > 0 && r-runes[i-1] != step {
			return false
		}
	}
	return true
}
