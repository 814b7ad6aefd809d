// Package sqltext reads the text of sqlstore's migration files.
package sqltext

import "strings"

// Statements splits a migration file into its statements. Statements
// end with a semicolon at the end of a line; lines starting with -- are
// comments. Not every driver runs several statements in one call, so they
// are run one by one.
func Statements(text string) []string {
	var (
		out []string
		cur strings.Builder
	)
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
