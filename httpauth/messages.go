package httpauth

import (
	"fmt"

	"github.com/authkit/authkit"
)

// The wording of field errors for people: the "fields" member of an
// invalid_input problem. The core reports codes (authkit.FieldCode); this
// table words them as the original design did, so translating the API is a
// change to this table alone. The one exception is a password refused by a
// password policy (authkit.PasswordRefusal): its own message, which may say
// more than its code does (which detail the password is too similar to,
// what made it weak), is shown as it is.

// fieldWording words each code; a "%d" takes the FieldError's Limit.
var fieldWording = map[authkit.FieldCode]string{
	authkit.CodeRequired:          "This field is required.",
	authkit.CodeInvalidEmail:      "Enter a valid email address.",
	authkit.CodeTooShort:          "Ensure this field has at least %d characters.",
	authkit.CodeTooLong:           "Ensure this field has no more than %d characters.",
	authkit.CodeControlCharacters: "Display name must not contain control characters.",
	authkit.CodeContainsLink:      "Display name must not contain links or web addresses.",
	authkit.CodeWrongPassword:     "Current password is incorrect.",
	authkit.CodeWrongCode:         "That code is not right. Enter the code your app shows now.",
	// Password refusals (authkit.PasswordRefusal) usually carry their own
	// message, which is shown instead; these word those that do not.
	authkit.CodePasswordTooCommon:       "This password is too common.",
	authkit.CodePasswordTooSimilar:      "The password is too similar to your personal information.",
	authkit.CodePasswordEntirelyNumeric: "This password is entirely numeric.",
	authkit.CodePasswordRepeated:        "This password is made of repeated characters.",
	authkit.CodePasswordSequence:        "This password is a sequence of consecutive characters.",
	authkit.CodePasswordTooWeak:         "This password is too easy to guess.",
	authkit.CodePasswordBreached:        "This password has appeared in a data breach. Choose another.",
}

// passwordWording words the codes of password fields, where the original
// design has words of its own.
var passwordWording = map[authkit.FieldCode]string{
	authkit.CodeTooShort: "Password must be at least %d characters",
	authkit.CodeTooLong:  "Password too long (max %d bytes)",
}

// passwordFields are the fields that hold a password.
var passwordFields = map[string]bool{"password": true, "new_password": true, "current_password": true}

// Messages of the decoder, for JSON members of the wrong type, in Django
// REST Framework's words; and for members given twice, or under a name
// that differs from the field's only in case.
const (
	msgNotAString     = "Not a valid string."
	msgInvalidValue   = "Invalid value."
	msgDuplicateField = "This field must be given only once."
	msgFieldNameCase  = "Field names are case-sensitive: send this field as %q."
)

// fieldMessages words every field error of v.
func fieldMessages(v *authkit.ValidationError) map[string][]string {
	out := make(map[string][]string, len(v.Fields))
	for field, errs := range v.Fields {
		for _, fe := range errs {
			out[field] = append(out[field], fieldMessage(field, fe))
		}
	}
	return out
}

// fieldMessage words one field error: with its own Message when it has
// one (the words of the password policy that refused a password), else
// from the tables. A code the tables do not know is shown as it is: still
// stable, and still machine-readable.
func fieldMessage(field string, fe authkit.FieldError) string {
	if fe.Message != "" {
		return fe.Message
	}
	wording, ok := passwordWording[fe.Code]
	if !ok || !passwordFields[field] {
		wording, ok = fieldWording[fe.Code]
	}
	switch {
	case !ok:
		return string(fe.Code)
	case fe.Code == authkit.CodeTooShort || fe.Code == authkit.CodeTooLong:
		return fmt.Sprintf(wording, fe.Limit)
	}
	return wording
}
