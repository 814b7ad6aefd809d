package strength

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"

	"github.com/authkit/authkit"
)

// DefaultMinScore is the least score Policy accepts when its MinScore is
// zero: 3, zxcvbn's "safely unguessable: moderate protection from an
// offline attack on a slow hash" (fewer than 10^10 guesses is 2 or less).
const DefaultMinScore = 3

// Policy refuses passwords whose zxcvbn score is under MinScore. Its
// zero value is ready to use.
type Policy struct {
	// MinScore is the least score accepted, 1 to 4. If zero,
	// DefaultMinScore.
	MinScore int

	// Inputs are words of the service that passwords should not be built
	// on, such as its domain or its products' names, besides the user's
	// details (email, its local part, display name and app name), which
	// Check always adds.
	Inputs []string
}

// Check is an authkit.PasswordPolicy: it refuses a password whose score
// is under MinScore with a *authkit.PasswordRefusal of code
// authkit.CodePasswordTooWeak, whose message says why. It returns an error
// wrapping authkit.ErrConfig when MinScore is out of range. It is safe for
// concurrent use; it takes some milliseconds a password, more for long
// ones, which MaxPasswordBytes bounds.
func (p Policy) Check(_ context.Context, password string, pc authkit.PasswordContext) error {
	min := p.MinScore
	if min == 0 {
		min = DefaultMinScore
	}
	if min < 0 || min > 4 {
		return fmt.Errorf("%w: strength: MinScore must be 0 to 4, not %d", authkit.ErrConfig, p.MinScore)
	}
	r := zxcvbn.PasswordStrength(password, p.inputs(pc))
	if r.Score >= min {
		return nil
	}
	return &authkit.PasswordRefusal{Code: authkit.CodePasswordTooWeak, Message: message(r.Sequence)}
}

// inputs are the words of pc and p.Inputs that zxcvbn matches as the
// "user_inputs" dictionary: each detail whole, and each of its words.
func (p Policy) inputs(pc authkit.PasswordContext) []string {
	email := strings.ToLower(pc.Email)
	local, domain, _ := strings.Cut(email, "@")
	details := append([]string{email, local, domain, pc.DisplayName, pc.AppName}, p.Inputs...)
	var words []string
	for _, d := range details {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" {
			continue
		}
		words = append(words, d)
		parts := strings.FieldsFunc(d, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(parts) > 1 {
			words = append(words, strings.Join(parts, ""))
			words = append(words, parts...)
		}
	}
	return words
}

// Feedback of zxcvbn 4.4.2 (feedback.coffee, MIT), which the Go port
// lacks.
const (
	suggestWords = "Add another word or two. Uncommon words are better."
	tooGuessable = "This password is too easy to guess."
)

// message words the feedback on a weak password: a warning about its
// longest pattern, and a suggestion.
func message(sequence []*match.Match) string {
	if len(sequence) == 0 {
		return tooGuessable + " " + suggestWords
	}
	longest := sequence[0]
	for _, m := range sequence[1:] {
		if len([]rune(m.Token)) > len([]rune(longest.Token)) {
			longest = m
		}
	}
	warning, suggestion := matchFeedback(longest, len(sequence) == 1)
	if warning == "" {
		warning = tooGuessable
	}
	if suggestion == "" {
		suggestion = suggestWords
	}
	return warning + " " + suggestion
}

// matchFeedback is zxcvbn's feedback on one pattern.
func matchFeedback(m *match.Match, sole bool) (warning, suggestion string) {
	switch m.Pattern {
	case "dictionary":
		return dictionaryFeedback(m, sole)
	case "spatial":
		if m.Turns == 1 {
			return "Straight rows of keys are easy to guess.", "Use a longer keyboard pattern with more turns."
		}
		return "Short keyboard patterns are easy to guess.", "Use a longer keyboard pattern with more turns."
	case "repeat":
		if len([]rune(m.BaseToken)) == 1 {
			return `Repeats like "aaa" are easy to guess.`, "Avoid repeated words and characters."
		}
		return `Repeats like "abcabcabc" are only slightly harder to guess than "abc".`, "Avoid repeated words and characters."
	case "sequence":
		return "Sequences like abc or 6543 are easy to guess.", "Avoid sequences."
	case "regex":
		if m.RegexName == "recent_year" {
			return "Recent years are easy to guess.", "Avoid recent years, and years that are associated with you."
		}
	case "date":
		return "Dates are often easy to guess.", "Avoid dates and years that are associated with you."
	}
	return "", ""
}

// dictionaryFeedback is zxcvbn's feedback on a word found in a
// dictionary.
func dictionaryFeedback(m *match.Match, sole bool) (warning, suggestion string) {
	switch m.DictionaryName {
	case "passwords":
		switch {
		case sole && !m.L33t && !m.Reversed && m.Rank <= 10:
			warning = "This is a top-10 common password."
		case sole && !m.L33t && !m.Reversed && m.Rank <= 100:
			warning = "This is a top-100 common password."
		case sole && !m.L33t && !m.Reversed:
			warning = "This is a very common password."
		default:
			warning = "This is similar to a commonly used password."
		}
	case "user_inputs":
		warning = "This is too similar to your email, your name or the name of this service."
	case "english_wikipedia":
		if sole {
			warning = "A word by itself is easy to guess."
		}
	case "surnames", "male_names", "female_names":
		if sole {
			warning = "Names and surnames by themselves are easy to guess."
		} else {
			warning = "Common names and surnames are easy to guess."
		}
	}
	word := []rune(m.Token)
	switch {
	case m.L33t:
		suggestion = "Predictable substitutions like '@' instead of 'a' don't help very much."
	case m.Reversed && len(word) >= 4:
		suggestion = "Reversed words aren't much harder to guess."
	case len(word) > 1 && unicode.IsUpper(word[0]) && strings.ToLower(string(word[1:])) == string(word[1:]):
		suggestion = "Capitalization doesn't help very much."
	case strings.ToUpper(m.Token) == m.Token && strings.ToLower(m.Token) != m.Token:
		suggestion = "All-uppercase is almost as easy to guess as all-lowercase."
	}
	return warning, suggestion
}
