// Command gencommon writes data/common-passwords.txt, the list of common
// passwords that authkit's default password policy refuses, from the
// "passwords" frequency list of github.com/trustelem/zxcvbn (MIT; see
// data/NOTICE.md). Run it from the module's root with go generate.
//
// The list keeps the entries of at least 8 characters (the default
// Config.MinPasswordLength: shorter ones never reach the policy), lower-cased,
// without duplicates, sorted byte-wise, one a line, so that the policy can
// search the embedded file as it is, with no set to build.
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
)

const (
	out       = "data/common-passwords.txt"
	minLength = 8
	maxBytes  = 72
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gencommon:", err)
		os.Exit(1)
	}
}

func run() error {
	src, ok := frequency.FrequencyLists["passwords"]
	if !ok {
		return fmt.Errorf("zxcvbn has no %q frequency list", "passwords")
	}
	var words []string
	for _, w := range src {
		w = strings.ToLower(w)
		if utf8.RuneCountInString(w) < minLength || len(w) > maxBytes || strings.ContainsAny(w, "\r\n") {
			continue
		}
		words = append(words, w)
	}
	slices.Sort(words)
	words = slices.Compact(words)
	// #nosec G306 -- a data file of the repository, read by everyone who builds it
	return os.WriteFile(out, []byte(strings.Join(words, "\n")+"\n"), 0o644)
}
