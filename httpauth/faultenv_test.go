package httpauth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

// The harness of the fault drives in faults_test.go: Stores to run on, an
// env whose Store and Mailer fail on command, the accounts the flows act
// on, and the invariants checked against the Store that no fault touches.

// The passwords of the fault drives: every account starts with the first;
// the flows that set a password set the second.
const (
	firstPassword  = "first-password-1"
	secondPassword = "second-password-2"
)

// faultEngine opens the Stores a fault drive runs on.
type faultEngine struct {
	name string
	// open returns an empty, ready Store that lives as long as t.
	open func(t testing.TB) authkit.Store
}

// faultEngines are memstore and SQLite, whose transactions make the atomic
// steps atomic in another way.
var faultEngines = []faultEngine{
	{"memstore", func(testing.TB) authkit.Store { return memstore.New() }},
	{"sqlite", openSQLite},
}

// openSQLite opens and migrates a SQLite database in a file of t's own.
// Durability is no concern here, so commits skip fsync.
func openSQLite(t testing.TB) authkit.Store {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "authkit.db") + "?_pragma=synchronous(off)"
	db, err := sqlite.Open(context.Background(), url)
	require.NoError(t, err, "sqlite.Open(%q)", url)
	t.Cleanup(func() { _ = db.Close() })
	s, err := sqlite.New(db)
	require.NoError(t, err, "sqlite.New")
	require.NoError(t, s.Migrate(context.Background()), "Migrate")
	return s
}

// quickHasher is a PasswordHasher without a work factor (a salted
// SHA-256), so that drives which hash thousands of times stay fast under
// -race. It is for tests only.
type quickHasher struct{}

const quickPrefix = "$quick$"

func (quickHasher) Hash(password string) (string, error) {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	return quickPrefix + hex.EncodeToString(salt) + "$" + quickSum(salt, password), nil
}

func (quickHasher) Verify(hash, password string) (bool, error) {
	salt, sum, ok := strings.Cut(strings.TrimPrefix(hash, quickPrefix), "$")
	raw, err := hex.DecodeString(salt)
	if !strings.HasPrefix(hash, quickPrefix) || !ok || err != nil {
		return false, authkit.ErrCorruptHash
	}
	return subtle.ConstantTimeCompare([]byte(sum), []byte(quickSum(raw, password))) == 1, nil
}

func (quickHasher) NeedsRehash(string) bool { return false }

func quickSum(salt []byte, password string) string {
	sum := sha256.Sum256(append(append([]byte(nil), salt...), password...))
	return hex.EncodeToString(sum[:])
}

// roomy is a rate limit that the drives never reach: the limits stay on,
// so that their Limiter calls are made and fail too.
var roomy = authkit.Limit{Burst: 1000, Every: time.Second}

// faultEnv is an env whose Store (and Limiter) and Mailer fail on command,
// over a raw Store that the invariants read. Every request it sends is
// marked (faults.Mark), so that a Fault can count the calls made on the
// request path apart from those of the mail workers.
type faultEnv struct {
	*env
	raw    authkit.Store
	store  *faults.Store
	mailer *faults.Mailer
	// check is an Authenticator over raw, which reads it to say whether
	// an access token is accepted.
	check *authkit.Authenticator
	// events are the Authenticator's events.
	events *eventLog
}

// eventLog keeps events.
type eventLog struct {
	mu   sync.Mutex
	list []authkit.Event
}

func (l *eventLog) record(_ context.Context, e authkit.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, e)
}

// count returns how many events of typ with reason were recorded.
func (l *eventLog) count(typ authkit.EventType, reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.list {
		if e.Type == typ && e.Reason == reason {
			n++
		}
	}
	return n
}

// newFaultEnv starts a faultEnv over raw, on clock. Unlike newEnv it is
// not torn down by t's cleanup but by close, so that a drive of hundreds
// of runs holds one server at a time.
func newFaultEnv(t testing.TB, raw authkit.Store, clock *testkit.Clock) *faultEnv {
	t.Helper()
	f := &faultEnv{raw: raw, store: faults.NewStore(raw), events: &eventLog{}}
	e := &env{t: t, clock: clock, mail: testkit.NewMailbox(), log: &testkit.LogBuffer{}, store: f.store}
	f.env, f.mailer = e, faults.NewMailer(e.mail)
	logger := slog.New(slog.NewTextHandler(e.log, nil))
	cfg := authkit.Config{
		Store: f.store, Limiter: f.store, Mailer: f.mailer,
		Secret: testSecret, BaseURL: "https://app.example.com",
		PasswordHasher: quickHasher{}, Now: clock.Now, Logger: logger, OnEvent: f.events.record,
		MailRetryDelay: time.Millisecond, MaxHashWait: testkit.Timeout,
		Limits: authkit.Limits{
			LoginFailures: roomy, LoginFailuresSustained: roomy, LoginFailuresDevice: roomy,
			LoginAddr: roomy, RegisterAddr: roomy, MailAddr: roomy, MailEmail: roomy, TokenAddr: roomy,
		},
	}
	var err error
	e.auth, err = authkit.New(cfg)
	require.NoError(t, err, "authkit.New")
	cfg.Store, cfg.Limiter, cfg.Mailer, cfg.OnEvent, cfg.Logger = raw, nil, testkit.NewMailbox(), nil, nil
	f.check, err = authkit.New(cfg)
	require.NoError(t, err, "authkit.New of the checker")
	e.h, err = httpauth.New(httpauth.Config{Authenticator: e.auth, Logger: logger})
	require.NoError(t, err, "httpauth.New")

	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", e.h))
	mux.Handle("GET /api/hello", e.h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := httpauth.UserFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "Hello, " + u.DisplayName + "!"})
	})))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(faults.Mark(r.Context())))
	}))
	return f
}

// settle closes the Authenticator, which waits for the mail queue to
// drain, so that every Store call and message the env caused is done.
func (f *faultEnv) settle() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	require.NoError(f.t, f.auth.Close(ctx), "Close drains the mail queue")
}

// close settles f and stops its server.
func (f *faultEnv) close() {
	f.t.Helper()
	f.settle()
	f.srv.Close()
	_ = f.check.Close(context.Background())
}

// faultAccount is a user the drives act on, with everything the test holds of
// it: the credentials it was given and the one-time tokens it spent.
type faultAccount struct {
	email string
	// passwords are those it may have: the first, and the one a flow sets.
	passwords []string
	id        string
	// hash and version are its password hash and token version when the
	// flow began.
	hash    string
	version int64
	// verify is the verification token of its registration; device the
	// device credential of its last sign-in.
	verify string
	device string
	creds  []cred
	// staleReset is a reset link mailed before the flow: once the
	// password changes, it must be refused.
	staleReset string
	// spent are one-time tokens that a flow reported spent.
	spent []oneTime
}

// cred is a session's credentials as a client holds them, with what the
// account was when they were issued.
type cred struct {
	refresh, access string
	version         int64
	hash            string
	// keep marks the session a change of password keeps.
	keep bool
}

// oneTime is a one-time token and what it is for.
type oneTime struct {
	token   string
	purpose authkit.TokenPurpose
}

// newAccount names an account after the drive and run, so that runs on
// one database never meet.
func newAccount(drive string, n int) *faultAccount {
	local := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(drive))
	return &faultAccount{email: fmt.Sprintf("%s-%d@example.com", local, n), passwords: []string{firstPassword}}
}

// sessionOf returns the session id of a refresh token.
func sessionOf(refresh string) string {
	id, _, _ := strings.Cut(refresh, ".")
	return id
}

// user returns the account's user as the raw Store holds it, and whether
// there is one.
func (f *faultEnv) user(u *faultAccount) (authkit.User, bool) {
	f.t.Helper()
	cur, err := f.raw.UserByEmail(context.Background(), u.email)
	if errors.Is(err, authkit.ErrNotFound) {
		return authkit.User{}, false
	}
	require.NoError(f.t, err, "raw UserByEmail")
	return cur, true
}

// snapshot records the account's id, hash and token version as the flow
// begins.
func (f *faultEnv) snapshot(u *faultAccount) {
	f.t.Helper()
	cur, ok := f.user(u)
	require.True(f.t, ok, "%s exists", u.email)
	u.id, u.hash, u.version = cur.ID, cur.PasswordHash, cur.TokenVersion
}

// hold records a token response's credentials on the account, with what
// the account is now.
func (f *faultEnv) hold(u *faultAccount, tk tokens, keep bool) cred {
	f.t.Helper()
	cur, ok := f.user(u)
	require.True(f.t, ok, "%s exists after a token response", u.email)
	c := cred{refresh: tk.RefreshToken, access: tk.AccessToken, version: cur.TokenVersion, hash: cur.PasswordHash, keep: keep}
	u.creds = append(u.creds, c)
	return c
}

// signUp registers the account over HTTP and takes its verification mail.
func (f *faultEnv) signUp(u *faultAccount) {
	f.t.Helper()
	res := f.post("/register", map[string]string{"email": u.email, "password": firstPassword})
	require.Equal(f.t, http.StatusCreated, res.status, "POST /register: %s", res.body)
	f.hold(u, res.tokens(f.t), false)
	u.device, _ = res.json(f.t)["device_token"].(string)
	u.verify = f.mailed(authkit.MessageVerifyEmail)
	f.snapshot(u)
}

// signIn logs the account in with password, which must work.
func (f *faultEnv) signIn(u *faultAccount, password string) cred {
	f.t.Helper()
	res := f.post("/login", map[string]string{"email": u.email, "password": password})
	require.Equal(f.t, http.StatusOK, res.status, "POST /login as %s: %s", u.email, res.body)
	return f.hold(u, res.tokens(f.t), false)
}

// mailed takes the next message of kind and returns the token of its link.
func (f *faultEnv) mailed(kind authkit.MessageKind) string {
	f.t.Helper()
	return testkit.TokenOf(f.t, f.mail.Next(f.t, kind))
}

// requestLink asks for a link mailed to the account (at path, such as
// "/forgot-password") and returns its token.
func (f *faultEnv) requestLink(u *faultAccount, path string, kind authkit.MessageKind) string {
	f.t.Helper()
	res := f.post(path, map[string]string{"email": u.email})
	require.Equal(f.t, http.StatusOK, res.status, "POST %s: %s", path, res.body)
	return f.mailed(kind)
}

// hashIs reports whether the stored hash is that of password.
func hashIs(hash, password string) bool {
	ok, err := quickHasher{}.Verify(hash, password)
	return ok && err == nil
}

// refreshAccepted reports whether Refresh would accept token now: its
// session exists, holds the token's secret as its current one and has not
// expired, and its user is active.
func (f *faultEnv) refreshAccepted(token string) bool {
	f.t.Helper()
	id, secret, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	ctx := context.Background()
	s, err := f.raw.Session(ctx, id)
	if errors.Is(err, authkit.ErrNotFound) {
		return false
	}
	require.NoError(f.t, err, "raw Session")
	sum := sha256.Sum256([]byte(secret))
	if s.RefreshHash != hex.EncodeToString(sum[:]) || !f.clock.Now().Before(s.ExpiresAt) {
		return false
	}
	owner, err := f.raw.UserByID(ctx, s.UserID)
	return err == nil && owner.Active
}

// accessAccepted reports whether Authenticate accepts the access token.
func (f *faultEnv) accessAccepted(token string) bool {
	_, _, err := f.check.Authenticate(context.Background(), token)
	return err == nil
}

// oneTimeAccepted reports whether a flow would accept the one-time token
// for purpose: it is stored, unused, unexpired, and its user exists.
func (f *faultEnv) oneTimeAccepted(token string, purpose authkit.TokenPurpose) bool {
	f.t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(token))
	t, err := f.raw.Token(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, authkit.ErrNotFound) {
		return false
	}
	require.NoError(f.t, err, "raw Token")
	if t.Purpose != purpose || !t.UsedAt.IsZero() || f.clock.Now().After(t.ExpiresAt) {
		return false
	}
	_, err = f.raw.UserByID(ctx, t.UserID)
	return err == nil
}

// violations checks the account against the raw Store and says what is
// broken:
//
//   - a user without a password hash, or with one of no known password;
//   - a credential accepted (by Refresh or Authenticate) of a deleted or
//     disabled user, or from before the token version moved on (bar the
//     session a change of password keeps), or from before the password
//     changed;
//   - a disabled user with sessions left, which enabling would revive;
//   - a password changed without the token version moving (a half-applied
//     reset or change);
//   - a one-time token accepted after it was spent, or a reset link mailed
//     before the password changed.
func (f *faultEnv) violations(u *faultAccount) []string {
	f.t.Helper()
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	cur, exists := f.user(u)
	for i, c := range u.creds {
		refresh, access := f.refreshAccepted(c.refresh), f.accessAccepted(c.access)
		switch {
		case !refresh && !access:
		case !exists:
			report("credential %d of a deleted user is accepted (refresh %t, access %t)", i, refresh, access)
		case !cur.Active:
			report("credential %d of a disabled user is accepted (refresh %t, access %t)", i, refresh, access)
		case access && cur.TokenVersion != c.version:
			report("access token %d of token version %d is accepted at version %d", i, c.version, cur.TokenVersion)
		case access && cur.PasswordHash != c.hash:
			report("access token %d from before the password changed is accepted", i)
		case refresh && !c.keep && cur.TokenVersion != c.version:
			report("session %d from before token version %d is still accepted", i, cur.TokenVersion)
		case refresh && !c.keep && cur.PasswordHash != c.hash:
			report("session %d from before the password changed is still accepted", i)
		}
	}
	for _, o := range u.spent {
		if f.oneTimeAccepted(o.token, o.purpose) {
			report("a spent %s token is accepted again", o.purpose)
		}
	}
	if !exists {
		return bad
	}
	known := false
	for _, p := range u.passwords {
		known = known || hashIs(cur.PasswordHash, p)
	}
	switch {
	case cur.PasswordHash == "":
		report("user %s has no password hash", u.email)
	case !known:
		report("user %s has a hash of no password it was given", u.email)
	}
	if !cur.Active {
		sessions, err := f.raw.UserSessions(context.Background(), cur.ID)
		require.NoError(f.t, err, "raw UserSessions")
		if len(sessions) > 0 {
			report("disabled user keeps %d sessions, which enabling would revive", len(sessions))
		}
	}
	if u.hash != "" && cur.PasswordHash != u.hash {
		if cur.TokenVersion == u.version {
			report("the password changed but the token version stayed %d", cur.TokenVersion)
		}
		if u.staleReset != "" && f.oneTimeAccepted(u.staleReset, authkit.PurposeResetPassword) {
			report("a reset link mailed before the password changed is still accepted")
		}
	}
	return bad
}

// assertSound fails the test with every violation of the account's
// invariants.
func (f *faultEnv) assertSound(what string, u *faultAccount) {
	f.t.Helper()
	for _, v := range f.violations(u) {
		f.t.Errorf("%s: %s", what, v)
	}
}

// assertAnswer checks an answer that a fault may have hit: it leaks
// nothing, and it is want or, when a fault was injected, a generic 500 or
// 503 problem.
func assertAnswer(t testing.TB, what string, res response, want int, rep faults.Report) {
	t.Helper()
	if leaks := leaked(res); len(leaks) > 0 {
		t.Errorf("%s: the answer leaks %q: %s %s", what, leaks, res.header, res.body)
	}
	switch {
	case res.status == want:
	case !rep.Injected:
		t.Errorf("%s: no fault was injected, yet the answer is %d, want %d: %s", what, res.status, want, res.body)
	case res.status == http.StatusInternalServerError:
		m := assertProblem(t, res, http.StatusInternalServerError, "internal")
		assert.Equal(t, "An internal error occurred.", m["detail"], "%s: detail", what)
	case res.status == http.StatusServiceUnavailable:
		assertProblem(t, res, http.StatusServiceUnavailable, "unavailable")
	default:
		t.Errorf("%s: answered %d, want %d or a generic 500 or 503: %s", what, res.status, want, res.body)
	}
}

// leaked returns the fragments of faults.Leaks that the answer holds in
// its headers or body, after the secrets it may rightly carry (tokens and
// the device cookie, random text in which a fragment could turn up by
// chance) are taken out.
func leaked(res response) []string {
	var b strings.Builder
	for name, values := range res.header {
		for _, v := range values {
			if name == "Set-Cookie" && strings.HasPrefix(v, httpauth.DeviceCookie+"=") {
				continue
			}
			fmt.Fprintf(&b, "%s: %s\n", name, v)
		}
	}
	body := res.body
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		for _, k := range []string{"access_token", "refresh_token", "device_token"} {
			delete(m, k)
		}
		body, _ = json.Marshal(m)
	}
	b.Write(body)
	text := strings.ToLower(b.String())
	var out []string
	for _, frag := range faults.Leaks {
		if strings.Contains(text, strings.ToLower(frag)) {
			out = append(out, frag)
		}
	}
	return out
}
