package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

// The suite is checked against stores that each break one promise of the
// contract: every one of them must make the suite fail, in the subtest that
// names the broken promise. Each broken store runs in a child process, since
// a failing suite must not fail this test.

// mutantEnv names the broken store a child process runs the suite on.
const mutantEnv = "STORETEST_MUTANT"

// controlName names the correct store, which the suite must pass, run the
// same way as the broken ones.
const controlName = "Control"

// mutants are stores that break the contract, each in one way, built on a
// correct store. failing is a subtest of Run that must fail.
var mutants = map[string]struct {
	failing string
	wrap    func(authkit.Store) authkit.Store
}{
	"EmailCaseSensitive":    {"User/EmailAnyCase", func(s authkit.Store) authkit.Store { return emailCaseSensitive{s} }},
	"UpdateNotAtomic":       {"UpdateUser/IfPasswordHashMismatchWritesNothing", func(s authkit.Store) authkit.Store { return updateNotAtomic{s} }},
	"KeepSessionIgnored":    {"UpdateUser/EndSessionsKeepSession", func(s authkit.Store) authkit.Store { return keepSessionIgnored{s} }},
	"ConsumeRace":           {"Concurrency/ConsumeToken", func(s authkit.Store) authkit.Store { return consumeRace{s} }},
	"WrongPurposeBurns":     {"Token/ConsumeWrongPurpose", func(s authkit.Store) authkit.Store { return wrongPurposeBurns{s} }},
	"ExpiredTokensAtBefore": {"Token/DeleteExpiredTokens", func(s authkit.Store) authkit.Store { return expiredTokensAtBefore{s} }},
	"SessionsNil":           {"Session/UserSessionsNone", func(s authkit.Store) authkit.Store { return sessionsNil{s} }},
	"SessionsNewestFirst":   {"Session/UserSessions", func(s authkit.Store) authkit.Store { return sessionsNewestFirst{s} }},
	"RotateWithoutCAS":      {"Concurrency/RotateSession", func(s authkit.Store) authkit.Store { return rotateWithoutCAS{s} }},
	"DeleteAnyonesSession":  {"Session/DeleteSessionOfAnotherUser", func(s authkit.Store) authkit.Store { return deleteAnyonesSession{s} }},
	"DeleteLeavesSessions":  {"DeleteUser/EverythingOfTheUser", func(s authkit.Store) authkit.Store { return deleteLeavesSessions{s} }},
	"LocalTimes":            {"User/RoundTrip", func(s authkit.Store) authkit.Store { return localTimes{s} }},
	"IgnoresContext":        {"Context/Session", func(s authkit.Store) authkit.Store { return ignoresContext{s} }},
	"AuthMethodsSorted":     {"Session/AuthMethods", func(s authkit.Store) authkit.Store { return authMethodsSorted{s} }},
	"AuthMethodsShared":     {"Copies/Session", func(s authkit.Store) authkit.Store { return newAuthMethodsShared(s) }},
	"RotateForgetsAuth":     {"Session/Rotate", func(s authkit.Store) authkit.Store { return rotateForgetsAuth{s} }},

	"PutOverConfirmed":       {"Factor/TOTP/PutOverConfirmed", func(s authkit.Store) authkit.Store { return putOverConfirmed{s.(factors)} }},
	"PutKeepsConfirmedAt":    {"Factor/TOTP/PutStoresPending", func(s authkit.Store) authkit.Store { return putKeepsConfirmedAt{s.(factors)} }},
	"ConfirmTwice":           {"Factor/TOTP/Confirm", func(s authkit.Store) authkit.Store { return confirmTwice{s.(factors)} }},
	"StepReplay":             {"Factor/TOTP/UseStep", func(s authkit.Store) authkit.Store { return stepReplay{s.(factors)} }},
	"UsedCodesCounted":       {"Factor/RecoveryCodes/Use", func(s authkit.Store) authkit.Store { return newUsedCodesCounted(s.(factors)) }},
	"DeleteUserLeavesFactor": {"Factor/DeleteUser", func(s authkit.Store) authkit.Store { return newDeleteUserLeavesFactor(s.(factors)) }},
	"SecretShared":           {"Factor/Copies", func(s authkit.Store) authkit.Store { return newSecretShared(s.(factors)) }},
	"FactorIgnoresContext":   {"Factor/Context/TOTP", func(s authkit.Store) authkit.Store { return factorIgnoresContext{s.(factors)} }},
	"RecoveryCodeRace":       {"Factor/Concurrency/UseRecoveryCode", func(s authkit.Store) authkit.Store { return newRecoveryCodeRace(s.(factors)) }},
	"StepWithoutCAS":         {"Factor/Concurrency/UseTOTPStep", func(s authkit.Store) authkit.Store { return stepWithoutCAS{s.(factors)} }},
	"ReplaceNotAtomic":       {"Factor/Concurrency/ReplaceRecoveryCodes", func(s authkit.Store) authkit.Store { return newReplaceNotAtomic(s.(factors)) }},
}

// withoutFactorsName names a correct store that does not implement
// authkit.FactorStore: the suite must pass it, skipping the factor tests.
const withoutFactorsName = "WithoutFactors"

// TestMutant runs the suite on the broken store named in the environment;
// without one it is skipped.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as the child of TestSuiteCatchesBrokenStores")
	}
	wrap := func(s authkit.Store) authkit.Store { return s }
	if name == withoutFactorsName {
		wrap = func(s authkit.Store) authkit.Store { return withoutFactors{s} }
	} else if name != controlName {
		m, ok := mutants[name]
		if !ok {
			t.Fatalf("unknown broken store %q", name)
		}
		wrap = m.wrap
	}
	storetest.Run(t, func(testing.TB) authkit.Store { return wrap(memstore.New()) })
}

// TestSuiteCatchesBrokenStores runs the suite on each broken store, and on
// the correct one, in a child process.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per broken store")
	}
	if os.Getenv(mutantEnv) != "" {
		t.Skip("already a child")
	}
	t.Run(controlName, func(t *testing.T) {
		t.Parallel()
		out, err := runMutant(t, controlName)
		if err != nil {
			t.Fatalf("the suite failed on a correct store run as a child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestMutant/Factor ") {
			t.Errorf("the suite did not run the factor tests on a store that keeps second factors:\n%s", out)
		}
	})
	t.Run(withoutFactorsName, func(t *testing.T) {
		t.Parallel()
		out, err := runMutant(t, withoutFactorsName)
		if err != nil {
			t.Fatalf("the suite failed on a correct store without second factors: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- SKIP: TestMutant/Factor ") {
			t.Errorf("the suite did not skip the factor tests on a store without second factors:\n%s", out)
		}
	})
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := runMutant(t, name)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed (or did not run) on a store that breaks %s: %v\n%s", name, err, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutant/"+m.failing+" ") {
				t.Errorf("the suite did not fail in %s on a store that breaks it:\n%s", m.failing, out)
			}
		})
	}
}

// runMutant runs TestMutant on the store called name in a child process and
// returns its output.
func runMutant(t *testing.T, name string) ([]byte, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), mutantEnv+"="+name)
	return cmd.CombinedOutput()
}

// emailCaseSensitive finds a user by email only in the case it was stored.
type emailCaseSensitive struct{ authkit.Store }

func (s emailCaseSensitive) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	u, err := s.Store.UserByEmail(ctx, email)
	if err == nil && u.Email != email {
		return authkit.User{}, authkit.ErrNotFound
	}
	return u, err
}

// updateNotAtomic ends sessions before it checks IfPasswordHash.
type updateNotAtomic struct{ authkit.Store }

func (s updateNotAtomic) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	if upd.EndSessions {
		if _, err := s.Store.UpdateUser(ctx, id, authkit.UserUpdate{EndSessions: true, KeepSession: upd.KeepSession, UpdatedAt: upd.UpdatedAt}); err != nil {
			return authkit.User{}, err
		}
	}
	return s.Store.UpdateUser(ctx, id, upd)
}

// keepSessionIgnored ends the session it was asked to keep.
type keepSessionIgnored struct{ authkit.Store }

func (s keepSessionIgnored) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	upd.KeepSession = ""
	return s.Store.UpdateUser(ctx, id, upd)
}

// consumeRace checks that a token is unused, then marks it used without
// checking again.
type consumeRace struct{ authkit.Store }

func (s consumeRace) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	t, err := s.Token(ctx, hash)
	if err != nil || t.Purpose != purpose || !t.UsedAt.IsZero() {
		return authkit.OneTimeToken{}, authkit.ErrNotFound
	}
	time.Sleep(time.Millisecond)
	runtime.Gosched()
	_, _ = s.Store.ConsumeToken(ctx, hash, purpose, now)
	t.UsedAt = now
	return t, nil
}

// wrongPurposeBurns spends a token asked for with the wrong purpose.
type wrongPurposeBurns struct{ authkit.Store }

func (s wrongPurposeBurns) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	if t, err := s.Token(ctx, hash); err == nil && t.Purpose != purpose {
		_, _ = s.Store.ConsumeToken(ctx, hash, t.Purpose, now)
	}
	return s.Store.ConsumeToken(ctx, hash, purpose, now)
}

// expiredTokensAtBefore also deletes tokens expiring exactly at before.
type expiredTokensAtBefore struct{ authkit.Store }

func (s expiredTokensAtBefore) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.DeleteExpiredTokens(ctx, before.Add(time.Microsecond))
}

// sessionsNil returns nil instead of an empty slice.
type sessionsNil struct{ authkit.Store }

func (s sessionsNil) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	list, err := s.Store.UserSessions(ctx, userID)
	if len(list) == 0 {
		list = nil
	}
	return list, err
}

// sessionsNewestFirst returns sessions in the wrong order.
type sessionsNewestFirst struct{ authkit.Store }

func (s sessionsNewestFirst) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	list, err := s.Store.UserSessions(ctx, userID)
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list, err
}

// rotateWithoutCAS checks the old hash, then rotates from whatever is
// stored by then.
type rotateWithoutCAS struct{ authkit.Store }

func (s rotateWithoutCAS) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	cur, err := s.Session(ctx, id)
	if err != nil {
		return authkit.Session{}, err
	}
	if cur.RefreshHash != oldHash {
		return authkit.Session{}, authkit.ErrConflict
	}
	time.Sleep(time.Millisecond)
	for {
		cur, err := s.Session(ctx, id)
		if err != nil {
			return authkit.Session{}, err
		}
		got, err := s.Store.RotateSession(ctx, id, cur.RefreshHash, newHash, now, expires)
		if !errors.Is(err, authkit.ErrConflict) {
			return got, err
		}
	}
}

// deleteAnyonesSession deletes a session whoever it belongs to.
type deleteAnyonesSession struct{ authkit.Store }

func (s deleteAnyonesSession) DeleteSession(ctx context.Context, userID, id string) error {
	if sess, err := s.Session(ctx, id); err == nil {
		userID = sess.UserID
	}
	return s.Store.DeleteSession(ctx, userID, id)
}

// deleteLeavesSessions deletes a user but leaves their sessions behind.
type deleteLeavesSessions struct{ authkit.Store }

func (s deleteLeavesSessions) DeleteUser(ctx context.Context, id string) error {
	sessions, _ := s.UserSessions(ctx, id)
	if err := s.Store.DeleteUser(ctx, id); err != nil {
		return err
	}
	for _, sess := range sessions {
		_ = s.CreateSession(ctx, sess)
	}
	return nil
}

// localTimes returns users' times in a zone other than UTC.
type localTimes struct{ authkit.Store }

func (s localTimes) UserByID(ctx context.Context, id string) (authkit.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	zone := time.FixedZone("UTC+2", 2*60*60)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.In(zone), u.UpdatedAt.In(zone)
	return u, err
}

// ignoresContext reads sessions whatever the state of ctx.
type ignoresContext struct{ authkit.Store }

func (s ignoresContext) Session(ctx context.Context, id string) (authkit.Session, error) {
	return s.Store.Session(context.WithoutCancel(ctx), id)
}

// authMethodsSorted returns a session's methods sorted rather than in the
// order they were given.
type authMethodsSorted struct{ authkit.Store }

func (s authMethodsSorted) Session(ctx context.Context, id string) (authkit.Session, error) {
	sess, err := s.Store.Session(ctx, id)
	slices.Sort(sess.AuthMethods)
	return sess, err
}

// authMethodsShared hands every caller of Session the same AuthMethods
// slice for a session, the one it handed out first.
type authMethodsShared struct {
	authkit.Store
	mu     *sync.Mutex
	shared map[string][]string
}

func newAuthMethodsShared(s authkit.Store) authMethodsShared {
	return authMethodsShared{Store: s, mu: new(sync.Mutex), shared: make(map[string][]string)}
}

func (s authMethodsShared) Session(ctx context.Context, id string) (authkit.Session, error) {
	sess, err := s.Store.Session(ctx, id)
	if err != nil {
		return sess, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if methods, ok := s.shared[id]; ok {
		sess.AuthMethods = methods
	} else {
		s.shared[id] = sess.AuthMethods
	}
	return sess, nil
}

// rotateForgetsAuth returns a rotated session without its AuthMethods and
// AuthTime.
type rotateForgetsAuth struct{ authkit.Store }

func (s rotateForgetsAuth) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	sess, err := s.Store.RotateSession(ctx, id, oldHash, newHash, now, expires)
	sess.AuthMethods, sess.AuthTime = nil, time.Time{}
	return sess, err
}
