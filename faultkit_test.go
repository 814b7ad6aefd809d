package authkit_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

// The harness of the fault drives in faults_test.go, for the flows that
// only the Go API offers. httpauth/faultenv_test.go holds its HTTP twin.

// faultPassword is the password of every account the drives make.
const faultPassword = "fault-password-1"

// faultStores are the Stores the drives run on: memstore, and SQLite,
// whose transactions make the atomic steps atomic in another way. Each
// open returns an empty, ready Store that lives as long as t.
var faultStores = []struct {
	name string
	open func(t testing.TB) authkit.Store
}{
	{"memstore", func(testing.TB) authkit.Store { return memstore.New() }},
	{"sqlite", func(t testing.TB) authkit.Store {
		t.Helper()
		url := "sqlite:" + filepath.Join(t.TempDir(), "authkit.db") + "?_pragma=synchronous(off)"
		db, err := sqlite.Open(context.Background(), url)
		require.NoError(t, err, "sqlite.Open(%q)", url)
		t.Cleanup(func() { _ = db.Close() })
		s, err := sqlite.New(db)
		require.NoError(t, err, "sqlite.New")
		require.NoError(t, s.Migrate(context.Background()), "Migrate")
		return s
	}},
}

// faultHasher is a PasswordHasher without a work factor (a salted
// SHA-256), so that drives which hash thousands of times stay fast under
// -race. It is for tests only.
type faultHasher struct{}

func (faultHasher) Hash(password string) (string, error) {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	return "$fault$" + hex.EncodeToString(salt) + "$" + faultSum(salt, password), nil
}

func (faultHasher) Verify(hash, password string) (bool, error) {
	salt, sum, ok := strings.Cut(strings.TrimPrefix(hash, "$fault$"), "$")
	raw, err := hex.DecodeString(salt)
	if !strings.HasPrefix(hash, "$fault$") || !ok || err != nil {
		return false, authkit.ErrCorruptHash
	}
	return subtle.ConstantTimeCompare([]byte(sum), []byte(faultSum(raw, password))) == 1, nil
}

func (faultHasher) NeedsRehash(string) bool { return false }

func faultSum(salt []byte, password string) string {
	sum := sha256.Sum256(append(append([]byte(nil), salt...), password...))
	return hex.EncodeToString(sum[:])
}

// faultKit is an Authenticator whose Store (and Limiter) fails on
// command, over a raw Store that the invariants read.
type faultKit struct {
	*authkit.Authenticator
	t     testing.TB
	raw   authkit.Store
	store faults.Faulty
	mail  *testkit.Mailbox
	clock *testkit.Clock
	// check is an Authenticator over raw, which reads it to say whether
	// an access token is accepted.
	check *authkit.Authenticator
}

// newFaultKit builds a faultKit over raw, on clock, with cheap hashing,
// second factors on, and rate limits that are on but never reached. close
// tears it down.
func newFaultKit(t testing.TB, raw authkit.Store, clock *testkit.Clock) *faultKit {
	t.Helper()
	k := &faultKit{t: t, raw: raw, store: faults.Wrap(raw), mail: testkit.NewMailbox(), clock: clock}
	roomy := authkit.Limit{Burst: 1000, Every: time.Second}
	cfg := authkit.Config{
		Store: k.store, Limiter: k.store, Mailer: k.mail,
		Secret: testSecret, BaseURL: "https://app.example.com",
		PasswordHasher: faultHasher{}, Now: clock.Now, FactorKeys: []authkit.FactorKey{factorKey},
		MailRetryDelay: time.Millisecond, MaxHashWait: testkit.Timeout,
		Limits: authkit.Limits{
			LoginFailures: roomy, LoginFailuresSustained: roomy, LoginFailuresDevice: roomy,
			LoginAddr: roomy, RegisterAddr: roomy, MailAddr: roomy, MailEmail: roomy, TokenAddr: roomy,
		},
	}
	var err error
	k.Authenticator, err = authkit.New(cfg)
	require.NoError(t, err, "authkit.New")
	cfg.Store, cfg.Limiter, cfg.Mailer = raw, nil, testkit.NewMailbox()
	k.check, err = authkit.New(cfg)
	require.NoError(t, err, "authkit.New of the checker")
	return k
}

// close drains the kit's mail and stops it.
func (k *faultKit) close() {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	require.NoError(k.t, k.Close(ctx), "Close drains the mail queue")
	_ = k.check.Close(ctx)
}

// faultClient is the client of every flow the drives run.
var faultClient = authkit.Client{Addr: "192.0.2.1", UserAgent: "faults"}

// faultUser is an account the drives act on, with the credentials it was
// given and the token version each was given at.
type faultUser struct {
	id, email string
	verify    string
	creds     []faultCred
}

// faultCred is one session's tokens and the token version they carry.
type faultCred struct {
	authkit.Tokens
	version int64
}

// signUp registers an account, takes its verification mail and logs it
// in once more, so that it has two sessions.
func (k *faultKit) signUp(email string) *faultUser {
	k.t.Helper()
	ctx := context.Background()
	reg, err := k.Register(ctx, authkit.Registration{Email: email, Password: faultPassword}, faultClient)
	require.NoError(k.t, err, "Register(%s)", email)
	u := &faultUser{id: reg.User.ID, email: reg.User.Email}
	u.verify = testkit.TokenOf(k.t, k.mail.Next(k.t, authkit.MessageVerifyEmail))
	u.creds = append(u.creds, faultCred{reg.Tokens, reg.User.TokenVersion})
	k.signIn(u)
	return u
}

// enrol starts and confirms a TOTP factor for the account with the access
// token of its registration, which must be recent.
func (k *faultKit) enrol(u *faultUser) {
	k.t.Helper()
	ctx := context.Background()
	claims, err := k.VerifyAccessToken(ctx, u.creds[0].AccessToken)
	require.NoError(k.t, err, "VerifyAccessToken")
	e, err := k.StartTOTP(ctx, claims)
	require.NoError(k.t, err, "StartTOTP")
	k.clock.Advance(30 * time.Second) // a step of its own
	code, err := totp.GenerateCode(e.Secret, k.clock.Now())
	require.NoError(k.t, err, "totp.GenerateCode")
	_, err = k.ConfirmTOTP(ctx, u.id, code, faultClient)
	require.NoError(k.t, err, "ConfirmTOTP")
	k.clock.Advance(30 * time.Second)
}

// signIn logs the account in, which must work.
func (k *faultKit) signIn(u *faultUser) {
	k.t.Helper()
	tk, err := k.Login(context.Background(), u.email, faultPassword, faultClient)
	require.NoError(k.t, err, "Login(%s)", u.email)
	u.creds = append(u.creds, faultCred{tk, tk.User.TokenVersion})
}

// refreshAccepted reports whether Refresh would accept token now
// (faults.RefreshAccepted, on the raw Store).
func (k *faultKit) refreshAccepted(token string) bool {
	k.t.Helper()
	ok, err := faults.RefreshAccepted(context.Background(), k.raw, token, k.clock.Now())
	require.NoError(k.t, err, "raw Store")
	return ok
}

// accessAccepted reports whether Authenticate accepts the access token.
func (k *faultKit) accessAccepted(token string) bool {
	_, _, err := k.check.Authenticate(context.Background(), token)
	return err == nil
}

// verifyAccepted reports whether VerifyEmail would accept the token: it
// is stored, unused and unexpired.
func (k *faultKit) verifyAccepted(token string) bool {
	k.t.Helper()
	sum := sha256.Sum256([]byte(token))
	t, err := k.raw.Token(context.Background(), hex.EncodeToString(sum[:]))
	if errors.Is(err, authkit.ErrNotFound) {
		return false
	}
	require.NoError(k.t, err, "raw Token")
	return t.Purpose == authkit.PurposeVerifyEmail && t.UsedAt.IsZero() && !k.clock.Now().After(t.ExpiresAt)
}

// violations checks the account against the raw Store and says what is
// broken: a user without a usable password hash; a credential of a
// disabled user, or from before the token version moved on, that is
// accepted; a disabled user with sessions left, which enabling would
// revive; recovery codes without a factor, or a confirmed factor without
// its full set (the drives here spend none): a factor half removed, or
// half enrolled; a session begun, after the factor was confirmed, without
// the second factor.
func (k *faultKit) violations(u *faultUser) []string {
	k.t.Helper()
	var bad []string
	report := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	cur, err := k.raw.UserByID(context.Background(), u.id)
	require.NoError(k.t, err, "raw UserByID")
	if ok, _ := (faultHasher{}).Verify(cur.PasswordHash, faultPassword); !ok {
		report("user %s has no usable password hash: %q", u.email, cur.PasswordHash)
	}
	for i, c := range u.creds {
		refresh, access := k.refreshAccepted(c.RefreshToken), k.accessAccepted(c.AccessToken)
		switch {
		case !refresh && !access:
		case !cur.Active:
			report("credential %d of a disabled user is accepted (refresh %t, access %t)", i, refresh, access)
		case cur.TokenVersion != c.version:
			report("credential %d of token version %d is accepted at version %d (refresh %t, access %t)",
				i, c.version, cur.TokenVersion, refresh, access)
		}
	}
	sessions, err := k.raw.UserSessions(context.Background(), u.id)
	require.NoError(k.t, err, "raw UserSessions")
	if !cur.Active && len(sessions) > 0 {
		report("disabled user keeps %d sessions, which enabling would revive", len(sessions))
	}
	fs, ok := k.raw.(authkit.FactorStore)
	require.True(k.t, ok, "the raw Store keeps second factors")
	f, err := fs.TOTP(context.Background(), u.id)
	has := err == nil
	if !has {
		require.ErrorIs(k.t, err, authkit.ErrNotFound, "raw TOTP")
	}
	confirmed := has && !f.ConfirmedAt.IsZero()
	left, err := fs.RecoveryCodesLeft(context.Background(), u.id)
	require.NoError(k.t, err, "raw RecoveryCodesLeft")
	switch {
	case !has && left > 0:
		report("no factor, yet %d recovery codes are left: a removal half done", left)
	case confirmed && left < recoveryCodes:
		report("a confirmed factor has %d recovery codes left, not %d", left, recoveryCodes)
	}
	for _, s := range sessions {
		if confirmed && s.CreatedAt.After(f.ConfirmedAt) && !slices.Contains(s.AuthMethods, authkit.MethodMFA) {
			report("a session begun after the factor was confirmed lacks the second factor (amr %v)", s.AuthMethods)
		}
	}
	return bad
}

// recoveryCodes is how many recovery codes a set holds.
const recoveryCodes = 10

// assertSound fails the test with every violation of the account's
// invariants.
func (k *faultKit) assertSound(what string, u *faultUser) {
	k.t.Helper()
	for _, v := range k.violations(u) {
		k.t.Errorf("%s: %s", what, v)
	}
}
