package memstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authkit/authkit"
)

var (
	_ authkit.Store       = (*Store)(nil)
	_ authkit.FactorStore = (*Store)(nil)
	_ authkit.Limiter     = (*Store)(nil)
	_ authkit.UserWatcher = (*Store)(nil)
)

// Store is an in-memory authkit.Store and authkit.FactorStore. The zero
// value is not ready for use; call New. A *Store is safe for concurrent use
// by many goroutines.
//
// Every method returns ctx.Err() without doing anything when ctx is already
// done, and returns the store errors authkit.ErrNotFound,
// authkit.ErrAlreadyExists and authkit.ErrConflict as the authkit.Store
// contract describes. Times are kept in UTC.
type Store struct {
	// MemoryLimiter makes the Store a Limiter, so that Authenticators
	// sharing the Store share their rate limits.
	authkit.MemoryLimiter

	// watchMu guards watchers, the UserWatcher callbacks of WatchUsers.
	watchMu  sync.Mutex
	watchers map[*func(string)]struct{}

	mu sync.RWMutex
	// users holds every user by ID.
	users map[string]authkit.User
	// emails maps the lower-cased email of every user to its ID.
	emails map[string]string
	// tokens holds the one-time tokens by hash.
	tokens map[string]authkit.OneTimeToken
	// sessions holds the sessions by ID.
	sessions map[string]authkit.Session
	// totp holds the TOTP factors by user ID, each with a Secret of its own
	// that the store never hands out.
	totp map[string]authkit.TOTPFactor
	// recovery holds the recovery codes by user ID, then by hash.
	recovery map[string]map[string]recoveryCode
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:    make(map[string]authkit.User),
		emails:   make(map[string]string),
		tokens:   make(map[string]authkit.OneTimeToken),
		sessions: make(map[string]authkit.Session),
		totp:     make(map[string]authkit.TOTPFactor),
		recovery: make(map[string]map[string]recoveryCode),
	}
}

// emailKey is the form under which an email is indexed, so that two
// addresses that differ only in case collide.
func emailKey(email string) string {
	return strings.ToLower(email)
}

// DeleteUser deletes the user with id and every token, session, TOTP factor
// and recovery code of theirs at once. It returns authkit.ErrNotFound if
// there is no such user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return authkit.ErrNotFound
	}
	delete(s.users, id)
	delete(s.emails, emailKey(u.Email))
	for hash, t := range s.tokens {
		if t.UserID == id {
			delete(s.tokens, hash)
		}
	}
	for sid, sess := range s.sessions {
		if sess.UserID == id {
			delete(s.sessions, sid)
		}
	}
	delete(s.totp, id)
	delete(s.recovery, id)
	s.changed(id)
	return nil
}

// WatchUsers implements authkit.UserWatcher for the Authenticators that
// share the Store: it calls changed for every UpdateUser (but a
// UserUpdate.TouchOnly one) and DeleteUser, before that call returns, so
// a change is seen by every Authenticator at once. It is ready at once and
// returns ctx's error when ctx ends.
func (s *Store) WatchUsers(ctx context.Context, ready func(), changed func(userID string)) error {
	s.watchMu.Lock()
	if s.watchers == nil {
		s.watchers = map[*func(string)]struct{}{}
	}
	s.watchers[&changed] = struct{}{}
	ready()
	s.watchMu.Unlock()
	<-ctx.Done()
	s.watchMu.Lock()
	delete(s.watchers, &changed)
	s.watchMu.Unlock()
	return ctx.Err()
}

// changed tells the watchers that user id changed. It runs under s.mu, so
// that no reader sees the change before the watchers have.
func (s *Store) changed(id string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for f := range s.watchers {
		(*f)(id)
	}
}

// CreateUser inserts u. It returns authkit.ErrAlreadyExists if a user with
// the same ID, or with the same email ignoring case, exists. The email is
// stored exactly as given.
func (s *Store) CreateUser(ctx context.Context, u authkit.User) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key := emailKey(u.Email)
	u = userUTC(u)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return authkit.ErrAlreadyExists
	}
	if _, ok := s.emails[key]; ok {
		return authkit.ErrAlreadyExists
	}
	s.users[u.ID] = u
	s.emails[key] = u.ID
	return nil
}

// UserByID returns the user with id, or authkit.ErrNotFound. It only takes
// the read lock and allocates nothing.
func (s *Store) UserByID(ctx context.Context, id string) (authkit.User, error) {
	if err := ctx.Err(); err != nil {
		return authkit.User{}, err
	}
	s.mu.RLock()
	u, ok := s.users[id]
	s.mu.RUnlock()
	if !ok {
		return authkit.User{}, authkit.ErrNotFound
	}
	return u, nil
}

// UserByEmail returns the user whose email equals email ignoring case, or
// authkit.ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	if err := ctx.Err(); err != nil {
		return authkit.User{}, err
	}
	key := emailKey(email)
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.emails[key]
	if !ok {
		return authkit.User{}, authkit.ErrNotFound
	}
	u, ok := s.users[id]
	if !ok {
		return authkit.User{}, authkit.ErrNotFound
	}
	return u, nil
}

// UpdateUser applies upd to the user with id under the write lock, so the
// whole update (including the sessions EndSessions ends) happens at once or
// not at all, and returns the user as it is afterwards. It returns
// authkit.ErrNotFound if there is no such user and authkit.ErrConflict,
// writing nothing, if upd.IfPasswordHash is set and differs from the stored
// hash. UpdatedAt is always written, even when upd.UpdatedAt is zero.
func (s *Store) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	if err := ctx.Err(); err != nil {
		return authkit.User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return authkit.User{}, authkit.ErrNotFound
	}
	if upd.IfPasswordHash != "" && u.PasswordHash != upd.IfPasswordHash {
		return authkit.User{}, authkit.ErrConflict
	}
	if upd.PasswordHash != nil {
		u.PasswordHash = *upd.PasswordHash
	}
	if upd.DisplayName != nil {
		u.DisplayName = *upd.DisplayName
	}
	if upd.Active != nil {
		u.Active = *upd.Active
	}
	if upd.EmailVerified != nil {
		u.EmailVerified = *upd.EmailVerified
	}
	if upd.BumpTokenVersion {
		u.TokenVersion++
	}
	u.UpdatedAt = upd.UpdatedAt.UTC()
	if upd.EndSessions {
		for sid, sess := range s.sessions {
			if sess.UserID == id && (upd.KeepSession == "" || sid != upd.KeepSession) {
				delete(s.sessions, sid)
			}
		}
	}
	s.users[id] = u
	if !upd.TouchOnly() {
		s.changed(id)
	}
	return u, nil
}

// CreateToken inserts t. It returns authkit.ErrAlreadyExists if a token with
// the same hash exists.
func (s *Store) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t = tokenUTC(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Hash]; ok {
		return authkit.ErrAlreadyExists
	}
	s.tokens[t.Hash] = t
	return nil
}

// ConsumeToken marks the unused token with hash and purpose as used at now
// and returns it. It returns authkit.ErrNotFound if the token is unknown,
// already used or made for another purpose; of several concurrent calls for
// one token exactly one succeeds. Expiry is not checked.
func (s *Store) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	if err := ctx.Err(); err != nil {
		return authkit.OneTimeToken{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok || t.Purpose != purpose || !t.UsedAt.IsZero() {
		return authkit.OneTimeToken{}, authkit.ErrNotFound
	}
	t.UsedAt = now.UTC()
	s.tokens[hash] = t
	return t, nil
}

// Token returns the token with hash, used or not, or authkit.ErrNotFound.
func (s *Store) Token(ctx context.Context, hash string) (authkit.OneTimeToken, error) {
	if err := ctx.Err(); err != nil {
		return authkit.OneTimeToken{}, err
	}
	s.mu.RLock()
	t, ok := s.tokens[hash]
	s.mu.RUnlock()
	if !ok {
		return authkit.OneTimeToken{}, authkit.ErrNotFound
	}
	return t, nil
}

// DeleteUserTokens deletes every token of the user with the purpose, used
// or not. It is not an error if there are none.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string, purpose authkit.TokenPurpose) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for hash, t := range s.tokens {
		if t.UserID == userID && t.Purpose == purpose {
			delete(s.tokens, hash)
		}
	}
	return nil
}

// DeleteExpiredTokens deletes every token whose ExpiresAt is before before
// and returns how many it deleted.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for hash, t := range s.tokens {
		if t.ExpiresAt.Before(before) {
			delete(s.tokens, hash)
			n++
		}
	}
	return n, nil
}

// CreateSession inserts sess. It returns authkit.ErrAlreadyExists if a
// session with the same ID exists.
func (s *Store) CreateSession(ctx context.Context, sess authkit.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sess = sessionIn(sess)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return authkit.ErrAlreadyExists
	}
	s.sessions[sess.ID] = sess
	return nil
}

// Session returns the session with id, or authkit.ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (authkit.Session, error) {
	if err := ctx.Err(); err != nil {
		return authkit.Session{}, err
	}
	s.mu.RLock()
	sess, ok := s.sessions[id]
	s.mu.RUnlock()
	if !ok {
		return authkit.Session{}, authkit.ErrNotFound
	}
	return sessionOut(sess), nil
}

// UserSessions returns every session of the user, oldest first (sessions
// created at the same instant are ordered by ID); an empty, non-nil slice
// when there are none. It scans every session in the store.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []authkit.Session{}
	s.mu.RLock()
	for _, sess := range s.sessions {
		if sess.UserID == userID {
			out = append(out, sessionOut(sess))
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b authkit.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RotateSession replaces the refresh secret of session id under the write
// lock: if the stored RefreshHash equals oldHash, it becomes PreviousHash,
// newHash becomes RefreshHash, RotatedAt and LastUsedAt are set to now and
// ExpiresAt to expires, and the session is returned as it is afterwards. It
// returns authkit.ErrNotFound if there is no such session and
// authkit.ErrConflict, changing nothing, if the stored hash differs.
func (s *Store) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	if err := ctx.Err(); err != nil {
		return authkit.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return authkit.Session{}, authkit.ErrNotFound
	}
	if sess.RefreshHash != oldHash {
		return authkit.Session{}, authkit.ErrConflict
	}
	sess.PreviousHash = sess.RefreshHash
	sess.RefreshHash = newHash
	sess.RotatedAt = now.UTC()
	sess.LastUsedAt = now.UTC()
	sess.ExpiresAt = expires.UTC()
	s.sessions[id] = sess
	return sessionOut(sess), nil
}

// DeleteSession deletes session id if it belongs to userID. It returns
// authkit.ErrNotFound, deleting nothing, if there is no such session of that
// user.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || sess.UserID != userID {
		return authkit.ErrNotFound
	}
	delete(s.sessions, id)
	return nil
}

// DeleteExpiredSessions deletes every session whose ExpiresAt is before now
// and, when idleBefore is not zero, every session whose LastUsedAt is before
// idleBefore. It returns how many it deleted.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for id, sess := range s.sessions {
		if sess.ExpiresAt.Before(now) || (!idleBefore.IsZero() && sess.LastUsedAt.Before(idleBefore)) {
			delete(s.sessions, id)
			n++
		}
	}
	return n, nil
}

// userUTC returns u with its times in UTC.
func userUTC(u authkit.User) authkit.User {
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	return u
}

// tokenUTC returns t with its times in UTC.
func tokenUTC(t authkit.OneTimeToken) authkit.OneTimeToken {
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt = t.ExpiresAt.UTC()
	t.UsedAt = t.UsedAt.UTC()
	return t
}

// sessionIn returns sess as the store keeps it: its times in UTC and
// AuthMethods in a slice of its own, which the store never changes and never
// hands out.
func sessionIn(sess authkit.Session) authkit.Session {
	sess.RotatedAt = sess.RotatedAt.UTC()
	sess.CreatedAt = sess.CreatedAt.UTC()
	sess.LastUsedAt = sess.LastUsedAt.UTC()
	sess.ExpiresAt = sess.ExpiresAt.UTC()
	sess.AuthTime = sess.AuthTime.UTC()
	sess.AuthMethods = cloneMethods(sess.AuthMethods)
	return sess
}

// sessionOut returns a kept session with AuthMethods copied, so that the
// caller cannot change what the store holds.
func sessionOut(sess authkit.Session) authkit.Session {
	sess.AuthMethods = cloneMethods(sess.AuthMethods)
	return sess
}

// cloneMethods returns a copy of methods, nil when there are none.
func cloneMethods(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	return slices.Clone(methods)
}
