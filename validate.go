package authkit

import (
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/unicode/norm"
)

// Input rules of the flows. Each check records FieldErrors with stable
// codes in a *ValidationError; how they are worded is for the edge to say.

const (
	maxEmailLength       = 254 // RFC 5321's path, less its angle brackets
	maxLocalPartLength   = 64  // bytes, RFC 5321
	maxDomainLength      = 253 // bytes of the ASCII form, RFC 1035
	maxLabelLength       = 63  // bytes of the ASCII form, RFC 1035
	maxDisplayNameLength = 255
)

// emailDomains validates the domain of an email address as a host name
// that could be registered (RFC 5891 section 4, UTS #46 without mapping):
// it refuses what a lookup would first have to map, such as upper case,
// full-width letters and ignored characters like U+00AD SOFT HYPHEN, so
// nothing is silently dropped from an address, and converts between the
// Unicode form (U-labels) and the ASCII one (A-labels, "xn--…").
var emailDomains = idna.Registration

// NormalizeEmail returns the form of an email address the kit stores and
// compares: surrounding white space (Unicode's, U+00A0 NO-BREAK SPACE and
// U+3000 IDEOGRAPHIC SPACE among it) removed, lower-cased and
// NFC-normalized, with an internationalized domain in its ASCII form, so
// that "User@Bücher.example" and "user@xn--bcher-kva.example" are one
// address, stored as "user@xn--bcher-kva.example". A domain that is not a
// valid host name is left as it is, for checkEmail to refuse. It does not
// validate the address, and it is idempotent.
func NormalizeEmail(email string) string {
	email = strings.TrimSpace(email)
	if !utf8.ValidString(email) {
		return email
	}
	email = norm.NFC.String(strings.ToLower(email))
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	if domain, err := emailDomains.ToASCII(email[at+1:]); err == nil {
		return email[:at+1] + domain
	}
	return email
}

// checkEmail validates an email normalized by NormalizeEmail.
func checkEmail(v *ValidationError, field, email string) {
	switch {
	case email == "":
		v.Add(field, FieldError{Code: CodeRequired})
	case !validEmail(email):
		v.Add(field, FieldError{Code: CodeInvalidEmail})
	}
}

// validEmail accepts a bare addr-spec with a dotted domain, as a sign-up
// form would: no display name, no comments, no quoted local part, no white
// space. It refuses:
//
//   - control, format and separator characters (Unicode Cc, Cf, Zl, Zp, Zs:
//     NUL, line breaks, U+200B ZERO WIDTH SPACE, bidirectional controls,
//     U+00A0 NO-BREAK SPACE, U+3000 IDEOGRAPHIC SPACE, …) anywhere, in the
//     domain's Unicode form too, and invalid UTF-8;
//   - more than 254 bytes in all, more than 64 in the local part;
//   - domain literals ("[192.0.2.1]") and numeric top-level labels
//     ("192.0.2.1"): mail goes to host names only;
//   - a domain that is not a valid IDNA host name, or not in the ASCII form
//     NormalizeEmail gives it, or longer than 253 bytes in that form, or
//     with a label over 63 bytes.
func validEmail(email string) bool {
	if len(email) > maxEmailLength || !utf8.ValidString(email) ||
		hasSeparatorOrControl(email) || strings.ContainsAny(email, " \t\r\n<>()\",;\\[]") {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at > maxLocalPartLength {
		return false
	}
	return validEmailDomain(email[at+1:])
}

// validEmailDomain reports whether domain is a dotted host name in the
// ASCII form NormalizeEmail gives it, within DNS's lengths, whose Unicode
// form holds no character validEmail refuses.
func validEmailDomain(domain string) bool {
	if ascii, err := emailDomains.ToASCII(domain); err != nil || ascii != domain || len(domain) > maxDomainLength {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabelLength {
			return false
		}
	}
	if isDigits(labels[len(labels)-1]) {
		return false
	}
	// An A-label may spell a character that the Unicode form would show,
	// such as U+200D ZERO WIDTH JOINER after a virama; the address must
	// pass in either spelling.
	unicodeForm, err := emailDomains.ToUnicode(domain)
	return err == nil && !hasSeparatorOrControl(unicodeForm)
}

// hasSeparatorOrControl reports whether s holds a control, format or
// separator character (Unicode Cc, Cf, Zl, Zp or Zs).
func hasSeparatorOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs)
	}) >= 0
}

// isDigits reports whether s holds ASCII digits only (true for "").
func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// checkDisplayName validates a trimmed display name: at most 255
// characters of valid UTF-8; no character that controls how text is laid
// out or that is invisible (CodeControlCharacters); and nothing a mail
// program or a browser would turn into a link (CodeContainsLink).
//
// Refused as controls are Unicode's Cc (C0 and C1 controls), Cf (format
// characters: bidirectional overrides and isolates, U+200B ZERO WIDTH
// SPACE, U+00AD SOFT HYPHEN, U+FEFF, the tag characters, …), and the line
// and paragraph separators U+2028 and U+2029: they could forge lines in
// emails and logs, disguise the name where it is shown, or hide text in it.
// The one exception is U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH
// JOINER between two letters, marks or symbols, where they spell emoji
// sequences such as "👩‍💻" and words of Persian and the Indic scripts;
// next to anything else (a dot, a space, another joiner, either end of the
// name) they are refused. Other spaces, U+3000 IDEOGRAPHIC SPACE among
// them, are allowed.
//
// The rule for links is in containsLink.
func checkDisplayName(v *ValidationError, field, name string) {
	if utf8.RuneCountInString(name) > maxDisplayNameLength || !utf8.ValidString(name) {
		v.Add(field, FieldError{Code: CodeTooLong, Limit: maxDisplayNameLength})
		return
	}
	if hasLayoutControl(name) {
		v.Add(field, FieldError{Code: CodeControlCharacters})
		return
	}
	if containsLink(name) {
		v.Add(field, FieldError{Code: CodeContainsLink})
	}
}

// hasLayoutControl reports whether name holds a character that
// checkDisplayName refuses as a control.
func hasLayoutControl(name string) bool {
	var prev rune = -1
	for i, r := range name {
		switch {
		case r == '\u200C' || r == '\u200D':
			next, _ := utf8.DecodeRuneInString(name[i+utf8.RuneLen(r):])
			if !joins(prev) || !joins(next) {
				return true
			}
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp):
			return true
		}
		prev = r
	}
	return false
}

// joins reports whether a zero-width joiner or non-joiner may stand next
// to r: a letter, a mark or a symbol.
func joins(r rune) bool {
	return r >= 0 && r != utf8.RuneError && unicode.In(r, unicode.L, unicode.M, unicode.S)
}

// linkScheme finds a URL scheme that needs no "//", such as
// "mailto:x@example.com" or "javascript:…": one of a few well-known
// schemes at the start of a word, followed by something other than a
// space.
var linkScheme = regexp.MustCompile(`(^|[^\p{L}\p{N}])(https?|ftps?|mailto|javascript|vbscript|data|file|sms|tel):[^\s]`)

// containsLink reports whether a display name holds something that mail
// programs, chat clients and browsers turn into a link, or that a reader
// would type into an address bar. The name is first folded with NFKC and
// lower-cased, its invisible characters (default-ignorable code points:
// joiners, variation selectors, Hangul fillers, …) removed, and the
// ideographic full stops taken for dots, so that "ＥＶＩＬ．ｃｏｍ",
// "evil。com" and "ev\u200Dil.c\uFE0Fom" all count as "evil.com". Then it
// contains a link when it holds
//
//   - "://" anywhere, or a scheme such as "mailto:", "javascript:" or
//     "data:" at the start of a word and followed by a non-space;
//   - a word whose first label is "www", such as "www.anything";
//   - a word that is a dotted host name under a top-level domain of ICANN
//     (the public suffix list): "evil.com", "bob@evil.co.uk",
//     "evil.com/prize", "пример.рф", but not "J. R. R. Tolkien", "Dr.Who",
//     "Mr.Smith", "St. John", "ACME Inc." or "john.doe";
//   - a word that is a dotted IPv4 address.
//
// A word is a run of letters, marks, digits, "-", "_" and "."; anything
// else separates words.
func containsLink(name string) bool {
	folded := strings.Map(func(r rune) rune {
		switch {
		case r == '\u3002' || r == '\uFF61':
			return '.'
		case unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point):
			return -1
		}
		return r
	}, strings.ToLower(norm.NFKC.String(name)))
	if strings.Contains(folded, "://") || linkScheme.MatchString(folded) {
		return true
	}
	words := strings.FieldsFunc(folded, func(r rune) bool {
		return !unicode.In(r, unicode.L, unicode.M, unicode.N) && r != '-' && r != '_' && r != '.'
	})
	for _, w := range words {
		w = strings.Trim(w, ".-_")
		labels := strings.Split(w, ".")
		if len(labels) < 2 || strings.Contains(w, "..") {
			continue
		}
		if labels[0] == "www" || isTopLevelDomain(labels[len(labels)-1]) {
			return true
		}
		if _, err := netip.ParseAddr(w); err == nil {
			return true
		}
	}
	return false
}

// isTopLevelDomain reports whether label, in Unicode or ASCII form, is a
// top-level domain that ICANN delegates.
func isTopLevelDomain(label string) bool {
	if isDigits(label) {
		return false
	}
	if ascii, err := idna.Lookup.ToASCII(label); err == nil {
		label = ascii
	}
	suffix, icann := publicsuffix.PublicSuffix(label)
	return icann && suffix == label
}

// derivedDisplayName returns the display name of an account registered
// without one: the local part of its normalized email, as the seed design
// does, when that passes checkDisplayName; otherwise (a local part such as
// "www.evil.com" that reads as a link) the empty name, so that no text is
// shown that would have been refused had it been given.
func derivedDisplayName(email string) string {
	name := email[:strings.LastIndexByte(email, '@')]
	v := &ValidationError{}
	checkDisplayName(v, "display_name", name)
	if v.err() != nil {
		return ""
	}
	return name
}

// normalizePassword returns the form of a password the kit hashes and
// compares: its NFKC normalization, as NIST SP 800-63B section 5.1.1.2
// recommends, so that a password typed as "ﬁ" (one ligature) and as "fi",
// or with a full-width digit and an ASCII one, is the same password. NFKC
// leaves ASCII as it is, so the hashes of ASCII passwords made before
// passwords were normalized still verify.
func normalizePassword(password string) string {
	return norm.NFKC.String(password)
}

// maxGivenPasswordBytes bounds the passwords worth normalizing at all:
// NFKC shrinks text at most fourfold (a four-byte mathematical letter
// becomes one ASCII letter), so no longer password normalizes to within
// MaxPasswordBytes.
const maxGivenPasswordBytes = 8 * MaxPasswordBytes

// PasswordRules are the rules a new password must meet, for a client to
// check before it sends one (the Authenticator checks them in any case):
// at least MinLength characters (Unicode code points) and at most MaxBytes
// bytes of UTF-8, both counted after NFKC normalization.
type PasswordRules struct {
	MinLength int
	MaxBytes  int
}

// PasswordRules returns the rules new passwords must meet.
func (a *Authenticator) PasswordRules() PasswordRules {
	return PasswordRules{MinLength: a.cfg.MinPasswordLength, MaxBytes: MaxPasswordBytes}
}

// checkPassword applies the password policy to a new password: at least
// Config.MinPasswordLength characters and at most MaxPasswordBytes bytes
// (bcrypt's limit), both counted in its NFKC form, the form that is hashed:
// a password of 72 bytes as typed may normalize to more, and is then
// refused as too long.
func (a *Authenticator) checkPassword(v *ValidationError, field, password string) {
	if password == "" {
		v.Add(field, FieldError{Code: CodeRequired})
		return
	}
	if len(password) > maxGivenPasswordBytes {
		v.Add(field, FieldError{Code: CodeTooLong, Limit: MaxPasswordBytes})
		return
	}
	normalized := normalizePassword(password)
	switch {
	case len(normalized) > MaxPasswordBytes:
		v.Add(field, FieldError{Code: CodeTooLong, Limit: MaxPasswordBytes})
	case utf8.RuneCountInString(normalized) < a.cfg.MinPasswordLength:
		v.Add(field, FieldError{Code: CodeTooShort, Limit: a.cfg.MinPasswordLength})
	}
}

// checkGivenPassword checks a password given to be compared with a stored
// one: present, and not longer than any stored password could be: over
// MaxPasswordBytes both in its NFKC form (the form hashed since passwords
// are normalized) and as given (the form hashed before).
func checkGivenPassword(v *ValidationError, field, password string) {
	switch {
	case password == "":
		v.Add(field, FieldError{Code: CodeRequired})
	case len(password) > MaxPasswordBytes &&
		(len(password) > maxGivenPasswordBytes || len(normalizePassword(password)) > MaxPasswordBytes):
		v.Add(field, FieldError{Code: CodeTooLong, Limit: MaxPasswordBytes})
	}
}
