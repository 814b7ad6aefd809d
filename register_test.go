package authkit_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

func TestRegisterNormalizesAndRefusesDuplicates(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "  John.Doe@Example.COM ", pw)
	assert.Equal(t, "john.doe@example.com", tok.User.Email)
	assert.Equal(t, "john.doe", tok.User.DisplayName, "display name defaults to the local part, as the seed")
	assert.True(t, tok.User.Active)
	assert.False(t, tok.User.EmailVerified)
	assert.NotEmpty(t, tok.AccessToken)
	assert.NotEmpty(t, tok.RefreshToken)

	for _, dup := range []string{"john.doe@example.com", "JOHN.DOE@EXAMPLE.COM", "\tjohn.doe@example.com", "john.doe@example.com\u00A0", "\u3000john.doe@example.com"} {
		_, err := k.Register(t.Context(), authkit.Registration{Email: dup, Password: pw}, authkit.Client{})
		assert.ErrorIs(t, err, authkit.ErrEmailTaken, "Register(%q)", dup)
	}
	// Login works in any case and with white space.
	_, err := k.Login(t.Context(), " JOHN.doe@example.com", pw, authkit.Client{})
	assert.NoError(t, err)
}

func TestRegisterValidation(t *testing.T) {
	k := newKit(t, nil)
	cases := []struct {
		name  string
		reg   authkit.Registration
		field string
		want  authkit.FieldError
	}{
		{"missing email", authkit.Registration{Password: pw}, "email", authkit.FieldError{Code: authkit.CodeRequired}},
		{"bad email", authkit.Registration{Email: "not-an-email", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"display name in email", authkit.Registration{Email: "Bob <bob@example.com>", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"no domain dot", authkit.Registration{Email: "bob@localhost", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"missing password", authkit.Registration{Email: "a@example.com"}, "password", authkit.FieldError{Code: authkit.CodeRequired}},
		{"short password", authkit.Registration{Email: "a@example.com", Password: "1234567"}, "password", authkit.FieldError{Code: authkit.CodeTooShort, Limit: 8}},
		{"73 bytes", authkit.Registration{Email: "a@example.com", Password: strings.Repeat("a", 73)}, "password", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
		{"72 bytes of 3-byte runes plus one", authkit.Registration{Email: "a@example.com", Password: strings.Repeat("€", 24) + "a"}, "password", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
		{"long display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: strings.Repeat("n", 256)}, "display_name", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 255}},
		{"newline in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\nSubject: hi"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"NUL in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\x00"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"C1 control in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u0085x"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"bidi override in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u202Egnp.exe"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"line separator in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u2028Eve"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"zero width space in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Bob\u200BEve"}, "display_name", authkit.FieldError{Code: authkit.CodeControlCharacters}},
		{"URL in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Click http://evil.example to claim your prize"}, "display_name", authkit.FieldError{Code: authkit.CodeContainsLink}},
		{"domain in display name", authkit.Registration{Email: "a@example.com", Password: pw, DisplayName: "Claim at evil.com"}, "display_name", authkit.FieldError{Code: authkit.CodeContainsLink}},
		{"zero width space in email", authkit.Registration{Email: "a\u200B@example.com", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"65-byte local part", authkit.Registration{Email: strings.Repeat("a", 65) + "@example.com", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"domain literal", authkit.Registration{Email: "a@[192.0.2.1]", Password: pw}, "email", authkit.FieldError{Code: authkit.CodeInvalidEmail}},
		{"72 bytes normalizing to more", authkit.Registration{Email: "a@example.com", Password: strings.Repeat("p", 69) + "\uFDFA"}, "password", authkit.FieldError{Code: authkit.CodeTooLong, Limit: 72}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := k.Register(t.Context(), c.reg, authkit.Client{})
			require.ErrorIs(t, err, authkit.ErrInvalidInput)
			var v *authkit.ValidationError
			require.ErrorAs(t, err, &v)
			assert.Equal(t, []authkit.FieldError{c.want}, v.Fields[c.field], "Register(%s) field errors", c.name)
		})
	}
	// Exactly 72 bytes is accepted, and all 72 count: a password that
	// differs only in the last byte does not log in.
	long := strings.Repeat("p", 71) + "1"
	_, err := k.Register(t.Context(), authkit.Registration{Email: "long@example.com", Password: long}, authkit.Client{})
	require.NoError(t, err)
	_, err = k.Login(t.Context(), "long@example.com", strings.Repeat("p", 71)+"2", authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the 72nd byte must count")
	_, err = k.Login(t.Context(), "long@example.com", long, authkit.Client{})
	assert.NoError(t, err)
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	k := newKit(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, taken := 0, 0
	for i := range 50 {
		wg.Go(func() {
			email := "Race@Example.com"
			if i%2 == 0 {
				email = strings.ToUpper(email)
			}
			_, err := k.Register(t.Context(), authkit.Registration{Email: email, Password: pw}, authkit.Client{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, authkit.ErrEmailTaken):
				taken++
			}
		})
	}
	testkit.Finish(t, "50 concurrent registrations", wg.Wait)
	assert.Equal(t, 1, wins)
	assert.Equal(t, 49, taken)
}

func TestDisplayNamesOfPeopleAreAccepted(t *testing.T) {
	k := newKit(t, nil)
	for i, name := range []string{"Zoë O'Brien", "👩‍💻 Dev", "عربي", "  Padded\t", "J. R. R. Tolkien", "Dr. Who", "St.John", "ACME Inc."} {
		tok, err := k.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("p%d@example.com", i), Password: pw, DisplayName: name}, authkit.Client{})
		require.NoError(t, err, "Register(display name %q)", name)
		assert.Equal(t, strings.TrimSpace(name), tok.User.DisplayName)
	}
}
