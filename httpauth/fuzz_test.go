package httpauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// The fuzz targets of httpauth. Each states, in its doc comment, the
// property it checks. Inputs run one at a time within a process, so a
// target's fixture is shared by its inputs without locks. .ci/fuzz runs
// every target for a short time; the seed corpora under testdata/fuzz run
// with every go test.

// fuzzRoute is a route of the Handler, relative to its mount point. In
// path, "{{verify}}" and "{{sid}}" stand for the fixture's last
// verification token and its session id.
type fuzzRoute struct {
	method, path string
}

// fuzzRoutes are every route the Handler serves (its doc lists them), in a
// fixed order: a fuzz input names one by its index, so new routes go at
// the end.
var fuzzRoutes = []fuzzRoute{
	{http.MethodPost, "/register"},
	{http.MethodPost, "/login"},
	{http.MethodPost, "/refresh"},
	{http.MethodPost, "/logout"},
	{http.MethodPost, "/logout-all"},
	{http.MethodGet, "/me"},
	{http.MethodPost, "/change-password"},
	{http.MethodPost, "/forgot-password"},
	{http.MethodPost, "/reset-password"},
	{http.MethodGet, "/verify-email/{{verify}}"},
	{http.MethodPost, "/verify-email"},
	{http.MethodPost, "/resend-verification"},
	{http.MethodPost, "/decline-registration"},
	{http.MethodGet, "/sessions"},
	{http.MethodDelete, "/sessions/{{sid}}"},
	{http.MethodGet, "/jwks.json"},
	{http.MethodPost, "/login/second-factor"},
	{http.MethodPost, "/reauthenticate"},
	{http.MethodGet, "/second-factor"},
	{http.MethodPost, "/second-factor/totp"},
	{http.MethodPost, "/second-factor/totp/confirm"},
	{http.MethodDelete, "/second-factor/totp"},
	{http.MethodPost, "/second-factor/recovery-codes"},
}

// problemCodes are the problem codes the package documents: the
// ProblemCode enum of its OpenAPI document, which TestOpenAPIProblemCodes
// holds to problem.go.
var problemCodes = func() []string {
	var doc struct {
		Components struct {
			Schemas struct {
				ProblemCode struct {
					Enum []string `json:"enum"`
				} `json:"ProblemCode"`
			} `json:"schemas"`
		} `json:"components"`
	}
	_ = json.Unmarshal(httpauth.OpenAPI(), &doc) // TestOpenAPIProblemCodes fails on a bad document
	return doc.Components.Schemas.ProblemCode.Enum
}()

// errorCount is a slog.Handler that counts the records at level Error,
// which the Handler writes for every failure it hides behind a 500.
type errorCount struct{ n atomic.Int64 }

// Enabled reports whether l is Error or above.
func (c *errorCount) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

// Handle counts a record.
func (c *errorCount) Handle(context.Context, slog.Record) error { c.n.Add(1); return nil }

// WithAttrs returns c: attributes do not matter to a count.
func (c *errorCount) WithAttrs([]slog.Attr) slog.Handler { return c }

// WithGroup returns c: groups do not matter to a count.
func (c *errorCount) WithGroup(string) slog.Handler { return c }

// lastTokens is a Mailer that keeps only the token of the last message of
// each kind, so that a long fuzz run's memory stays flat.
type lastTokens struct {
	mu     sync.Mutex
	tokens map[authkit.MessageKind]string
}

// Send keeps the token of msg's link, if it has one. It never fails.
func (m *lastTokens) Send(_ context.Context, msg authkit.Message) error {
	for _, word := range strings.Fields(msg.Text) {
		if u, err := url.Parse(word); err == nil && u.Scheme != "" && u.Query().Get("token") != "" {
			m.mu.Lock()
			m.tokens[msg.Kind] = u.Query().Get("token")
			m.mu.Unlock()
		}
	}
	return nil
}

// token returns the token of the last message of kind, or "".
func (m *lastTokens) token(kind authkit.MessageKind) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[kind]
}

// bodyFixture is a Handler on memstore with bcrypt cost 4 and its rate
// limits off (so that every input reaches the flows), and a signed-in
// account whose credentials fuzz inputs can name.
type bodyFixture struct {
	h      *httpauth.Handler
	auth   *authkit.Authenticator
	errors *errorCount
	mail   *lastTokens
	// The account: its email and password, and the tokens of its session.
	email, password      string
	access, refresh, sid string
	accounts             int
}

// fuzzPassword is the password of the fixture's accounts.
const fuzzPassword = "fuzz password 1"

// newBodyFixture builds the Handler and signs an account in.
func newBodyFixture(t testing.TB) *bodyFixture {
	t.Helper()
	fx := &bodyFixture{errors: &errorCount{}, mail: &lastTokens{tokens: map[authkit.MessageKind]string{}}}
	off := authkit.Limit{Off: true}
	a, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     fx.mail,
		Secret:     testSecret,
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
		Now:        testkit.NewClock().Now,
		Limits: authkit.Limits{
			LoginFailures: off, LoginFailuresSustained: off, LoginFailuresDevice: off, LoginAddr: off,
			RegisterAddr: off, MailAddr: off, MailEmail: off, TokenAddr: off,
		},
		MailRetryDelay: time.Millisecond,
		MaxHashWait:    testkit.Timeout,
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	fx.auth = a
	// A small body limit lets inputs reach the 413 too.
	fx.h, err = httpauth.New(httpauth.Config{Authenticator: a, MaxBodyBytes: 4 << 10, Logger: slog.New(fx.errors)})
	require.NoError(t, err, "httpauth.New")
	fx.signIn(t)
	return fx
}

// signIn makes sure the fixture's account has a session that is good now:
// it logs in again when an input ended the session, and signs up a new
// account when an input deleted the account or changed its password to
// one the fixture cannot know.
func (fx *bodyFixture) signIn(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	if fx.access != "" {
		if u, _, err := fx.auth.Authenticate(ctx, fx.access); err == nil {
			live, err := fx.auth.Sessions(ctx, u.ID)
			require.NoError(t, err, "Sessions")
			if slices.ContainsFunc(live, func(s authkit.Session) bool { return s.ID == fx.sid }) {
				return
			}
		}
	}
	tok, err := fx.auth.Login(ctx, fx.email, fx.password, authkit.Client{})
	if err != nil {
		// A random part keeps the address one no input can have taken.
		fx.accounts++
		fx.email, fx.password = fmt.Sprintf("fuzz-%d-%s@example.com", fx.accounts, strings.ToLower(rand.Text()[:8])), fuzzPassword
		reg, err := fx.auth.Register(ctx, authkit.Registration{Email: fx.email, Password: fx.password}, authkit.Client{})
		require.NoError(t, err, "Register(%s)", fx.email)
		tok = reg.Tokens
	}
	fx.access, fx.refresh, fx.sid = tok.AccessToken, tok.RefreshToken, tok.SessionID
}

// expand replaces the placeholders of a fuzz input with the fixture's
// credentials: {{email}}, {{password}}, {{refresh}}, {{sid}}, and the last
// {{verify}} and {{reset}} tokens mailed.
func (fx *bodyFixture) expand(s string) string {
	return strings.NewReplacer(
		"{{email}}", fx.email, "{{password}}", fx.password, "{{refresh}}", fx.refresh, "{{sid}}", fx.sid,
		"{{verify}}", fx.mail.token(authkit.MessageVerifyEmail), "{{reset}}", fx.mail.token(authkit.MessageResetPassword),
	).Replace(s)
}

// learn keeps up with what a successful request changed: new tokens from
// a refresh or a password change, a new password from a change or reset.
func (fx *bodyFixture) learn(route fuzzRoute, body []byte, res *httptest.ResponseRecorder) {
	if res.Code != http.StatusOK {
		return
	}
	var in struct {
		Password    string `json:"password"`
		NewPassword string `json:"new_password"`
	}
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(body, &in)
	_ = json.Unmarshal(res.Body.Bytes(), &out)
	switch route.path {
	case "/refresh":
		fx.access, fx.refresh = out.AccessToken, out.RefreshToken
	case "/change-password":
		fx.access, fx.password = out.AccessToken, in.NewPassword
	case "/reset-password":
		fx.password = in.Password
	}
}

// checkAnswer fails t unless res is an answer the Handler promises for
// any input: never a 5xx; every 4xx an RFC 9457 problem
// (application/problem+json, a JSON object whose status is the response's,
// type about:blank, title the status text, a detail, one of the
// documented codes) that lets out no error text; every 200 and 201 a JSON
// object (application/json); a 204 empty; all of it Cache-Control:
// no-store; and no failure logged as hidden behind a 500.
func checkAnswer(t *testing.T, what string, res *httptest.ResponseRecorder, errorsBefore, errorsAfter int64) {
	t.Helper()
	body := res.Body.Bytes()
	require.Lessf(t, res.Code, 500, "%s: %d %s", what, res.Code, body)
	require.Equalf(t, "no-store", res.Header().Get("Cache-Control"), "%s: Cache-Control", what)
	require.Equalf(t, errorsBefore, errorsAfter, "%s: an error was logged (answered %d %s)", what, res.Code, body)
	ct := res.Header().Get("Content-Type")
	switch {
	case res.Code >= 400:
		require.Equalf(t, "application/problem+json", ct, "%s: %d with Content-Type %q: %s", what, res.Code, ct, body)
		var p struct {
			Type   string              `json:"type"`
			Title  string              `json:"title"`
			Status int                 `json:"status"`
			Detail string              `json:"detail"`
			Code   string              `json:"code"`
			Fields map[string][]string `json:"fields"`
		}
		require.Truef(t, json.Valid(body), "%s: problem body is not JSON: %q", what, body)
		require.NoErrorf(t, json.Unmarshal(body, &p), "%s: problem body %s", what, body)
		require.Equalf(t, res.Code, p.Status, "%s: status member of %s", what, body)
		require.Equalf(t, "about:blank", p.Type, "%s: type member of %s", what, body)
		require.Equalf(t, http.StatusText(res.Code), p.Title, "%s: title member of %s", what, body)
		require.NotEmptyf(t, p.Detail, "%s: detail member of %s", what, body)
		require.Containsf(t, problemCodes, p.Code, "%s: code member of %s", what, body)
		for _, leak := range []string{"authkit:", "httpauth:", "memstore", "panic", "goroutine"} {
			require.NotContainsf(t, string(body), leak, "%s: problem lets out error text: %s", what, body)
		}
	case res.Code == http.StatusNoContent:
		require.Emptyf(t, body, "%s: 204 with a body", what)
	default:
		require.Containsf(t, []int{http.StatusOK, http.StatusCreated}, res.Code, "%s: status %d: %s", what, res.Code, body)
		require.Equalf(t, "application/json", ct, "%s: %d with Content-Type %q", what, res.Code, ct)
		var obj map[string]any
		require.NoErrorf(t, json.Unmarshal(body, &obj), "%s: %d body is not a JSON object: %q", what, res.Code, body)
	}
}

// FuzzEndpointBodies sends arbitrary bodies, under arbitrary Content-Type
// values, to every route of the Handler (route picks one of fuzzRoutes),
// with the bearer token of a signed-in account. Placeholders in the body
// stand for that account's credentials and its last mailed tokens (see
// bodyFixture.expand), so that inputs reach the flows' success paths as
// well as their refusals. Whatever the input, the answer keeps the
// Handler's promises (checkAnswer): never a 5xx, a problem+json for every
// 4xx, JSON for every success.
func FuzzEndpointBodies(f *testing.F) {
	fx := newBodyFixture(f)
	for i := range fuzzRoutes {
		f.Add(uint8(i), "application/json", []byte(`{"email":"{{email}}","password":"{{password}}","refresh_token":"{{refresh}}"}`))
	}
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		fx.signIn(t)
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		body = []byte(fx.expand(string(body)))
		path := fx.expand(rt.path)
		r := httptest.NewRequest(rt.method, "https://app.example.com"+path, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		r.Header.Set("Authorization", "Bearer "+fx.access)
		res := httptest.NewRecorder()
		before := fx.errors.n.Load()
		fx.h.ServeHTTP(res, r)
		checkAnswer(t, fmt.Sprintf("%s %s (Content-Type %q) %q", rt.method, path, contentType, body), res, before, fx.errors.n.Load())
		fx.learn(rt, body, res)
	})
}

// fuzzProxies are the trusted networks FuzzClientAddrTrust picks from, one
// bit of its trust input each.
var fuzzProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("203.0.113.7/32"),
	netip.MustParsePrefix("0.0.0.0/0"),
}

// parseClientAddr parses an address in the notations ClientAddr documents:
// an IP address with or without a port or IPv6 brackets, normalized (an
// IPv4-mapped address as IPv4, no zone).
func parseClientAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// FuzzClientAddrTrust checks ClientAddr against the rule its doc states,
// for arbitrary RemoteAddr values, X-Forwarded-For lines, X-Real-IP and
// Forwarded headers, and sets of trusted proxies:
//
//   - a RemoteAddr without an IP address gives its host part back;
//   - otherwise the answer is a normalized IP address (no zone, IPv4-mapped
//     folded), the peer's own unless the peer is a trusted proxy, and then
//     whatever the headers say is ignored entirely;
//   - from a trusted peer, the answer is the peer, an entry of
//     X-Forwarded-For, or (only when no X-Forwarded-For was sent) X-Real-IP,
//     and an entry is taken only when every entry to its right is a
//     trusted address, and it is either untrusted, the left-most entry, or
//     right of an entry that is no address;
//   - the Forwarded header (RFC 7239), which ClientAddr does not read,
//     never changes the answer.
func FuzzClientAddrTrust(f *testing.F) {
	f.Add(uint8(1), "10.0.0.1:5000", true, "203.0.113.9, 10.0.0.2", "198.51.100.1", "for=198.51.100.2")
	f.Fuzz(func(t *testing.T, trust uint8, remote string, sendXFF bool, xff, realIP, forwarded string) {
		var trusted []netip.Prefix
		for i, p := range fuzzProxies {
			if trust&(1<<i) != 0 {
				trusted = append(trusted, p)
			}
		}
		request := func(headers bool) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = remote
			if headers {
				if sendXFF {
					r.Header["X-Forwarded-For"] = strings.Split(xff, "\n")
				}
				if realIP != "" {
					r.Header.Set("X-Real-IP", realIP)
				}
			}
			return r
		}
		r := request(true)
		if forwarded != "" {
			r.Header.Set("Forwarded", forwarded)
		}
		got := httpauth.ClientAddr(r, trusted)
		what := fmt.Sprintf("ClientAddr(RemoteAddr %q, X-Forwarded-For %q (sent %v), X-Real-IP %q, trusting %v)", remote, xff, sendXFF, realIP, trusted)
		require.Equal(t, httpauth.ClientAddr(request(true), trusted), got, "%s: the Forwarded header %q changes the answer", what, forwarded)

		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		peer, ok := parseClientAddr(host)
		if !ok {
			require.Equal(t, host, got, "%s: a peer without an IP address", what)
			return
		}
		addr, err := netip.ParseAddr(got)
		require.NoError(t, err, "%s = %q, not an IP address", what, got)
		require.Equal(t, got, addr.String(), "%s: not in the normal notation", what)
		require.True(t, addr.Zone() == "" && !addr.Is4In6(), "%s = %q: not normalized", what, got)
		isTrusted := func(a netip.Addr) bool {
			return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
		}
		if !isTrusted(peer) {
			require.Equal(t, peer.String(), got, "%s: an untrusted peer's headers were believed", what)
			require.Equal(t, httpauth.ClientAddr(request(false), trusted), got, "%s: the headers of an untrusted peer matter", what)
			return
		}

		var entries []string
		if sendXFF {
			for _, line := range strings.Split(xff, "\n") {
				for _, e := range strings.Split(line, ",") {
					if e = strings.TrimSpace(e); e != "" {
						entries = append(entries, e)
					}
				}
			}
		}
		valid := func(i int) (netip.Addr, bool) { return parseClientAddr(entries[i]) }
		trustedRightOf := func(i int) bool {
			for j := i + 1; j < len(entries); j++ {
				if a, ok := valid(j); !ok || !isTrusted(a) {
					return false
				}
			}
			return true
		}
		justified := false
		for i := range entries {
			if a, ok := valid(i); ok && a == addr && trustedRightOf(i) {
				leftValid := false
				if i > 0 {
					_, leftValid = valid(i - 1)
				}
				justified = justified || !isTrusted(a) || i == 0 || !leftValid
			}
		}
		if addr == peer {
			last := len(entries) - 1
			switch {
			case sendXFF:
				justified = justified || last < 0 || func() bool { _, ok := valid(last); return !ok }()
			default:
				_, realOK := parseClientAddr(strings.TrimSpace(realIP))
				justified = justified || !realOK
			}
		}
		if !sendXFF {
			if a, ok := parseClientAddr(strings.TrimSpace(realIP)); ok && a == addr {
				justified = true
			}
		}
		require.True(t, justified, "%s = %q: the trust rule does not lead there", what, got)
	})
}
