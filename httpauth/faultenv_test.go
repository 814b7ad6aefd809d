package httpauth_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
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

// faultFactorKey turns second factors on in the fault envs. It is for
// tests only.
var faultFactorKey = authkit.FactorKey{ID: "fault-k1", Key: bytes.Repeat([]byte{9}, 32)}

// purposeTicket is the purpose of the ticket of a sign-in's second step,
// which the kit keeps unexported.
const purposeTicket authkit.TokenPurpose = "second_factor"

// recoveryCodes is how many recovery codes a set holds.
const recoveryCodes = 10

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
	store  faults.Faulty
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
	f := &faultEnv{raw: raw, store: faults.Wrap(raw), events: &eventLog{}}
	e := &env{t: t, clock: clock, mail: testkit.NewMailbox(), log: &testkit.LogBuffer{}, store: f.store}
	f.env, f.mailer = e, faults.NewMailer(e.mail)
	logger := slog.New(slog.NewTextHandler(e.log, nil))
	cfg := authkit.Config{
		Store: f.store, Limiter: f.store, Mailer: f.mailer,
		Secret: testSecret, BaseURL: "https://app.example.com",
		PasswordHasher: quickHasher{}, Now: clock.Now, Logger: logger, OnEvent: f.events.record,
		FactorKeys:     []authkit.FactorKey{faultFactorKey},
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
	// The checker reads the raw Store on every call: with a user cache it
	// would be another instance, told of changes within a second, not at
	// once.
	cfg.UserCacheTTL = -1
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
	e.srv = httptest.NewServer(apiContract(t, "/api/auth")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(faults.Mark(r.Context())))
	})))
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

	// totp is the secret of the account's TOTP factor, as the answer to
	// its start gave it, and sealed the Store's ciphertext of it, so that
	// the checks know a factor they read is the one whose codes the
	// account makes; both empty while it has none.
	totp   string
	sealed []byte
	// step is the time step of the last TOTP code made; lastStep the
	// latest step whose code the kit accepted with an answer of success.
	step, lastStep int64
	// recovery are the recovery codes of the set last handed out that the
	// account has not given to the kit; tried counts every recovery code
	// it gave to the kit (or spent in the Store itself), each of which
	// the kit may have spent.
	recovery []string
	tried    int
	// voidCodes are recovery codes that must never be accepted again:
	// spent with an answer of success, or in a set that a new one or the
	// removal of the factor voided.
	voidCodes []string
	// tickets are the tickets the account sent to the second step of a
	// sign-in, and when they were issued; pending is that of its last
	// login that asked for the second factor, and code the last code it
	// gave to the second step.
	tickets []ticket
	pending ticket
	code    string
}

// ticket is the ticket of a sign-in's second step and when it was issued.
type ticket struct {
	token  string
	issued time.Time
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

// signIn logs the account in with password, which must work: in two
// steps, the second with a TOTP code, when it has a second factor.
func (f *faultEnv) signIn(u *faultAccount, password string) cred {
	f.t.Helper()
	res := f.post("/login", map[string]string{"email": u.email, "password": password})
	if u.totp == "" {
		require.Equal(f.t, http.StatusOK, res.status, "POST /login as %s: %s", u.email, res.body)
		return f.hold(u, res.tokens(f.t), false)
	}
	return f.secondStepWorks(u, f.ticketOf(res), false)
}

// ticketOf returns the ticket of a login's answer, which must ask for the
// second factor.
func (f *faultEnv) ticketOf(res response) ticket {
	f.t.Helper()
	body := assertProblem(f.t, res, http.StatusUnauthorized, "second_factor_required")
	token, _ := body["ticket"].(string)
	require.NotEmpty(f.t, token, "a ticket in %s", res.body)
	return ticket{token, f.clock.Now()}
}

// nextCode moves the clock on to the next TOTP time step, since the kit
// accepts a step once, and returns the account's code of that step,
// which it records.
func (f *faultEnv) nextCode(u *faultAccount) string {
	f.t.Helper()
	f.clock.Advance(30 * time.Second)
	now := f.clock.Now()
	code, err := totp.GenerateCode(u.totp, now)
	require.NoError(f.t, err, "totp.GenerateCode")
	u.step = now.Unix() / 30
	return code
}

// nextRecoveryCode returns a recovery code the account holds and has not
// used, which it counts as tried.
func (f *faultEnv) nextRecoveryCode(u *faultAccount) string {
	f.t.Helper()
	require.NotEmpty(f.t, u.recovery, "a recovery code left")
	code := u.recovery[0]
	u.recovery, u.tried = u.recovery[1:], u.tried+1
	return code
}

// secondCode returns the code the account gives to the second step of a
// sign-in, its next TOTP code or a recovery code, a time step after the
// ticket was issued, as a person takes a moment to type it.
func (f *faultEnv) secondCode(u *faultAccount, recovery bool) string {
	f.t.Helper()
	if !recovery {
		return f.nextCode(u)
	}
	f.clock.Advance(30 * time.Second)
	return f.nextRecoveryCode(u)
}

// secondStep sends the second step of a sign-in with tk and code.
func (f *faultEnv) secondStep(u *faultAccount, tk ticket, code string) response {
	f.t.Helper()
	u.tickets = append(u.tickets, tk)
	return f.post("/login/second-factor", map[string]string{"ticket": tk.token, "code": code})
}

// secondStepWorks finishes a sign-in with tk and a TOTP code, or a
// recovery code, which must work, and holds its credentials.
func (f *faultEnv) secondStepWorks(u *faultAccount, tk ticket, recovery bool) cred {
	f.t.Helper()
	code := f.secondCode(u, recovery)
	res := f.secondStep(u, tk, code)
	require.Equal(f.t, http.StatusOK, res.status, "POST /login/second-factor as %s: %s", u.email, res.body)
	u.secondStepDone(tk, code, recovery)
	return f.hold(u, res.tokens(f.t), false)
}

// secondStepDone records what a second step that succeeded spent: its
// ticket, and its code (a recovery code, or the TOTP code of u.step).
func (u *faultAccount) secondStepDone(tk ticket, code string, recovery bool) {
	u.spent = append(u.spent, oneTime{tk.token, purposeTicket})
	if recovery {
		u.voidCodes = append(u.voidCodes, code)
	} else {
		u.lastStep = u.step
	}
}

// finishSignIn takes a sign-in whose second step with tk may have failed
// to its end: with tk while the kit still accepts it, else (or with no
// tk) from the password again.
func (f *faultEnv) finishSignIn(u *faultAccount, tk ticket, recovery bool) cred {
	f.t.Helper()
	if tk.token == "" || !f.oneTimeAccepted(tk.token, purposeTicket) {
		res := f.post("/login", loginBody(u, firstPassword))
		tk = f.ticketOf(res)
	}
	return f.secondStepWorks(u, tk, recovery)
}

// factors returns the raw Store's second factors.
func (f *faultEnv) factors() authkit.FactorStore {
	f.t.Helper()
	fs, ok := f.raw.(authkit.FactorStore)
	require.True(f.t, ok, "the raw Store keeps second factors")
	return fs
}

// factor returns the account's TOTP factor as the raw Store holds it, and
// whether there is one.
func (f *faultEnv) factor(u *faultAccount) (authkit.TOTPFactor, bool) {
	f.t.Helper()
	fac, err := f.factors().TOTP(context.Background(), u.id)
	if errors.Is(err, authkit.ErrNotFound) {
		return authkit.TOTPFactor{}, false
	}
	require.NoError(f.t, err, "raw TOTP")
	return fac, true
}

// startsTOTP begins enrolling a TOTP factor with access, which must work.
func (f *faultEnv) startsTOTP(u *faultAccount, access string) {
	f.t.Helper()
	res := f.bearer(http.MethodPost, "/second-factor/totp", access, nil)
	require.Equal(f.t, http.StatusOK, res.status, "POST /second-factor/totp: %s", res.body)
	f.started(u, res)
}

// started records the secret of an answer that began an enrolment, and
// the Store's ciphertext of it.
func (f *faultEnv) started(u *faultAccount, res response) {
	f.t.Helper()
	secret, _ := res.json(f.t)["secret"].(string)
	require.NotEmpty(f.t, secret, "a secret in %s", res.body)
	fac, ok := f.factor(u)
	require.True(f.t, ok, "a factor is stored after a 200 to its start")
	assert.True(f.t, fac.ConfirmedAt.IsZero(), "the factor is pending after a 200 to its start")
	u.totp, u.sealed, u.lastStep = secret, fac.Secret, 0
}

// confirmsTOTP confirms the enrolment under way with access, which must
// work.
func (f *faultEnv) confirmsTOTP(u *faultAccount, access string) {
	f.t.Helper()
	res := f.bearer(http.MethodPost, "/second-factor/totp/confirm", access, map[string]string{"code": f.nextCode(u)})
	require.Equal(f.t, http.StatusOK, res.status, "POST /second-factor/totp/confirm: %s", res.body)
	u.lastStep = u.step
	f.newCodes(u, res)
	f.mail.Next(f.t, authkit.MessageSecondFactorAdded)
}

// enrols starts and confirms a TOTP factor with access, which must be
// recent.
func (f *faultEnv) enrols(u *faultAccount, access string) {
	f.t.Helper()
	f.startsTOTP(u, access)
	f.confirmsTOTP(u, access)
}

// enrolsQuickly enrols a TOTP factor as enrols does, but starts it behind
// the kit's back (see putPending): for the flows that start from an
// enrolled account.
func (f *faultEnv) enrolsQuickly(u *faultAccount, access string) {
	f.t.Helper()
	f.putPending(u)
	f.confirmsTOTP(u, access)
}

// putPending stores a new pending TOTP factor of the account, as
// StartTOTP does but without the QR code that StartTOTP draws, which
// under -race costs more than the rest of a run. It seals the secret as
// the kit does (factorkey.go: AES-256-GCM under the key that
// Config.FactorKeys names, the nonce first, the user id authenticated
// with it); were the kit to seal otherwise, it would refuse the factor's
// codes, and every drive that starts from one would fail at once.
func (f *faultEnv) putPending(u *faultAccount) {
	f.t.Helper()
	raw := make([]byte, 20)
	_, _ = rand.Read(raw)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	block, err := aes.NewCipher(faultFactorKey.Key)
	require.NoError(f.t, err, "aes.NewCipher")
	aead, err := cipher.NewGCM(block)
	require.NoError(f.t, err, "cipher.NewGCM")
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	fac := authkit.TOTPFactor{
		UserID: u.id, KeyID: faultFactorKey.ID, CreatedAt: f.clock.Now().UTC().Truncate(time.Microsecond),
		Secret: aead.Seal(nonce, nonce, []byte(secret), []byte(u.id)),
	}
	require.NoError(f.t, f.factors().PutTOTP(context.Background(), fac), "raw PutTOTP")
	u.totp, u.sealed, u.lastStep = secret, fac.Secret, 0
}

// newCodes records the set of recovery codes an answer handed out, which
// voids the set before, and checks that its codes are the ones the Store
// holds by spending one there.
func (f *faultEnv) newCodes(u *faultAccount, res response) {
	f.t.Helper()
	var body struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.NoError(f.t, json.Unmarshal(res.body, &body), "decode %s", res.body)
	require.Len(f.t, body.RecoveryCodes, recoveryCodes, "recovery codes in %s", res.body)
	u.voidSet()
	u.recovery = body.RecoveryCodes
	code := f.nextRecoveryCode(u)
	err := f.factors().UseRecoveryCode(context.Background(), u.id, recoveryHash(code), f.clock.Now())
	assert.NoError(f.t, err, "a recovery code handed out is stored unused")
	u.voidCodes = append(u.voidCodes, code)
}

// removed records that the account's factor is gone, as the Store shows,
// and with it every recovery code.
func (f *faultEnv) removed(u *faultAccount) {
	f.t.Helper()
	_, has := f.factor(u)
	assert.False(f.t, has, "no factor once removed")
	u.voidSet()
	u.recovery, u.totp, u.sealed = nil, "", nil
}

// voidSet records that the set of recovery codes the account holds is
// void. One code stands for the set, which the Store replaces or deletes
// in one atomic step: a set that outlived its voiding would show in any
// of its codes, and checking one keeps the checks cheap on SQLite.
func (u *faultAccount) voidSet() {
	if len(u.recovery) > 0 {
		u.voidCodes = append(u.voidCodes, u.recovery[0])
	}
}

// recoveryHash is the hash under which the Store keeps a recovery code:
// the SHA-256 of its letters, lower-case and without the dash.
func recoveryHash(code string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.ReplaceAll(code, "-", ""))))
	return hex.EncodeToString(sum[:])
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

// refreshAccepted reports whether Refresh would accept token now
// (faults.RefreshAccepted, on the raw Store).
func (f *faultEnv) refreshAccepted(token string) bool {
	f.t.Helper()
	ok, err := faults.RefreshAccepted(context.Background(), f.raw, token, f.clock.Now())
	require.NoError(f.t, err, "raw Store")
	return ok
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
//     before the password changed;
//   - and those of second factors (factorViolations).
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
	return append(bad, f.factorViolations(u, cur)...)
}

// factorViolations checks the second factor of the account, cur as the
// raw Store holds it, and says what is broken:
//
//   - recovery codes without a factor (a removal half done), or a
//     confirmed factor with fewer unused codes than a full set less those
//     the account tried (an enrolment half done, which leaves a factor
//     the user cannot recover from);
//   - a recovery code accepted again after it was spent or voided;
//   - a TOTP step accepted again: the factor whose codes the account
//     makes holds a last step before one the kit accepted;
//   - a session of an enrolled account begun, after the factor was
//     confirmed, without the second factor (amr without "mfa");
//   - a ticket of a second step still accepted after a sign-in that
//     followed it: a second step that failed leaves its ticket usable or
//     spent, never both usable and used.
func (f *faultEnv) factorViolations(u *faultAccount, cur authkit.User) []string {
	f.t.Helper()
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	ctx := context.Background()
	fs := f.factors()
	fac, err := fs.TOTP(ctx, cur.ID)
	has := err == nil
	if !has {
		require.ErrorIs(f.t, err, authkit.ErrNotFound, "raw TOTP")
	}
	confirmed := has && !fac.ConfirmedAt.IsZero()
	left, err := fs.RecoveryCodesLeft(ctx, cur.ID)
	require.NoError(f.t, err, "raw RecoveryCodesLeft")
	switch {
	case !has && left > 0:
		report("no factor, yet %d recovery codes are left: a removal half done", left)
	case confirmed && left < recoveryCodes-u.tried:
		report("a confirmed factor has %d recovery codes left, of a set of %d of which the account tried %d", left, recoveryCodes, u.tried)
	}
	for _, code := range u.voidCodes {
		switch err := fs.UseRecoveryCode(ctx, cur.ID, recoveryHash(code), f.clock.Now()); {
		case err == nil:
			report("a spent recovery code is accepted again")
		case !errors.Is(err, authkit.ErrNotFound):
			require.NoError(f.t, err, "raw UseRecoveryCode")
		}
	}
	if confirmed && bytes.Equal(fac.Secret, u.sealed) && fac.LastStep < u.lastStep {
		report("TOTP step %d was accepted, yet the factor's last step is %d: it would be accepted again", u.lastStep, fac.LastStep)
	}
	sessions, err := f.raw.UserSessions(ctx, cur.ID)
	require.NoError(f.t, err, "raw UserSessions")
	for _, s := range sessions {
		if confirmed && s.CreatedAt.After(fac.ConfirmedAt) && !slices.Contains(s.AuthMethods, authkit.MethodMFA) {
			report("a session begun after the factor was confirmed lacks the second factor (amr %v)", s.AuthMethods)
		}
	}
	for _, tk := range u.tickets {
		if !f.oneTimeAccepted(tk.token, purposeTicket) {
			continue
		}
		for _, s := range sessions {
			if s.CreatedAt.After(tk.issued) && slices.Contains(s.AuthMethods, authkit.MethodMFA) {
				report("a ticket is still accepted after a sign-in with the second factor that followed it")
				break
			}
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
// its headers or body, after the secrets it may rightly carry (tokens, the
// device cookie, tickets, TOTP secrets and their QR codes, recovery
// codes: random text in which a fragment could turn up by chance) are
// taken out.
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
		for _, k := range []string{"access_token", "refresh_token", "device_token", "ticket", "secret", "uri", "qr_code", "recovery_codes"} {
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
