package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authkit/authkit"
)

var _ authkit.Store = (*Store)(nil)

// Store is an authkit.Store, authkit.FactorStore and authkit.UserWatcher
// over database/sql. Make one with New (or with
// New in the postgres, mysql and sqlite subpackages) and create its tables
// with Migrate. A *Store is safe for concurrent use by many goroutines, and
// several processes may share one database.
//
// Every method honours ctx and returns the store errors of the
// authkit.Store contract, wrapped with the name of the operation:
// errors.Is(err, authkit.ErrNotFound) and the like work, while other errors
// are the driver's, wrapped as "sqlstore: <operation>: <driver error>".
// Times are stored in UTC with microsecond precision and returned in UTC.
type Store struct {
	db *sql.DB
	d  sqlDialect
	q  queries

	// mu guards stmts and closed.
	mu sync.RWMutex
	// stmts holds the statements prepared so far, by query text.
	stmts  map[string]*sql.Stmt
	closed bool

	// watchInterval is how often WatchUsers polls, in nanoseconds; zero
	// means DefaultWatchInterval.
	watchInterval atomic.Int64
	// lastTrim is when the Store last deleted old changes, in Unix
	// nanoseconds; see trimChanges.
	lastTrim atomic.Int64
}

// New returns a Store that keeps its data in db, an engine described by d.
// The host keeps ownership of db: its pool settings are left alone and
// closing it is the host's business. New does no I/O; call Migrate before
// the first use to create or update the tables.
//
// New returns an error if db is nil or d names an unknown engine or has no
// IsUniqueViolation.
func New(db *sql.DB, d Dialect) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	sd, err := newSQLDialect(d)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, d: sd, q: newQueries(sd), stmts: make(map[string]*sql.Stmt)}, nil
}

// Close releases the statements the Store prepared on its *sql.DB. It does
// not close the *sql.DB. The Store stays usable afterwards, without
// preparing statements.
func (s *Store) Close() error {
	s.mu.Lock()
	stmts := s.stmts
	s.stmts, s.closed = nil, true
	s.mu.Unlock()
	var errs []error
	for _, st := range stmts {
		if err := st.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// stmt returns query prepared on the pool, preparing it on first use, or
// nil when it cannot be prepared (the caller then runs query unprepared, and
// so reports the real error if there is one).
func (s *Store) stmt(ctx context.Context, query string) *sql.Stmt {
	s.mu.RLock()
	st, closed := s.stmts[query], s.closed
	s.mu.RUnlock()
	if st != nil || closed {
		return st
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.stmts[query]; old != nil || s.closed {
		_ = st.Close()
		return old
	}
	s.stmts[query] = st
	return st
}

// queryRow runs query, prepared, and returns its single row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// query runs query, prepared, and returns its rows.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// exec runs query, prepared, and returns the number of rows it affected.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if st := s.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = s.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// inTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// txExec runs query in tx and returns the number of rows it affected.
func txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// txLookup reads the one text column that query, given id, selects in tx;
// no row is authkit.ErrNotFound.
func txLookup(ctx context.Context, tx *sql.Tx, query, id string) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, query, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", storeError{authkit.ErrNotFound}
	}
	return v, err
}

// storeError is an error of the authkit.Store contract, returned from inside
// a transaction so that it can be told apart from the driver's errors.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// wrap returns err prefixed with the package and operation names, turning
// sql.ErrNoRows into authkit.ErrNotFound. Store errors are kept as they are.
func wrap(op string, err error) error {
	if se, ok := errors.AsType[storeError](err); ok {
		err = se.err
	} else if errors.Is(err, sql.ErrNoRows) {
		err = authkit.ErrNotFound
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// wrapInsert is wrap for an INSERT: a unique violation becomes
// authkit.ErrAlreadyExists, without the driver's message (which names the
// constraint and may quote the value).
func (s *Store) wrapInsert(op string, err error) error {
	if s.d.isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: %s: %w", op, authkit.ErrAlreadyExists)
	}
	return wrap(op, err)
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanUser reads the userColumns of r.
func (s *Store) scanUser(r rowScanner) (authkit.User, error) {
	var u authkit.User
	err := r.Scan(&u.ID, &u.Email, &u.DisplayName, &u.PasswordHash, &u.Active, &u.EmailVerified,
		&u.TokenVersion, s.d.scanTime(&u.CreatedAt), s.d.scanTime(&u.UpdatedAt))
	return u, err
}

// scanToken reads the tokenColumns of r.
func (s *Store) scanToken(r rowScanner) (authkit.OneTimeToken, error) {
	var t authkit.OneTimeToken
	var purpose string
	err := r.Scan(&t.Hash, &t.UserID, &purpose,
		s.d.scanTime(&t.CreatedAt), s.d.scanTime(&t.ExpiresAt), s.d.scanTime(&t.UsedAt))
	t.Purpose = authkit.TokenPurpose(purpose)
	return t, err
}

// scanSession reads the sessionColumns of r.
func (s *Store) scanSession(r rowScanner) (authkit.Session, error) {
	var sess authkit.Session
	var methods string
	err := r.Scan(&sess.ID, &sess.UserID, &sess.RefreshHash, &sess.PreviousHash, s.d.scanTime(&sess.RotatedAt),
		s.d.scanTime(&sess.CreatedAt), s.d.scanTime(&sess.LastUsedAt), s.d.scanTime(&sess.ExpiresAt),
		&sess.UserAgent, &sess.ClientAddr, &methods, s.d.scanTime(&sess.AuthTime))
	sess.AuthMethods = splitAuthMethods(methods)
	return sess, err
}

// joinAuthMethods returns methods as the column auth_methods holds them:
// joined by single spaces, empty when there are none. It returns an error
// wrapping authkit.ErrInvalidInput for a method that would not read back
// as itself, or that not every engine stores: one that is empty or not
// valid UTF-8, or holds white space or NUL.
func joinAuthMethods(methods []string) (string, error) {
	for _, m := range methods {
		if m == "" || !utf8.ValidString(m) || strings.ContainsFunc(m, func(r rune) bool { return r == 0 || unicode.IsSpace(r) }) {
			return "", fmt.Errorf("%w: auth method %q is empty, not UTF-8, or holds white space or NUL", authkit.ErrInvalidInput, m)
		}
	}
	return strings.Join(methods, " "), nil
}

// splitAuthMethods reads the column auth_methods: nil when it is empty.
func splitAuthMethods(column string) []string {
	methods := strings.Fields(column)
	if len(methods) == 0 {
		return nil
	}
	return methods
}

// emailKey is the form under which emails are unique and looked up. It is
// computed here rather than by the database so that every engine compares
// emails exactly as the other authkit Stores do, whatever the database's
// collation.
func emailKey(email string) string {
	return strings.ToLower(email)
}

// optional returns *p, or nil (SQL NULL) when p is nil.
func optional[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// CreateUser inserts u. It returns authkit.ErrAlreadyExists if a user with
// the same ID, or with an email equal to u.Email ignoring case, exists; a
// unique constraint decides, so of concurrent creations of one email exactly
// one succeeds. The email is stored as given.
func (s *Store) CreateUser(ctx context.Context, u authkit.User) error {
	_, err := s.exec(ctx, s.q.createUser, u.ID, u.Email, emailKey(u.Email), u.DisplayName, u.PasswordHash,
		u.Active, u.EmailVerified, u.TokenVersion, s.d.timeArg(u.CreatedAt), s.d.timeArg(u.UpdatedAt))
	if err != nil {
		return s.wrapInsert("create user", err)
	}
	return nil
}

// UserByID returns the user with id, or authkit.ErrNotFound. It runs one
// prepared query on the primary key.
func (s *Store) UserByID(ctx context.Context, id string) (authkit.User, error) {
	u, err := s.scanUser(s.queryRow(ctx, s.q.userByID, id))
	if err != nil {
		return authkit.User{}, wrap("user by id", err)
	}
	return u, nil
}

// UserByEmail returns the user whose email equals email ignoring case, or
// authkit.ErrNotFound. It runs one prepared query on a unique index.
func (s *Store) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	u, err := s.scanUser(s.queryRow(ctx, s.q.userByEmail, emailKey(email)))
	if err != nil {
		return authkit.User{}, wrap("user by email", err)
	}
	return u, nil
}

// DeleteUser deletes the user with id and every token, session, TOTP factor
// and recovery code of theirs in one transaction; it does not rely on the
// foreign keys' cascades, which a host's own schema tooling might have
// dropped. The transaction first locks the user's row (on SQLite, the
// database), so it takes turns with the writers of the user's second factor.
// The same transaction notes the deletion for WatchUsers. It returns
// authkit.ErrNotFound if there is no such user.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	var seq int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.txUserWrite(ctx, tx, id, s.q.deleteUserSessions, func() error {
			for _, q := range []string{s.q.deleteAllTokens, s.q.deleteRecoveryCodes, s.q.deleteTOTP} {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return err
				}
			}
			n, err := txExec(ctx, tx, s.q.deleteUser, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return storeError{authkit.ErrNotFound}
			}
			seq, err = s.noteChange(ctx, tx, id)
			return err
		})
	})
	if err != nil {
		return wrap("delete user", err)
	}
	s.trimChanges(ctx, seq)
	return nil
}

// UpdateUser applies upd to the user with id in one transaction, together
// with the sessions upd.EndSessions ends, and returns the user as it is
// afterwards. The compare-and-swap on upd.IfPasswordHash is part of the
// UPDATE statement, so concurrent swaps from one hash cannot both succeed.
// It returns authkit.ErrNotFound if there is no such user and
// authkit.ErrConflict, writing nothing, if upd.IfPasswordHash is set and
// differs from the stored hash. Unless upd.TouchOnly, the same transaction
// notes the change for WatchUsers.
func (s *Store) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	var bump int64
	if upd.BumpTokenVersion {
		bump = 1
	}
	args := []any{optional(upd.PasswordHash), optional(upd.DisplayName), optional(upd.Active),
		optional(upd.EmailVerified), bump, s.d.timeArg(upd.UpdatedAt), id}
	query := s.q.updateUser
	if upd.IfPasswordHash != "" {
		query = s.q.updateUserIf
		args = append(args, upd.IfPasswordHash)
	}
	var (
		u   authkit.User
		seq int64
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := txExec(ctx, tx, query, args...)
		if err != nil {
			return err
		}
		if n == 0 {
			// No row matched, or (on MySQL, which counts changed rows)
			// the row already held every value. Tell the cases apart.
			hash, err := txLookup(ctx, tx, s.q.userPasswordHash, id)
			if err != nil {
				return err
			}
			if upd.IfPasswordHash != "" && hash != upd.IfPasswordHash {
				return storeError{authkit.ErrConflict}
			}
		}
		if upd.EndSessions {
			if _, err := tx.ExecContext(ctx, s.q.endSessions, id, upd.KeepSession); err != nil {
				return err
			}
		}
		u, err = s.scanUser(tx.QueryRowContext(ctx, s.q.userByID, id))
		if err != nil || upd.TouchOnly() {
			return err
		}
		seq, err = s.noteChange(ctx, tx, id)
		return err
	})
	if err != nil {
		return authkit.User{}, wrap("update user", err)
	}
	s.trimChanges(ctx, seq)
	return u, nil
}

// CreateToken inserts t. It returns authkit.ErrAlreadyExists if a token
// with the same hash exists.
func (s *Store) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	_, err := s.exec(ctx, s.q.createToken, t.Hash, t.UserID, string(t.Purpose),
		s.d.timeArg(t.CreatedAt), s.d.timeArg(t.ExpiresAt), s.d.nullTimeArg(t.UsedAt))
	if err != nil {
		return s.wrapInsert("create token", err)
	}
	return nil
}

// ConsumeToken marks the unused token with hash and purpose as used at now
// and returns it. The mark is one conditional UPDATE (… AND used_at IS
// NULL), so of several concurrent calls for one token exactly one succeeds;
// the others, and any call for a token that is unknown, already used or of
// another purpose, get authkit.ErrNotFound. Expiry is not checked.
func (s *Store) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	args := []any{s.d.timeArg(now), hash, string(purpose)}
	if s.d.returning {
		t, err := s.scanToken(s.queryRow(ctx, s.q.consumeTokenReturning, args...))
		if err != nil {
			return authkit.OneTimeToken{}, wrap("consume token", err)
		}
		return t, nil
	}
	var t authkit.OneTimeToken
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.consumeToken, args...)
		if err != nil {
			return err
		}
		// used_at goes from NULL to a time, so the row counts as changed
		// on every engine.
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return storeError{authkit.ErrNotFound}
		}
		t, err = s.scanToken(tx.QueryRowContext(ctx, s.q.token, hash))
		return err
	})
	if err != nil {
		return authkit.OneTimeToken{}, wrap("consume token", err)
	}
	return t, nil
}

// Token returns the token with hash, used or not, or authkit.ErrNotFound.
func (s *Store) Token(ctx context.Context, hash string) (authkit.OneTimeToken, error) {
	t, err := s.scanToken(s.queryRow(ctx, s.q.token, hash))
	if err != nil {
		return authkit.OneTimeToken{}, wrap("token", err)
	}
	return t, nil
}

// DeleteUserTokens deletes every token of the user with the purpose, used
// or not. It is not an error if there are none.
func (s *Store) DeleteUserTokens(ctx context.Context, userID string, purpose authkit.TokenPurpose) error {
	if _, err := s.exec(ctx, s.q.deleteUserTokens, userID, string(purpose)); err != nil {
		return wrap("delete user tokens", err)
	}
	return nil
}

// DeleteExpiredTokens deletes every token whose ExpiresAt is before before
// and returns how many it deleted.
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.exec(ctx, s.q.deleteExpiredTokens, s.d.timeArg(before))
	if err != nil {
		return 0, wrap("delete expired tokens", err)
	}
	return n, nil
}

// CreateSession inserts sess. It returns authkit.ErrAlreadyExists if a
// session with the same ID exists.
//
// AuthMethods are stored joined by spaces, so each method must be a
// non-empty token: CreateSession returns an error wrapping
// authkit.ErrInvalidInput, and stores nothing, for a method that is empty
// or not valid UTF-8, or that holds white space or NUL. The RFC 8176 values
// never do. A zero AuthTime is stored as such and comes back zero.
func (s *Store) CreateSession(ctx context.Context, sess authkit.Session) error {
	methods, err := joinAuthMethods(sess.AuthMethods)
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	_, err = s.exec(ctx, s.q.createSession, sess.ID, sess.UserID, sess.RefreshHash, sess.PreviousHash,
		s.d.nullTimeArg(sess.RotatedAt), s.d.timeArg(sess.CreatedAt), s.d.timeArg(sess.LastUsedAt),
		s.d.timeArg(sess.ExpiresAt), sess.UserAgent, sess.ClientAddr, methods, s.d.timeArg(sess.AuthTime))
	if err != nil {
		return s.wrapInsert("create session", err)
	}
	return nil
}

// Session returns the session with id, or authkit.ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (authkit.Session, error) {
	sess, err := s.scanSession(s.queryRow(ctx, s.q.session, id))
	if err != nil {
		return authkit.Session{}, wrap("session", err)
	}
	return sess, nil
}

// UserSessions returns every session of the user, oldest first (sessions
// created at the same instant are ordered by ID); an empty, non-nil slice
// when there are none.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	rows, err := s.query(ctx, s.q.userSessions, userID)
	if err != nil {
		return nil, wrap("user sessions", err)
	}
	defer rows.Close()
	out := []authkit.Session{}
	for rows.Next() {
		sess, err := s.scanSession(rows)
		if err != nil {
			return nil, wrap("user sessions", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("user sessions", err)
	}
	return out, nil
}

// RotateSession replaces the refresh secret of session id with one
// conditional UPDATE (… AND refresh_hash = oldHash): oldHash becomes
// PreviousHash, newHash becomes RefreshHash, RotatedAt and LastUsedAt are
// set to now and ExpiresAt to expires, and the session is returned as it is
// afterwards; AuthMethods and AuthTime stay as they are. It returns
// authkit.ErrNotFound if there is no such session and authkit.ErrConflict,
// changing nothing, if the stored hash differs, so of several concurrent
// rotations from one hash exactly one succeeds.
func (s *Store) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	args := []any{oldHash, newHash, s.d.timeArg(now), s.d.timeArg(now), s.d.timeArg(expires), id, oldHash}
	if s.d.returning {
		sess, err := s.scanSession(s.queryRow(ctx, s.q.rotateSessionReturning, args...))
		if err == nil {
			return sess, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return authkit.Session{}, wrap("rotate session", err)
		}
		// Nothing matched: the session is gone or its hash differs.
		var stored string
		if err := s.queryRow(ctx, s.q.sessionRefreshHash, id).Scan(&stored); err != nil {
			return authkit.Session{}, wrap("rotate session", err)
		}
		return authkit.Session{}, wrap("rotate session", authkit.ErrConflict)
	}
	var sess authkit.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := txExec(ctx, tx, s.q.rotateSession, args...)
		if err != nil {
			return err
		}
		if n == 0 {
			// No row matched, or (on MySQL, which counts changed rows)
			// the row already held every value. Tell the cases apart.
			stored, err := txLookup(ctx, tx, s.q.sessionRefreshHashLocked, id)
			if err != nil {
				return err
			}
			if stored != newHash || oldHash != newHash {
				return storeError{authkit.ErrConflict}
			}
		}
		sess, err = s.scanSession(tx.QueryRowContext(ctx, s.q.session, id))
		return err
	})
	if err != nil {
		return authkit.Session{}, wrap("rotate session", err)
	}
	return sess, nil
}

// DeleteSession deletes session id if it belongs to userID. It returns
// authkit.ErrNotFound, deleting nothing, if there is no such session of that
// user.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) error {
	n, err := s.exec(ctx, s.q.deleteSession, id, userID)
	if err != nil {
		return wrap("delete session", err)
	}
	if n == 0 {
		return wrap("delete session", authkit.ErrNotFound)
	}
	return nil
}

// DeleteExpiredSessions deletes every session whose ExpiresAt is before now
// and, when idleBefore is not zero, every session whose LastUsedAt is before
// idleBefore. It returns how many it deleted.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var (
		n   int64
		err error
	)
	if idleBefore.IsZero() {
		n, err = s.exec(ctx, s.q.deleteExpiredSessions, s.d.timeArg(now))
	} else {
		n, err = s.exec(ctx, s.q.deleteIdle, s.d.timeArg(now), s.d.timeArg(idleBefore))
	}
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return n, nil
}
