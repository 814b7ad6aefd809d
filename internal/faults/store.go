package faults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/authkit/authkit"
)

var (
	_ authkit.Store   = (*Store)(nil)
	_ authkit.Limiter = (*Store)(nil)
)

// Mode says how an injected fault fails a call.
type Mode int

// The modes of a Fault.
const (
	// Fail returns an *Error without calling the wrapped Store: nothing
	// happens.
	Fail Mode = iota
	// Cancel calls the wrapped Store with a context that is already
	// cancelled and returns its error (context.Canceled, should the Store
	// ignore the context and succeed).
	Cancel
	// Lost calls the wrapped Store with the caller's context, so that the
	// call takes effect, then returns an error wrapping
	// context.DeadlineExceeded: the answer was lost.
	Lost
)

// Modes lists every Mode, for tests that drive each.
var Modes = []Mode{Fail, Cancel, Lost}

// String names the mode.
func (m Mode) String() string {
	switch m {
	case Fail:
		return "fail"
	case Cancel:
		return "cancel"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ErrInjected is the sentinel that every *Error unwraps to.
var ErrInjected = errors.New("faults: injected failure")

// Leaks are fragments of the injected errors' messages, of driver errors
// and of the kit's table names: none of them may appear in what an HTTP
// client receives. Tests compare them case-insensitively.
var Leaks = []string{
	"faults", "injected", "pq:", "SQLSTATE", "SELECT", "authkit_", "sqlite",
	"sqlstore", "relation", "context canceled", "deadline exceeded",
}

// Error is the error of a call failed in mode Fail, and the wrapper of a
// lost answer in mode Lost. Its message imitates a database driver's,
// naming a table, a query and two drivers, so that a test can check that
// none of it reaches a client. It unwraps to ErrInjected and, in mode
// Lost, to context.DeadlineExceeded.
type Error struct {
	// Method is the Store (or Mailer) method that failed.
	Method string
	// Mode is how it failed.
	Mode Mode
}

// Error reads like a driver's error.
func (e *Error) Error() string {
	msg := fmt.Sprintf(`faults: injected into %s: pq: relation "authkit_users" does not exist (SQLSTATE 42P01)`+
		` in SELECT id, email, password_hash FROM authkit_users WHERE email_key = $1; sqlite: database disk image is malformed`, e.Method)
	if e.Mode == Lost {
		msg += ": " + context.DeadlineExceeded.Error()
	}
	return msg
}

// Is reports whether target is ErrInjected or, for a lost answer,
// context.DeadlineExceeded.
func (e *Error) Is(target error) bool {
	return target == ErrInjected || (e.Mode == Lost && target == context.DeadlineExceeded)
}

// Fault says which call an armed Store fails, and how.
type Fault struct {
	// Call is the number, from 1, of the counted call to fail. Zero fails
	// none: the Store only counts.
	Call int
	// Mode is how the call fails.
	Mode Mode
	// Counts picks the calls that count, by their context; nil counts
	// every call. Calls it passes over go through untouched.
	Counts func(context.Context) bool
}

// Call names one call of a Store or Mailer.
type Call struct {
	// N is the call's number among those counted, from 1.
	N int
	// Method is the method called, such as "UpdateUser" or "Allow".
	Method string
	// Mode is how it was failed.
	Mode Mode
}

// String is "UpdateUser#3 (lost)".
func (c Call) String() string { return fmt.Sprintf("%s#%d (%s)", c.Method, c.N, c.Mode) }

// Report says what an armed Store saw.
type Report struct {
	// Calls is how many calls were counted.
	Calls int
	// Injected says whether a call was failed; Hit is that call.
	Injected bool
	Hit      Call
	// Methods are the methods counted, in order.
	Methods []string
}

// Store is an authkit.Store, and an authkit.Limiter, that passes every
// call to the Store it wraps until it is armed with a Fault; then it
// counts the calls the Fault counts and fails the one it names. It is
// safe for concurrent use.
type Store struct {
	next    authkit.Store
	limiter authkit.Limiter

	mu     sync.Mutex
	fault  Fault
	armed  bool
	report Report
}

// NewStore returns a Store that wraps next, unarmed. When next is also an
// authkit.Limiter, the Store's Limiter methods are next's; otherwise they
// are a MemoryLimiter's of the Store's own. Pass the Store as both
// Config.Store and Config.Limiter to fail rate-limit calls too. The Store
// is never an authkit.FactorStore, whatever next is, so that it can show
// an Authenticator a Store without second factors: Wrap gives one that is
// when next is.
func NewStore(next authkit.Store) *Store {
	s := &Store{next: next}
	if l, ok := next.(authkit.Limiter); ok {
		s.limiter = l
	} else {
		s.limiter = &authkit.MemoryLimiter{}
	}
	return s
}

// Arm starts counting the calls that f counts, from zero, and fails the
// one f names.
func (s *Store) Arm(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.armed, s.report = f, true, Report{}
}

// Disarm stops counting and failing, and reports what the Store saw
// since Arm.
func (s *Store) Disarm() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	return s.report
}

// Report returns what the Store has seen since Arm, armed or not.
func (s *Store) Report() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.report
	r.Methods = append([]string(nil), r.Methods...)
	return r
}

// count counts a call of method under ctx and reports whether it is to
// fail, and how.
func (s *Store) count(ctx context.Context, method string) (Mode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed || (s.fault.Counts != nil && !s.fault.Counts(ctx)) {
		return 0, false
	}
	s.report.Calls++
	s.report.Methods = append(s.report.Methods, method)
	if s.report.Calls != s.fault.Call {
		return 0, false
	}
	s.report.Injected = true
	s.report.Hit = Call{N: s.report.Calls, Method: method, Mode: s.fault.Mode}
	return s.fault.Mode, true
}

// call runs f, the call of method, as the Store is armed.
func call[T any](s *Store, ctx context.Context, method string, f func(context.Context) (T, error)) (T, error) {
	mode, fail := s.count(ctx, method)
	if !fail {
		return f(ctx)
	}
	var zero T
	switch mode {
	case Cancel:
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := f(cctx); err != nil {
			return zero, err
		}
		return zero, fmt.Errorf("faults: %s ignored its cancelled context: %w", method, context.Canceled)
	case Lost:
		_, _ = f(ctx)
	}
	return zero, &Error{Method: method, Mode: mode}
}

// exec is call for the methods that return only an error.
func exec(s *Store, ctx context.Context, method string, f func(context.Context) error) error {
	_, err := call(s, ctx, method, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// CreateUser implements authkit.Store.
func (s *Store) CreateUser(ctx context.Context, u authkit.User) error {
	return exec(s, ctx, "CreateUser", func(ctx context.Context) error { return s.next.CreateUser(ctx, u) })
}

// UserByID implements authkit.Store.
func (s *Store) UserByID(ctx context.Context, id string) (authkit.User, error) {
	return call(s, ctx, "UserByID", func(ctx context.Context) (authkit.User, error) { return s.next.UserByID(ctx, id) })
}

// UserByEmail implements authkit.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	return call(s, ctx, "UserByEmail", func(ctx context.Context) (authkit.User, error) { return s.next.UserByEmail(ctx, email) })
}

// DeleteUser implements authkit.Store.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return exec(s, ctx, "DeleteUser", func(ctx context.Context) error { return s.next.DeleteUser(ctx, id) })
}

// UpdateUser implements authkit.Store.
func (s *Store) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	return call(s, ctx, "UpdateUser", func(ctx context.Context) (authkit.User, error) { return s.next.UpdateUser(ctx, id, upd) })
}

// CreateToken implements authkit.Store.
func (s *Store) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	return exec(s, ctx, "CreateToken", func(ctx context.Context) error { return s.next.CreateToken(ctx, t) })
}

// ConsumeToken implements authkit.Store.
func (s *Store) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	return call(s, ctx, "ConsumeToken", func(ctx context.Context) (authkit.OneTimeToken, error) {
		return s.next.ConsumeToken(ctx, hash, purpose, now)
	})
}

// Token implements authkit.Store.
func (s *Store) Token(ctx context.Context, hash string) (authkit.OneTimeToken, error) {
	return call(s, ctx, "Token", func(ctx context.Context) (authkit.OneTimeToken, error) { return s.next.Token(ctx, hash) })
}

// DeleteUserTokens implements authkit.Store.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string, purpose authkit.TokenPurpose) error {
	return exec(s, ctx, "DeleteUserTokens", func(ctx context.Context) error { return s.next.DeleteUserTokens(ctx, userID, purpose) })
}

// DeleteExpiredTokens implements authkit.Store.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	return call(s, ctx, "DeleteExpiredTokens", func(ctx context.Context) (int64, error) { return s.next.DeleteExpiredTokens(ctx, before) })
}

// CreateSession implements authkit.Store.
func (s *Store) CreateSession(ctx context.Context, sess authkit.Session) error {
	return exec(s, ctx, "CreateSession", func(ctx context.Context) error { return s.next.CreateSession(ctx, sess) })
}

// Session implements authkit.Store.
func (s *Store) Session(ctx context.Context, id string) (authkit.Session, error) {
	return call(s, ctx, "Session", func(ctx context.Context) (authkit.Session, error) { return s.next.Session(ctx, id) })
}

// UserSessions implements authkit.Store.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	return call(s, ctx, "UserSessions", func(ctx context.Context) ([]authkit.Session, error) { return s.next.UserSessions(ctx, userID) })
}

// RotateSession implements authkit.Store.
func (s *Store) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	return call(s, ctx, "RotateSession", func(ctx context.Context) (authkit.Session, error) {
		return s.next.RotateSession(ctx, id, oldHash, newHash, now, expires)
	})
}

// DeleteSession implements authkit.Store.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	return exec(s, ctx, "DeleteSession", func(ctx context.Context) error { return s.next.DeleteSession(ctx, userID, id) })
}

// DeleteExpiredSessions implements authkit.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	return call(s, ctx, "DeleteExpiredSessions", func(ctx context.Context) (int64, error) {
		return s.next.DeleteExpiredSessions(ctx, now, idleBefore)
	})
}

// verdict is what the Limiter's Allow and Peek answer.
type verdict struct {
	ok   bool
	wait time.Duration
}

// Allow implements authkit.Limiter.
func (s *Store) Allow(ctx context.Context, key string, l authkit.Limit, now time.Time) (bool, time.Duration, error) {
	v, err := call(s, ctx, "Allow", func(ctx context.Context) (verdict, error) {
		ok, wait, err := s.limiter.Allow(ctx, key, l, now)
		return verdict{ok, wait}, err
	})
	return v.ok, v.wait, err
}

// Peek implements authkit.Limiter.
func (s *Store) Peek(ctx context.Context, key string, l authkit.Limit, now time.Time) (bool, time.Duration, error) {
	v, err := call(s, ctx, "Peek", func(ctx context.Context) (verdict, error) {
		ok, wait, err := s.limiter.Peek(ctx, key, l, now)
		return verdict{ok, wait}, err
	})
	return v.ok, v.wait, err
}

// Reset implements authkit.Limiter.
func (s *Store) Reset(ctx context.Context, key string) error {
	return exec(s, ctx, "Reset", func(ctx context.Context) error { return s.limiter.Reset(ctx, key) })
}

// DeleteStale implements authkit.Limiter.
func (s *Store) DeleteStale(ctx context.Context, now time.Time) (int64, error) {
	return call(s, ctx, "DeleteStale", func(ctx context.Context) (int64, error) { return s.limiter.DeleteStale(ctx, now) })
}

// markKey is the context key of Mark.
type markKey struct{}

// Mark returns ctx marked, so that a Fault counting Marked calls counts
// the calls made under it (and under every context derived from it, as
// values survive context.WithoutCancel).
func Mark(ctx context.Context) context.Context { return context.WithValue(ctx, markKey{}, true) }

// Marked reports whether ctx was marked with Mark: a Fault.Counts that
// counts the calls of the test's own requests.
func Marked(ctx context.Context) bool {
	v, _ := ctx.Value(markKey{}).(bool)
	return v
}

// Unmarked reports whether ctx was not marked with Mark: a Fault.Counts
// that counts the calls of the kit's background work.
func Unmarked(ctx context.Context) bool { return !Marked(ctx) }

// RefreshAccepted reports whether a refresh token would be accepted at
// now, read from the Store alone (pass the unwrapped one, which no fault
// touches): its session exists, holds the token's secret as its current
// one and has not expired, and its user is active. The error is a Store
// failure other than authkit.ErrNotFound.
func RefreshAccepted(ctx context.Context, s authkit.Store, token string, now time.Time) (bool, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok {
		return false, nil
	}
	session, err := s.Session(ctx, id)
	if errors.Is(err, authkit.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(secret))
	if session.RefreshHash != hex.EncodeToString(sum[:]) || !now.Before(session.ExpiresAt) {
		return false, nil
	}
	owner, err := s.UserByID(ctx, session.UserID)
	return err == nil && owner.Active, nil
}
