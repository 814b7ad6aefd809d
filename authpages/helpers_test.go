package authpages_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/authkit/authkit/authpages"
)

// newPages returns the Pages of cfg, failing t if New refuses it.
func newPages(t testing.TB, cfg authpages.Config) *authpages.Pages {
	t.Helper()
	p, err := authpages.New(cfg)
	require.NoError(t, err, "authpages.New")
	return p
}

// answer is a response of the Pages, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// get serves GET target from h, in process.
func get(t testing.TB, h http.Handler, target string) answer {
	t.Helper()
	return serve(t, h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, target, nil))
}

func serve(t testing.TB, h http.Handler, r *http.Request) answer {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err, "read the body of %s %s", r.Method, r.URL)
	return answer{status: res.StatusCode, header: res.Header, body: string(body)}
}

// parse parses an HTML document.
func parse(t testing.TB, doc string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(doc))
	require.NoError(t, err, "parse HTML")
	return n
}

// walk calls f on every element under n, template contents included.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// attr returns the value of n's attribute key, and whether it has it.
func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// elements returns the elements under n that match.
func elements(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(n, func(e *html.Node) {
		if match(e) {
			out = append(out, e)
		}
	})
	return out
}

// byID returns the element with id, or nil.
func byID(n *html.Node, id string) *html.Node {
	found := elements(n, func(e *html.Node) bool { v, _ := attr(e, "id"); return v == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// body returns the body element's attribute key.
func bodyAttr(t testing.TB, doc *html.Node, key string) string {
	t.Helper()
	bodies := elements(doc, func(e *html.Node) bool { return e.Data == "body" })
	require.Len(t, bodies, 1, "one body")
	v, _ := attr(bodies[0], key)
	return v
}
