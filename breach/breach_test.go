package breach_test

import (
	"context"
	"crypto/sha1" // #nosec G505 -- the range protocol's hash
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/breach"
)

// sha1Hex is the upper-case hex SHA-1 of password.
func sha1Hex(password string) string {
	sum := sha1.Sum([]byte(password)) // #nosec G401 -- the range protocol's hash
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// seen is one request the fake range server received, as it was sent.
type seen struct {
	method, path, rawQuery, body string
	header                       http.Header
}

// rangeServer is a fake range API on loopback: it answers GET
// /range/{prefix} with the suffixes of its breached passwords under that
// prefix, plus padding lines of count 0, unless answer is set.
type rangeServer struct {
	*httptest.Server
	mu       sync.Mutex
	breached map[string]int // password → count
	padding  []string       // extra lines, such as "SUFFIX:0"
	answer   http.HandlerFunc
	requests []seen
}

func newRangeServer(t *testing.T, breached map[string]int) *rangeServer {
	t.Helper()
	s := &rangeServer{breached: breached}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *rangeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
	answer, padding := s.answer, s.padding
	var lines []string
	prefix := strings.TrimPrefix(r.URL.Path, "/range/")
	for password, n := range s.breached {
		if h := sha1Hex(password); h[:5] == prefix {
			lines = append(lines, fmt.Sprintf("%s:%d", h[5:], n))
		}
	}
	s.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, strings.Join(append(lines, padding...), "\r\n"))
}

func (s *rangeServer) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

func (s *rangeServer) set(answer http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

var prefixPath = regexp.MustCompile(`^/range/[0-9A-F]{5}$`)

// assertOnlyPrefix checks that every request the server saw for password
// was a GET of /range/ and the hash's first five hex digits, with no
// query and no body, and that no more of the hash, nor the password,
// reached the server anywhere: path, query, headers or body.
func assertOnlyPrefix(t *testing.T, s *rangeServer, password string) {
	t.Helper()
	h := sha1Hex(password)
	requests := s.seen()
	require.NotEmpty(t, requests, "the server was asked")
	for _, r := range requests {
		assert.Equal(t, http.MethodGet, r.method)
		assert.Regexp(t, prefixPath, r.path, "the path names a prefix only")
		assert.Equal(t, "/range/"+h[:5], r.path, "the password's prefix")
		assert.Empty(t, r.rawQuery, "no query")
		assert.Empty(t, r.body, "no body")
		sent := strings.ToUpper(r.path + "?" + r.rawQuery + "\n" + r.body)
		for name, values := range r.header {
			sent += "\n" + strings.ToUpper(name+": "+strings.Join(values, ","))
		}
		assert.NotContains(t, sent, strings.ToUpper(password), "the password was sent")
		for i := 0; i+6 <= len(h); i++ {
			assert.NotContains(t, sent, h[i:i+6], "six hex digits of the hash, from %d, were sent", i)
		}
	}
}

func newChecker(t *testing.T, cfg breach.Config) *breach.Checker {
	t.Helper()
	c, err := breach.New(cfg)
	require.NoError(t, err, "breach.New")
	return c
}

func TestBreachedPasswordIsRefused(t *testing.T) {
	s := newRangeServer(t, map[string]int{"correct horse battery staple": 3})
	c := newChecker(t, breach.Config{BaseURL: s.URL})

	n, err := c.Count(t.Context(), "correct horse battery staple")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	err = c.Policy(t.Context(), "correct horse battery staple", authkit.PasswordContext{})
	var r *authkit.PasswordRefusal
	require.ErrorAs(t, err, &r)
	assert.Equal(t, authkit.CodePasswordBreached, r.Code)
	assert.Equal(t, "This password has appeared in a data breach. Choose another.", r.Message)
	assertOnlyPrefix(t, s, "correct horse battery staple")
	for _, req := range s.seen() {
		assert.Equal(t, "true", req.header.Get("Add-Padding"), "padding asked for")
	}
}

func TestCleanPasswordIsAccepted(t *testing.T) {
	s := newRangeServer(t, map[string]int{"correct horse battery staple": 3})
	c := newChecker(t, breach.Config{BaseURL: s.URL + "/"})
	n, err := c.Count(t.Context(), "a password nobody has used")
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.NoError(t, c.Policy(t.Context(), "a password nobody has used", authkit.PasswordContext{}))
	assertOnlyPrefix(t, s, "a password nobody has used")
}

func TestPaddingLinesAreIgnored(t *testing.T) {
	const password = "padded password"
	h := sha1Hex(password)
	s := newRangeServer(t, nil)
	// The password's own suffix as a padding line (count 0), in lower
	// case, and other padding: not a breach.
	s.padding = []string{strings.ToLower(h[5:]) + ":0", strings.Repeat("A", 35) + ":0", strings.Repeat("B", 35) + ":12", ""}
	c := newChecker(t, breach.Config{BaseURL: s.URL})
	n, err := c.Count(t.Context(), password)
	require.NoError(t, err)
	assert.Zero(t, n, "a zero-count line is padding")
	assert.NoError(t, c.Policy(t.Context(), password, authkit.PasswordContext{}))

	// A real line among padding, in lower case, counts, even when a
	// padding line of the same suffix follows it.
	s.mu.Lock()
	s.padding = append([]string{strings.ToLower(h[5:]) + ":7"}, s.padding...)
	s.mu.Unlock()
	n, err = c.Count(t.Context(), password)
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assertOnlyPrefix(t, s, password)
}

func TestNoPadding(t *testing.T) {
	s := newRangeServer(t, nil)
	c := newChecker(t, breach.Config{BaseURL: s.URL, NoPadding: true})
	_, err := c.Count(t.Context(), "whatever it is")
	require.NoError(t, err)
	assert.Empty(t, s.seen()[0].header.Values("Add-Padding"))
}

func TestMinCount(t *testing.T) {
	s := newRangeServer(t, map[string]int{"seen four times": 4, "seen five times": 5})
	c := newChecker(t, breach.Config{BaseURL: s.URL, MinCount: 5})
	assert.NoError(t, c.Policy(t.Context(), "seen four times", authkit.PasswordContext{}))
	assert.ErrorIs(t, c.Policy(t.Context(), "seen five times", authkit.PasswordContext{}), authkit.ErrPasswordRefused)
}

// TestServiceFailures: a service that cannot answer fails the check
// closed (ErrUnavailable, which is authkit.ErrBusy), or open with
// FailOpen; garbage is never taken for a clean password.
func TestServiceFailures(t *testing.T) {
	const password = "correct horse battery staple"
	valid := sha1Hex(password)[5:] + ":0\r\n"
	cases := map[string]http.HandlerFunc{
		"status 500": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"status 429": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) },
		"redirect to nowhere": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		},
		"garbage": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>maintenance</html>") },
		"garbage after good lines": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, valid+"not a line\r\n")
		},
		"bad count":    func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, sha1Hex("x")[5:]+":many") },
		"short suffix": func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ABCDEF:3") },
		"a long line":  func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, strings.Repeat("A", 10000)) },
		"oversized body": func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, strings.Repeat(valid, 100)) // well-formed, but over MaxResponseBytes
		},
		"slow": func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"cut short": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = io.WriteString(w, valid)
		},
	}
	for name, answer := range cases {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/FailOpen=%v", name, failOpen), func(t *testing.T) {
				s := newRangeServer(t, map[string]int{password: 3})
				s.set(answer)
				c := newChecker(t, breach.Config{BaseURL: s.URL, FailOpen: failOpen, Timeout: 100 * time.Millisecond, MaxResponseBytes: 1000})
				_, err := c.Count(t.Context(), password)
				require.ErrorIs(t, err, breach.ErrUnavailable, "Count")
				assert.ErrorIs(t, err, authkit.ErrBusy, "Count: ErrUnavailable is ErrBusy")
				assert.NotContains(t, err.Error(), sha1Hex(password)[:5], "the error holds no part of the hash")

				err = c.Policy(t.Context(), password, authkit.PasswordContext{})
				if failOpen {
					assert.NoError(t, err, "fail open: accepted")
				} else {
					assert.ErrorIs(t, err, breach.ErrUnavailable, "fail closed")
					assert.NotErrorIs(t, err, authkit.ErrPasswordRefused, "not the password's fault")
				}
			})
		}
	}
}

func TestServiceDown(t *testing.T) {
	s := newRangeServer(t, nil)
	s.Close() // nothing listens on the port now
	for _, failOpen := range []bool{false, true} {
		c := newChecker(t, breach.Config{BaseURL: s.URL, FailOpen: failOpen})
		_, err := c.Count(t.Context(), "any password")
		assert.ErrorIs(t, err, breach.ErrUnavailable)
		err = c.Policy(t.Context(), "any password", authkit.PasswordContext{})
		if failOpen {
			assert.NoError(t, err, "fail open")
		} else {
			assert.ErrorIs(t, err, authkit.ErrBusy, "fail closed")
		}
	}
}

// TestCancelledContext: a check whose ctx ends fails, even with FailOpen:
// the caller went away, and nothing is to be accepted for it.
func TestCancelledContext(t *testing.T) {
	s := newRangeServer(t, nil)
	entered := make(chan struct{}, 1)
	s.set(func(_ http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	})
	c := newChecker(t, breach.Config{BaseURL: s.URL, FailOpen: true})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-entered
		cancel()
	}()
	err := c.Policy(ctx, "any password", authkit.PasswordContext{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, breach.ErrUnavailable)

	_, err = c.Count(ctx, "any password") // already cancelled
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []breach.Config{
		{BaseURL: "api.pwnedpasswords.com"},
		{BaseURL: "ftp://example.com"},
		{BaseURL: "https://example.com/?q=1"},
		{Timeout: -time.Second},
		{MinCount: -1},
		{MaxResponseBytes: -1},
	} {
		_, err := breach.New(cfg)
		assert.ErrorIs(t, err, authkit.ErrConfig, "%+v", cfg)
	}
	_, err := breach.New(breach.Config{})
	assert.NoError(t, err, "the zero Config is good")
}

// TestInAFlow: with the checker after the default policy, a breached
// password is a field error of Register, and a service that is down fails
// it closed with ErrBusy.
func TestInAFlow(t *testing.T) {
	s := newRangeServer(t, map[string]int{"correct horse battery staple": 100})
	c := newChecker(t, breach.Config{BaseURL: s.URL, Timeout: time.Second})
	a := newAuthenticator(t, authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, c.Policy))

	_, err := a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "password123"}, authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidInput)
	assert.Empty(t, s.seen(), "the default policy refused it: no call")

	_, err = a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "correct horse battery staple"}, authkit.Client{})
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, authkit.CodePasswordBreached, v.Fields["password"][0].Code)
	assertOnlyPrefix(t, s, "correct horse battery staple")

	s.set(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	_, err = a.Register(t.Context(), authkit.Registration{Email: "ada@example.com", Password: "a fine and long password"}, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrBusy)
	assert.NotErrorIs(t, err, authkit.ErrInvalidInput)
}
