package authkit

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestJSONStringDecodesAsUnmarshal checks that the header's fast path for
// strings gives what json.Unmarshal gives, for every kind of value.
func TestJSONStringDecodesAsUnmarshal(t *testing.T) {
	for _, raw := range []string{
		`"HS256"`, `""`, `"at+jwt"`, `"k\u0069d"`, `"a\"b"`, `"a\\b"`, `"\/"`, `"ü"`, "\"\xff\xfe\"",
		"\"a\xc3\"", `null`, `1`, `true`, `["HS256"]`, `{"a":1}`,
	} {
		var want, got string
		wantErr := json.Unmarshal([]byte(raw), &want)
		ok := jsonString(json.RawMessage(raw), &got)
		assert.Equal(t, wantErr == nil, ok, "ok for %q", raw)
		assert.Equal(t, want, got, "value of %q", raw)
	}
}
