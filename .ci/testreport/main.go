// Command testreport reads `go test -json` on stdin and writes what a
// plain `go test` would have written (each package's result, and the whole
// output of every failing test), followed by one line for each package
// whose tests skipped for want of a database or a browser, so that a green
// run says what it did not test.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// missing matches the skip messages of tests that need something the
// machine lacks: a database named by its environment variable, or Chromium.
var missing = regexp.MustCompile(`AUTHKIT_TEST_[A-Z_]+|[Cc]hromium`)

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()

	logs := map[string]*strings.Builder{} // package + test → its output so far
	skipped := map[string]map[string]bool{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<20), 1<<26)
	for in.Scan() {
		var e event
		if err := json.Unmarshal(in.Bytes(), &e); err != nil {
			fmt.Fprintln(out, in.Text()) // not an event: pass it on
			continue
		}
		if e.Test == "" {
			// Package-level lines: build errors, "ok"/"FAIL" and panics.
			if e.Action == "output" || e.Action == "build-output" {
				if !strings.HasPrefix(e.Output, "PASS") && !strings.HasPrefix(e.Output, "=== ") {
					fmt.Fprint(out, e.Output)
				}
			}
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if logs[key] == nil {
				logs[key] = &strings.Builder{}
			}
			logs[key].WriteString(e.Output) // #nosec G104 -- a strings.Builder never fails
		case "fail":
			if b := logs[key]; b != nil {
				fmt.Fprint(out, b.String())
			}
			delete(logs, key)
		case "skip":
			if b := logs[key]; b != nil {
				if what := missing.FindString(b.String()); what != "" {
					if skipped[e.Package] == nil {
						skipped[e.Package] = map[string]bool{}
					}
					skipped[e.Package][what] = true
				}
			}
			delete(logs, key)
		case "pass":
			delete(logs, key)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(out, "testreport:", err)
	}

	pkgs := make([]string, 0, len(skipped))
	for p := range skipped {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		var whats []string
		for w := range skipped[p] {
			whats = append(whats, w)
		}
		sort.Strings(whats)
		fmt.Fprintf(out, "ci: SKIPPED in %s: tests that need %s\n", p, strings.Join(whats, ", "))
	}
	if len(pkgs) == 0 {
		fmt.Fprintln(out, "ci: no test skipped for want of a database or a browser")
	}
}
