package authpages_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authpages"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/browsertest"
	"github.com/authkit/authkit/internal/smtpsink"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/smtpmail"
)

// browser starts a headless Chromium for the test and returns a context
// that drives one tab of it. If the test fails, a screenshot of the whole
// page the tab shows then is saved in the test's artifact directory (kept
// with go test -artifacts -outputdir DIR).
func browser(t *testing.T) context.Context {
	t.Helper()
	tab := browsertest.Tab(t)
	// A watchdog for the whole browser: generous, only to turn a hang
	// into a failure. Each step has its own deadline (see do).
	tab, cancelWatchdog := context.WithTimeout(tab, 6*testkit.Timeout)
	t.Cleanup(cancelWatchdog)
	// Start the browser on the long-lived context, so that the deadline of
	// a step does not end it.
	require.NoError(t, chromedp.Do(tab), "start Chromium")
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Logf("no screenshot of the failure: %v", err)
			return
		}
		file := filepath.Join(t.ArtifactDir(), "failure.png")
		if err := os.WriteFile(file, shot, 0o600); err != nil {
			t.Logf("no screenshot of the failure: %v", err)
			return
		}
		t.Logf("screenshot of the page at the failure: %s (kept with go test -artifacts)", file)
	})
	return tab
}

// do runs steps in tab, each run bounded by testkit.Timeout, and fails t
// if one fails.
func do(t testing.TB, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, testkit.Timeout)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...), "in the browser: %s", what)
}

// run runs one action in tab, bounded by testkit.Timeout, and returns its
// value.
func run[T any](t testing.TB, tab context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, testkit.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	require.NoError(t, err, "in the browser: %s", what)
	return v
}

// js evaluates expression in the page of tab and returns its value.
func js[T any](t testing.TB, tab context.Context, expression string) T {
	t.Helper()
	return run(t, tab, "evaluate "+expression, chromedp.Evaluate[T](expression))
}

// text returns the text of the element sel, once it is visible.
func text(t testing.TB, tab context.Context, sel chromedp.CSS) string {
	t.Helper()
	do(t, tab, "wait for "+string(sel), chromedp.WaitVisible(sel))
	return run(t, tab, "read "+string(sel), chromedp.Text(sel))
}

// fill types each value into the field of that id, as a person would;
// the fields are emptied first.
func fill(t testing.TB, tab context.Context, fields ...string) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.WaitVisible(chromedp.ID(fields[i])), chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).value = ""`, fields[i])), chromedp.SendKeys(chromedp.ID(fields[i]), fields[i+1]))
	}
	do(t, tab, "fill "+strings.Join(fields, " "), steps...)
}

// testSecret is an HS256 secret for tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-authpages-test")

// testFactorKey encrypts second factors, for tests only: 32 bytes.
var testFactorKey = []byte("authpages-test-factor-key-32byte")

// clock is a site's time: the real time, which the browser's cookies
// follow too, moved ahead by Advance, so that a test can step past a TOTP
// period or out of the re-authentication window without waiting. It is
// safe for concurrent use.
type clock struct {
	mu    sync.Mutex
	ahead time.Duration
}

// Now returns the real time plus every Advance so far.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

// Advance moves the clock ahead by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

// site is a whole host, served over real HTTP on 127.0.0.1: an
// Authenticator on memstore, with second factors, that mails through
// smtpmail to an in-process SMTP sink and tells time by clock, httpauth
// in cookie mode at /api/auth, and the pages at /.
type site struct {
	url   string // http://127.0.0.1:port
	auth  *authkit.Authenticator
	store *memstore.Store
	mail  *smtpsink.Sink
	log   *testkit.LogBuffer
	clock *clock

	mu       sync.Mutex
	requests []seen
}

// seen is a request the site answered.
type seen struct {
	method, path, origin string
	status               int
	// cookie says whether the request carried the refresh cookie.
	cookie bool
}

// newSite starts a site; cfg configures its pages (APIPrefix is set).
func newSite(t *testing.T, cfg authpages.Config) *site {
	t.Helper()
	s := &site{store: memstore.New(), mail: smtpsink.Start(t), log: &testkit.LogBuffer{}, clock: &clock{}}
	srv := httptest.NewUnstartedServer(nil)
	s.url = "http://" + srv.Listener.Addr().String()

	mailer, err := smtpmail.New(smtpmail.Config{
		Host:    s.mail.Host,
		Port:    s.mail.Port,
		From:    "Example <no-reply@example.com>",
		TLS:     smtpmail.InsecurePlaintext,
		Timeout: testkit.Timeout,
	})
	require.NoError(t, err, "smtpmail.New")
	logger := slog.New(slog.NewTextHandler(s.log, nil))
	a, err := authkit.New(authkit.Config{
		Store:          s.store,
		Limiter:        s.store,
		Mailer:         mailer,
		Secret:         testSecret,
		BaseURL:        s.url,
		AppName:        "Example",
		BcryptCost:     4, // tests only
		MailRetryDelay: time.Millisecond,
		MaxHashWait:    testkit.Timeout,
		Logger:         logger,
		FactorKeys:     []authkit.FactorKey{{ID: "k1", Key: testFactorKey}},
		Now:            s.clock.Now,
	})
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
		defer cancel()
		_ = a.Close(ctx)
	})
	s.auth = a
	api, err := httpauth.New(httpauth.Config{Authenticator: a, Cookies: &httpauth.CookieConfig{}, Logger: logger})
	require.NoError(t, err, "httpauth.New")
	cfg.APIPrefix = "/api/auth"
	cfg.AppName = "Example"
	pages, err := authpages.New(cfg)
	require.NoError(t, err, "authpages.New")

	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	mux.Handle("/", pages)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		_, err := r.Cookie("authkit_refresh") // its name over plain HTTP to loopback
		s.requests = append(s.requests, seen{r.Method, r.URL.Path, r.Header.Get("Origin"), rec.status, err == nil})
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

// seenFrom returns the requests whose Origin header was origin.
func (s *site) seenFrom(origin string) []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seen
	for _, r := range s.requests {
		if r.origin == origin {
			out = append(out, r)
		}
	}
	return out
}

// user returns the stored user of email.
func (s *site) user(t testing.TB, email string) authkit.User {
	t.Helper()
	u, err := s.store.UserByEmail(t.Context(), email)
	require.NoError(t, err, "UserByEmail %s", email)
	return u
}

// sessions returns the live sessions of the user of email.
func (s *site) sessions(t testing.TB, email string) []authkit.Session {
	t.Helper()
	all, err := s.auth.Sessions(t.Context(), s.user(t, email).ID)
	require.NoError(t, err, "Sessions of %s", email)
	return all
}

// register creates an account as the API would, without a browser.
func (s *site) register(t testing.TB, email, password string) {
	t.Helper()
	_, err := s.auth.Register(t.Context(), authkit.Registration{Email: email, Password: password}, authkit.Client{})
	require.NoError(t, err, "register %s", email)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// serveOn serves h over HTTP on a listener of addr, such as
// "127.0.0.2:0", and returns its base URL.
func serveOn(t testing.TB, addr string, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listen on %s", addr)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h, ReadHeaderTimeout: testkit.Timeout}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
