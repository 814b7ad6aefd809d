package httpauth_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// onRequestPath marks the context of a request the test server handles;
// work the kit does off the request path (its mail workers) runs on
// contexts of its own, without the mark.
type onRequestPath struct{}

// markRequests puts the onRequestPath mark on every request's context.
func markRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), onRequestPath{}, true)))
	})
}

// lookupStore is a Store that records which of its methods are called on
// the request path, and that holds every UserByEmail at its gate while
// hold is set.
type lookupStore struct {
	authkit.Store
	hold atomic.Bool
	gate *testkit.Gate

	mu       sync.Mutex
	onPath   []string // methods called on the request path, in order
	lookedUp []string // the emails of the lookups held at the gate
}

// record notes a call of method if ctx is on the request path.
func (s *lookupStore) record(ctx context.Context, method string) {
	if ctx.Value(onRequestPath{}) == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onPath = append(s.onPath, method)
}

// takeCalls returns the methods called on the request path since the last
// takeCalls.
func (s *lookupStore) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.onPath
	s.onPath = nil
	return calls
}

func (s *lookupStore) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	s.record(ctx, "UserByEmail")
	if s.hold.Load() {
		s.mu.Lock()
		s.lookedUp = append(s.lookedUp, email)
		s.mu.Unlock()
		if err := s.gate.Wait(ctx); err != nil {
			return authkit.User{}, err
		}
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *lookupStore) CreateUser(ctx context.Context, u authkit.User) error {
	s.record(ctx, "CreateUser")
	return s.Store.CreateUser(ctx, u)
}

func (s *lookupStore) UserByID(ctx context.Context, id string) (authkit.User, error) {
	s.record(ctx, "UserByID")
	return s.Store.UserByID(ctx, id)
}

func (s *lookupStore) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	s.record(ctx, "UpdateUser")
	return s.Store.UpdateUser(ctx, id, upd)
}

func (s *lookupStore) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	s.record(ctx, "CreateToken")
	return s.Store.CreateToken(ctx, t)
}

func (s *lookupStore) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	s.record(ctx, "ConsumeToken")
	return s.Store.ConsumeToken(ctx, hash, purpose, now)
}

func (s *lookupStore) Token(ctx context.Context, hash string) (authkit.OneTimeToken, error) {
	s.record(ctx, "Token")
	return s.Store.Token(ctx, hash)
}

func (s *lookupStore) DeleteUserTokens(ctx context.Context, userID string, purpose authkit.TokenPurpose) error {
	s.record(ctx, "DeleteUserTokens")
	return s.Store.DeleteUserTokens(ctx, userID, purpose)
}

func (s *lookupStore) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	s.record(ctx, "DeleteExpiredTokens")
	return s.Store.DeleteExpiredTokens(ctx, before)
}

func (s *lookupStore) CreateSession(ctx context.Context, sess authkit.Session) error {
	s.record(ctx, "CreateSession")
	return s.Store.CreateSession(ctx, sess)
}

func (s *lookupStore) Session(ctx context.Context, id string) (authkit.Session, error) {
	s.record(ctx, "Session")
	return s.Store.Session(ctx, id)
}

func (s *lookupStore) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	s.record(ctx, "UserSessions")
	return s.Store.UserSessions(ctx, userID)
}

func (s *lookupStore) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	s.record(ctx, "RotateSession")
	return s.Store.RotateSession(ctx, id, oldHash, newHash, now, expires)
}

func (s *lookupStore) DeleteSession(ctx context.Context, userID, id string) error {
	s.record(ctx, "DeleteSession")
	return s.Store.DeleteSession(ctx, userID, id)
}

func (s *lookupStore) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	s.record(ctx, "DeleteExpiredSessions")
	return s.Store.DeleteExpiredSessions(ctx, now, idleBefore)
}

// TestMailRequestsDoNotRevealAccountsByTiming shows that forgot-password
// and resend-verification cannot tell a known email from an unknown one by
// how long they take: the request path does the same work for both, and
// everything that differs (the account lookup, the token, the mail) happens
// off it, after the answer. The proof is structural rather than a
// stopwatch: every account lookup is held at a gate that opens only after
// all the requests have been answered, so a request that looked the
// account up, or waited for anything that follows the lookup, would never
// return; and the Store calls made on the request path itself are recorded
// and compared.
func TestMailRequestsDoNotRevealAccountsByTiming(t *testing.T) {
	st := &lookupStore{Store: memstore.New(), gate: testkit.NewGate()}
	e := newEnv(t, func(s *setup) {
		s.store = st
		s.wrap = markRequests
		s.auth.MailWorkers = 4         // one for each lookup held below
		s.auth.MailTimeout = time.Hour // held lookups do not time out
		s.auth.Limits.MailAddr = authkit.Limit{Off: true}
		s.auth.Limits.MailEmail = authkit.Limit{Off: true}
	})
	defer st.gate.Open()
	const known, unknown = "known@example.com", "nobody@example.com"
	e.register(known, "a fine password") // registered, not verified
	require.Contains(t, st.takeCalls(), "CreateUser", "calls on the request path are recorded")

	st.hold.Store(true)
	for _, path := range []string{"/forgot-password", "/resend-verification"} {
		answers := map[string]response{}
		calls := map[string][]string{}
		for _, email := range []string{known, unknown} {
			st.takeCalls()
			testkit.Finish(t, "POST "+path+" for "+email, func() {
				answers[email] = e.post(path, map[string]string{"email": email})
			})
			calls[email] = st.takeCalls()
			require.Equal(t, http.StatusOK, answers[email].status, "POST %s %s: %s", path, email, answers[email].body)
			assert.NotContains(t, calls[email], "UserByEmail", "POST %s %s looks the account up on the request path", path, email)
			st.gate.Entered(t) // its lookup has started, off the request path, and is held
		}
		t.Logf("%s: Store calls on the request path: %q", path, calls[known])
		assert.Equal(t, calls[known], calls[unknown], "%s: Store calls on the request path, known and unknown", path)
		assert.Equal(t, string(answers[known].body), string(answers[unknown].body), "%s body", path)
		answers[known].header.Del("Date")
		answers[unknown].header.Del("Date")
		assert.Equal(t, answers[known].header, answers[unknown].header, "%s headers", path)
	}
	assert.Equal(t, 4, st.gate.Waiting(), "every lookup was still held when the last request was answered")
	st.mu.Lock()
	assert.Equal(t, []string{known, unknown, known, unknown}, slices.Clone(st.lookedUp), "the lookups held")
	st.mu.Unlock()

	// Let the lookups through: the known email is really mailed, so the
	// answers were not the same for want of anything to send.
	st.hold.Store(false)
	st.gate.Open()
	e.drain()
	var kinds []authkit.MessageKind
	for range 2 {
		m := e.mail.Next(t)
		assert.Equal(t, known, m.To, "the %s mail", m.Kind)
		kinds = append(kinds, m.Kind)
	}
	assert.ElementsMatch(t, []authkit.MessageKind{authkit.MessageResetPassword, authkit.MessageVerifyEmail}, kinds, "reset and fresh verification mails reach the known email")
	e.mail.None(t)
}
