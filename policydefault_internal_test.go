package authkit

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommonPasswordsList checks the shape the binary search relies on:
// lines ended by "\n", lower-case, sorted byte-wise, no duplicates; and
// that the search finds every line and nothing between them.
func TestCommonPasswordsList(t *testing.T) {
	require.True(t, strings.HasSuffix(commonPasswords, "\n"), "the last line is ended")
	lines := strings.Split(strings.TrimSuffix(commonPasswords, "\n"), "\n")
	require.Len(t, lines, 11611)
	require.True(t, slices.IsSorted(lines), "sorted byte-wise")
	require.Len(t, slices.Compact(slices.Clone(lines)), len(lines), "no duplicates")
	for i, w := range lines {
		require.Equal(t, strings.ToLower(w), w, "line %d is lower-case", i+1)
		require.GreaterOrEqual(t, utf8.RuneCountInString(w), DefaultMinPasswordLength, "line %d", i+1)
		require.True(t, isCommonPassword(w), "isCommonPassword finds line %d, %q", i+1, w)
		for _, near := range []string{w + "\x00", w[:len(w)-1], w + "~"} {
			if !slices.Contains(lines, near) {
				require.False(t, isCommonPassword(near), "isCommonPassword(%q)", near)
			}
		}
	}
	for _, w := range []string{"", "\n", "!", "~~~~~~~~~~~~", "PASSWORD123"} {
		assert.False(t, isCommonPassword(w), "isCommonPassword(%q)", w)
	}
}
