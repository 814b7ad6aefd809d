package authkit_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/unicode/norm"

	"github.com/authkit/authkit"
)

// emailErrors registers email with a valid password and returns the
// field errors of "email", or nil when Register did not refuse the input.
func emailErrors(t testing.TB, k *kit, email string) ([]authkit.FieldError, error) {
	t.Helper()
	_, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: pw}, authkit.Client{})
	var v *authkit.ValidationError
	if !assert.ErrorAs(t, err, &v, "Register(%q) should refuse the input", email) {
		return nil, err
	}
	return v.Fields["email"], err
}

// forbiddenInEmails are control, format and separator characters (Unicode
// Cc, Cf, Zl, Zp, Zs), each refused anywhere in an email.
var forbiddenInEmails = map[string]string{
	"NUL":                       "\x00",
	"DEL":                       "\x7f",
	"tab":                       "\t",
	"NEL (C1)":                  "\u0085",
	"soft hyphen":               "\u00AD",
	"zero width space":          "\u200B",
	"zero width joiner":         "\u200D",
	"left-to-right mark":        "\u200E",
	"right-to-left override":    "\u202E",
	"first strong isolate":      "\u2068",
	"word joiner":               "\u2060",
	"byte order mark":           "\uFEFF",
	"tag letter A":              "\U000E0041",
	"no-break space":            "\u00A0",
	"en quad":                   "\u2000",
	"ideographic space":         "\u3000",
	"narrow no-break space":     "\u202F",
	"line separator":            "\u2028",
	"paragraph separator":       "\u2029",
	"mongolian vowel separator": "\u180E",
}

// TestEmailsRefuseControlFormatAndSeparatorCharacters puts each forbidden
// character at each position of an address. Inside it, the address is
// refused. At either end, white space is trimmed, and the address is the
// plain one; any other character is refused there too. No variant ever
// becomes an account of its own beside the plain address.
func TestEmailsRefuseControlFormatAndSeparatorCharacters(t *testing.T) {
	k := newKit(t, nil)
	const plain = "ab.cd@mail.example.com"
	_, err := k.Register(t.Context(), authkit.Registration{Email: plain, Password: pw}, authkit.Client{})
	require.NoError(t, err)

	inside := map[string]func(c string) string{
		"local part start":   func(c string) string { return c + plain },
		"local part middle":  func(c string) string { return "ab" + c + ".cd@mail.example.com" },
		"before the @":       func(c string) string { return "ab.cd" + c + "@mail.example.com" },
		"after the @":        func(c string) string { return "ab.cd@" + c + "mail.example.com" },
		"domain label":       func(c string) string { return "ab.cd@ma" + c + "il.example.com" },
		"before a dot":       func(c string) string { return "ab.cd@mail" + c + ".example.com" },
		"after a dot":        func(c string) string { return "ab.cd@mail." + c + "example.com" },
		"domain end":         func(c string) string { return plain + c },
		"padded local start": func(c string) string { return "  " + c + plain + "  " },
	}
	for name, c := range forbiddenInEmails {
		for where, place := range inside {
			t.Run(name+"/"+where, func(t *testing.T) {
				email := place(c)
				if where == "local part start" || where == "domain end" || where == "padded local start" {
					if unicode.IsSpace([]rune(c)[0]) {
						// White space at either end is trimmed: the plain
						// address, which is taken.
						assert.Equal(t, plain, authkit.NormalizeEmail(email))
						_, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: pw}, authkit.Client{})
						assert.ErrorIs(t, err, authkit.ErrEmailTaken, "Register(%q)", email)
						return
					}
				}
				fe, err := emailErrors(t, k, email)
				require.ErrorIs(t, err, authkit.ErrInvalidInput, "Register(%q)", email)
				assert.Equal(t, []authkit.FieldError{{Code: authkit.CodeInvalidEmail}}, fe, "Register(%q)", email)
			})
		}
	}
	// Every way in refuses them: logging in and asking for mail too.
	for _, email := range []string{"ab\u200B.cd@mail.example.com", "ab.cd@mail.example\u00A0.com"} {
		_, err := k.Login(t.Context(), email, pw, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrInvalidInput, "Login(%q)", email)
		assert.ErrorIs(t, k.ForgotPassword(t.Context(), email, authkit.Client{}), authkit.ErrInvalidInput, "ForgotPassword(%q)", email)
		assert.ErrorIs(t, k.ResendVerification(t.Context(), email, authkit.Client{}), authkit.ErrInvalidInput, "ResendVerification(%q)", email)
	}
}

// TestEmailLengthsAndDomains attacks the bounds of the parts of an
// address and the rules for its domain.
func TestEmailLengthsAndDomains(t *testing.T) {
	label := func(n int) string { return strings.Repeat("d", n) }
	// domainOf returns a domain of n bytes in labels of at most 63.
	domainOf := func(n int) string {
		var labels []string
		for n > 0 {
			l := min(n, 63)
			if n-l == 1 { // no label may be empty: leave two for the last
				l--
			}
			labels = append(labels, label(l))
			n -= l + 1
		}
		return strings.Join(labels, ".")
	}
	for _, n := range []int{189, 253, 254} {
		require.Len(t, domainOf(n), n, "domainOf(%d)", n)
	}
	cases := []struct {
		name  string
		email string
		ok    bool
	}{
		{"64-byte local part", strings.Repeat("l", 64) + "@example.com", true},
		{"65-byte local part", strings.Repeat("l", 65) + "@example.com", false},
		{"64 bytes of two-byte letters", strings.Repeat("é", 32) + "@example.com", true},
		{"66 bytes of two-byte letters", strings.Repeat("é", 33) + "@example.com", false},
		{"63-byte label", "a@" + label(63) + ".com", true},
		{"64-byte label", "a@" + label(64) + ".com", false},
		{"64-byte label inside", "a@x." + label(64) + ".com", false},
		{"254 bytes in all", strings.Repeat("l", 64) + "@" + domainOf(189), true},
		{"255 bytes in all", strings.Repeat("l", 65) + "@" + domainOf(189), false},
		{"253-byte domain", "a@" + domainOf(253), false}, // 255 bytes in all
		{"254-byte domain", "a@" + domainOf(254), false},
		{"domain literal", "a@[192.0.2.1]", false},
		{"IPv6 domain literal", "a@[IPv6:2001:db8::1]", false},
		{"general domain literal", "a@[tag:x]", false},
		{"dotted IPv4 as a domain", "a@192.0.2.1", false},
		{"numeric top-level label", "a@example.123", false},
		{"no dot", "a@localhost", false},
		{"leading dot", "a@.example.com", false},
		{"trailing dot", "a@example.com.", false},
		{"empty label", "a@example..com", false},
		{"underscore", "a@exa_mple.com", false},
		{"leading hyphen", "a@-example.com", false},
		{"hyphens in third and fourth place", "a@ab--cd.example.com", false},
		{"bad punycode", "a@xn--a.example.com", false},
		{"punycode of ASCII", "a@xn--abc-.example.com", false},
		{"full-width letters", "a@ｅｘａｍｐｌｅ.com", false},
		{"ideographic full stop", "a@example。com", false},
		{"quoted local part", `"a b"@example.com`, false},
		{"two @", "a@b@example.com", false},
		{"invalid UTF-8", "a\xff@example.com", false},
		{"A-label hiding a zero width joiner", "a@xn--11b2ezcw70k.example", false},
		{"A-label hiding a zero width non-joiner", "a@xn--11b2ezcs70k.example", false},
		{"the joiner spelled in Unicode", "a@क्\u200dष.example", false},
		{"Devanagari domain", "a@क्ष.example", true},
		{"internationalized domain", "a@bücher.example", true},
		{"punycode domain", "b@xn--bcher-kva.example", true},
		{"Cyrillic domain", "a@пример.рф", true},
		{"sharp s", "a@faß.de", true},
		{"internationalized local part", "josé@example.com", true},
		{"plus and dots", "first.last+tag@sub.example.co.uk", true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKit(t, nil)
			_, err := k.Register(t.Context(), authkit.Registration{Email: c.email, Password: pw}, authkit.Client{})
			if c.ok {
				require.NoError(t, err, "Register(%q)", c.email)
				return
			}
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "Register(%q), case %d", c.email, i)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{{Code: authkit.CodeInvalidEmail}}, v.Fields["email"], "Register(%q)", c.email)
		})
	}
}

// TestEmailSpellingsOfOneAddressAreOneAccount registers one address and
// then other spellings of it: each must collide with it, under
// concurrency-free conditions as under the store's unique key, and log in
// to the same account.
func TestEmailSpellingsOfOneAddressAreOneAccount(t *testing.T) {
	cases := []struct {
		name   string
		first  string
		others []string
		stored string
	}{
		{"Unicode and punycode domain", "user@bücher.example",
			[]string{"user@xn--bcher-kva.example", "USER@XN--BCHER-KVA.EXAMPLE", "User@BÜCHER.example", "user@bu\u0308cher.example"},
			"user@xn--bcher-kva.example"},
		{"punycode first", "user@xn--e1afmkfd.xn--p1ai",
			[]string{"user@пример.рф", "user@ПРИМЕР.РФ"},
			"user@xn--e1afmkfd.xn--p1ai"},
		{"NFC and NFD local part", "jos\u00e9@example.com",
			[]string{"jose\u0301@example.com", "JOSE\u0301@example.com", "JOS\u00c9@EXAMPLE.COM"},
			"jos\u00e9@example.com"},
		{"NFD first", "ame\u0301lie@example.com",
			[]string{"am\u00e9lie@example.com", "AM\u00c9LIE@example.com"},
			"am\u00e9lie@example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newKit(t, nil)
			reg, err := k.Register(t.Context(), authkit.Registration{Email: c.first, Password: pw}, authkit.Client{})
			require.NoError(t, err, "Register(%q)", c.first)
			assert.Equal(t, c.stored, reg.User.Email, "the stored form")
			assert.True(t, norm.NFC.IsNormalString(reg.User.Email), "stored NFC")
			for _, other := range c.others {
				assert.Equal(t, c.stored, authkit.NormalizeEmail(other), "NormalizeEmail(%q)", other)
				_, err := k.Register(t.Context(), authkit.Registration{Email: other, Password: pw}, authkit.Client{})
				assert.ErrorIs(t, err, authkit.ErrEmailTaken, "Register(%q) after %q", other, c.first)
				tok, err := k.Login(t.Context(), other, pw, authkit.Client{})
				if assert.NoError(t, err, "Login(%q)", other) {
					assert.Equal(t, reg.User.ID, tok.User.ID, "Login(%q) is the same account", other)
				}
			}
		})
	}
}

// TestNormalizeEmail checks the form the kit stores, and that normalizing
// twice changes nothing.
func TestNormalizeEmail(t *testing.T) {
	cases := map[string]string{
		"  John.Doe@Example.COM ":      "john.doe@example.com",
		"\u00A0a@example.com\u3000":    "a@example.com",
		"A@B\u00FCCHER.example":        "a@xn--bcher-kva.example",
		"a@XN--BCHER-KVA.example":      "a@xn--bcher-kva.example",
		"Jose\u0301@example.com":       "jos\u00e9@example.com",
		"a@exa_mple.com":               "a@exa_mple.com",      // not a host name: left for checkEmail
		"a@ex\u200Bample.com":          "a@ex\u200bample.com", // nothing dropped silently
		"a@\uFF45xample.com":           "a@\uff45xample.com",  // nor mapped
		"no-at-sign":                   "no-at-sign",
		"a\xff@example.com":            "a\xff@example.com", // invalid UTF-8 left as is
		"İ@example.com":                "i@example.com",     // simple case mapping
		"user@bücher.example@x.com":    "user@bücher.example@x.com",
		"User@Sub.Bücher.EXAMPLE":      "user@sub.xn--bcher-kva.example",
		"\tfirst.last+tag@example.com": "first.last+tag@example.com",
	}
	for in, want := range cases {
		got := authkit.NormalizeEmail(in)
		assert.Equal(t, want, got, "NormalizeEmail(%q)", in)
		assert.Equal(t, got, authkit.NormalizeEmail(got), "NormalizeEmail(NormalizeEmail(%q))", in)
	}
}

// TestDisplayNamesRefuseLinks registers names that hold links, spelled
// in the ways mail programs and browsers still link them.
func TestDisplayNamesRefuseLinks(t *testing.T) {
	k := newKit(t, nil)
	for i, name := range []string{
		"Click http://evil.example to claim your prize",
		"HTTPS://EVIL.EXAMPLE",
		"see ftp://files.example",
		"scheme-relative //evil.com/x",
		"www.evil.example",
		"Visit WWW.anything",
		"evil.com",
		"Prize at evil.com/claim",
		"go to evil.co.uk now",
		"Bob (bob@evil.com)",
		"EVIL.COM",
		"ｅｖｉｌ．ｃｏｍ",
		"evil。com",
		"evil｡com",
		"evil․com",
		"пример.рф",
		"evil.xn--p1ai",
		"xn--e1afmkfd.xn--p1ai",
		"secure-login.bank.io",
		"mailto:help@evil.example",
		"javascript:alert(1)",
		"data:text/html,hi",
		"call tel:+15555550100",
		"host 192.0.2.1",
		"evil.com:8080",
		"ev\u200Dil.c\u200Dom",   // joiners between letters are allowed, but join no words
		"www\uFE0F.evil.example", // a variation selector
		"evil.c\u3164om",         // a Hangul filler
		"evil.c\u034Fom",         // a combining grapheme joiner
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("link%d@example.com", i), Password: pw, DisplayName: name}, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "Register(display name %q)", name)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{{Code: authkit.CodeContainsLink}}, v.Fields["display_name"], "Register(display name %q)", name)
		})
	}
}

// TestDisplayNamesRefuseFormatCharacters registers names that hold
// invisible format characters (Unicode Cf), and joiners out of place.
func TestDisplayNamesRefuseFormatCharacters(t *testing.T) {
	k := newKit(t, nil)
	for i, name := range []string{
		"Bob\u200Bby",             // zero width space
		"Bo\u00ADb",               // soft hyphen
		"Bob\uFEFF",               // byte order mark
		"Bob\u2060",               // word joiner
		"Bob\u200E",               // left-to-right mark
		"Bob\u061C",               // Arabic letter mark
		"Bob\U000E0041\U000E0042", // tag characters, which hide text
		"\u200DBob",               // a joiner at the start
		"Bob\u200D",               // at the end
		"Bob\u200D\u200DEve",      // two in a row
		"evil\u200D.com",          // next to a dot
		"Bob \u200CEve",           // next to a space
		"Bob\u180EEve",            // Mongolian vowel separator
	} {
		t.Run(fmt.Sprintf("%+q", name), func(t *testing.T) {
			_, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("cf%d@example.com", i), Password: pw, DisplayName: name}, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidInput, "Register(display name %+q)", name)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{{Code: authkit.CodeControlCharacters}}, v.Fields["display_name"], "Register(display name %+q)", name)
		})
	}
}

// TestOrdinaryDisplayNamesAreAccepted checks names the rules must leave
// alone: periods in names, joiners inside emoji and scripts, spaces of
// other scripts, and words that only look like the start of a link.
func TestOrdinaryDisplayNamesAreAccepted(t *testing.T) {
	k := newKit(t, nil)
	for i, name := range []string{
		"J. R. R. Tolkien",
		"J.R.R. Tolkien",
		"Dr. Who",
		"Dr.Who",
		"Mr.Smith",
		"St. John",
		"ACME Inc.",
		"Jane Doe, Ph.D.",
		"Robert Downey Jr.",
		"john.doe",
		"Version 2.0 Fan",
		"The www Guy",
		"Data: Bob",
		"http",
		"👩\u200d💻 Dev",
		"👩🏽\u200d💻",
		"🏳️\u200d🌈 Pride",
		"نیک\u200cنام", // Persian, with a zero width non-joiner between letters
		"क्\u200dष",    // Devanagari, with a zero width joiner after a virama
		"山田\u3000太郎",   // ideographic space
		"Zoë O'Brien",
		"<script>x</script>",
	} {
		reg, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("ok%d@example.com", i), Password: pw, DisplayName: name}, authkit.Client{})
		if assert.NoError(t, err, "Register(display name %q)", name) {
			assert.Equal(t, name, reg.User.DisplayName)
		}
	}
}

// TestDerivedDisplayNameFollowsTheRules registers without a display name:
// the local part becomes the name only when it would have been accepted as
// one.
func TestDerivedDisplayNameFollowsTheRules(t *testing.T) {
	k := newKit(t, nil)
	cases := map[string]string{
		"www.evil.com@example.com":   "",
		"evil.com@example.com":       "",
		"claim.prize.io@example.com": "",
		"192.0.2.1@example.com":      "",
		"john.doe@example.com":       "john.doe",
		"Zoe.Smith@example.com":      "zoe.smith",
		"j.r.r.tolkien@example.com":  "j.r.r.tolkien",
		"first+tag@example.com":      "first+tag",
	}
	for email, want := range cases {
		reg, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: pw}, authkit.Client{})
		require.NoError(t, err, "Register(%q) with no display name", email)
		assert.Equal(t, want, reg.User.DisplayName, "display name derived from %q", email)
	}
}

// TestPasswordRules checks that the rules a client is told are the ones
// the Authenticator applies: a password of MinLength characters passes,
// one fewer is too short.
func TestPasswordRules(t *testing.T) {
	a := newKit(t, func(c *authkit.Config) { c.MinPasswordLength = 10 })
	rules := a.PasswordRules()
	assert.Equal(t, authkit.PasswordRules{MinLength: 10, MaxBytes: authkit.MaxPasswordBytes}, rules)
	_, err := a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "éàüöäîçñøå"[:2*rules.MinLength]}, authkit.Client{})
	assert.NoError(t, err, "MinLength characters")
	_, err = a.Register(t.Context(), authkit.Registration{Email: "bob@example.com", Password: strings.Repeat("é", rules.MinLength-1)}, authkit.Client{})
	assert.Error(t, err, "one fewer")
}
