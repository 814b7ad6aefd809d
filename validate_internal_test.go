package authkit

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCheckEmailTakesTheDomainInItsASCIIForm checks that an address whose
// domain NormalizeEmail would have converted is refused, so that a flow
// that forgot to normalize could not store a second spelling of an address.
func TestCheckEmailTakesTheDomainInItsASCIIForm(t *testing.T) {
	for email, ok := range map[string]bool{
		"a@xn--bcher-kva.example": true,
		"a@bücher.example":        false,
		"a@xn--BCHER-KVA.example": false,
		"a@EXAMPLE.com":           false,
		"a@example.com":           true,
	} {
		v := &ValidationError{}
		checkEmail(v, "email", email)
		assert.Equal(t, ok, v.err() == nil, "checkEmail(%q): %v", email, v.err())
		assert.Equal(t, ok, NormalizeEmail(email) == email, "NormalizeEmail(%q) changes it exactly when checkEmail refuses it", email)
	}
}
