package authpages

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// maxLocalURL bounds the length of a return URL or logo address.
const maxLocalURL = 2048

// returnList is the allowlist of Config.ReturnURLs: exact paths and
// prefixes (the entries that end in "/").
type returnList struct {
	exact    map[string]bool
	prefixes []string
}

// newReturnList checks each entry of Config.ReturnURLs: an absolute,
// clean path with neither query nor fragment.
func newReturnList(entries []string) (returnList, error) {
	l := returnList{exact: make(map[string]bool, len(entries))}
	for _, e := range entries {
		u, ok := localURL(e)
		if !ok || u != e || strings.ContainsAny(e, "?#") {
			return l, configError(fmt.Sprintf("ReturnURLs entry %q must be an absolute, clean path on the pages' origin, such as \"/settings\" or \"/app/\"", e))
		}
		if strings.HasSuffix(e, "/") {
			l.prefixes = append(l.prefixes, e)
		} else {
			l.exact[e] = true
		}
	}
	return l, nil
}

// allows reports whether the path p (decoded, clean) is on the list.
func (l returnList) allows(p string) bool {
	if l.exact[p] {
		return true
	}
	for _, prefix := range l.prefixes {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// returnTo returns where the sign-in page sends the user once signed in:
// raw, written back in a canonical form, if it is a plain same-origin path
// (with a query and fragment, if any) whose path is fallback or on the
// list; else fallback.
func (l returnList) returnTo(raw, fallback string) string {
	if raw == "" {
		return fallback
	}
	u, ok := localURL(raw)
	if !ok {
		return fallback
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fallback
	}
	if parsed.Path != fallback && !l.allows(parsed.Path) {
		return fallback
	}
	return u
}

// localURL checks that raw is a URL a browser can only read as a path on
// the current origin, and returns it in canonical form. It refuses
// anything with a scheme or a host (including the scheme-relative "//host"
// and "/\host", which browsers read as "//host"), any backslash, any
// character outside printable ASCII (browsers drop tabs and newlines from
// URLs, which would let "/\t/host" become "//host"), a path that is not
// clean ("/a/../b", "/./", "//" inside, also when percent-encoded), and a
// percent-encoded slash, backslash or control character in the path.
func localURL(raw string) (string, bool) {
	if len(raw) > maxLocalURL || !plainPath(raw) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || isControl(r) }) {
		return "", false
	}
	if strings.Contains(strings.ToLower(u.EscapedPath()), "%2f") {
		return "", false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return "", false
	}
	return u.String(), true
}

// plainPath reports whether s starts with a single "/" and holds only
// printable ASCII other than the backslash.
func plainPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
