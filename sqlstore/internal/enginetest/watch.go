package enginetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/sqlstore"
)

// testWatch checks what the engine's WatchUsers does beyond the storetest
// suite: the upgrade to schema version 5, stores on other databases kept
// apart, the listening connection given back, the gaps and trimming of the
// change table, and two Authenticators whose user caches it keeps true.
func testWatch(t *testing.T, h Harness) {
	t.Run("Upgrade", func(t *testing.T) { testUpgradeWatch(t, h) })
	if h.Dialect.Engine == sqlstore.MySQL {
		t.Run("UpgradeResume", func(t *testing.T) { testUpgradeWatchResume(t, h) })
	}
	t.Run("OtherDatabase", func(t *testing.T) { testWatchOtherDatabase(t, h) })
	t.Run("Release", func(t *testing.T) { testWatchRelease(t, h) })
	if h.Dialect.Engine != sqlstore.PostgreSQL {
		t.Run("Gap", func(t *testing.T) { testWatchGap(t, h) })
		t.Run("Trim", func(t *testing.T) { testWatchTrim(t, h) })
	}
	t.Run("Concurrent", func(t *testing.T) { testWatchConcurrent(t, h) })
	t.Run("TwoInstances", func(t *testing.T) { testTwoInstances(t, h) })
	t.Run("Fallback", func(t *testing.T) { testWatchFallback(t, h) })
}

// watcher is one WatchUsers call on a goroutine of its own, ended with t.
type watcher struct {
	changes  chan string
	done     chan error
	cancel   context.CancelFunc
	once     sync.Once
	err      error
	overflow atomic.Bool // a change found changes full
}

// watch starts s.WatchUsers and waits until it is ready.
func watch(t testing.TB, s *sqlstore.Store) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{changes: make(chan string, 1024), done: make(chan error, 1), cancel: cancel}
	ready := make(chan struct{}, 1)
	go func() {
		w.done <- s.WatchUsers(ctx, func() {
			select {
			case ready <- struct{}{}:
			default:
			}
		}, func(id string) {
			select {
			case w.changes <- id:
			default:
				w.overflow.Store(true)
			}
		})
	}()
	t.Cleanup(func() {
		_ = w.stop(t)
		assert.False(t, w.overflow.Load(), "more than 1024 changes unread")
	})
	select {
	case <-ready:
	case err := <-w.done:
		t.Fatalf("WatchUsers returned before it was ready: %v", err)
	case <-time.After(testkit.Timeout):
		t.Fatalf("WatchUsers was not ready within %s", testkit.Timeout)
	}
	return w
}

// stop ends the watch and returns what WatchUsers returned.
func (w *watcher) stop(t testing.TB) error {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		w.err = testkit.Receive(t, w.done, "WatchUsers returning when its context ended")
	})
	return w.err
}

// bump bumps the token version of the user through s.
func bump(t testing.TB, s authkit.Store, id string) {
	t.Helper()
	_, err := s.UpdateUser(t.Context(), id, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: time.Now().UTC().Truncate(time.Microsecond)})
	require.NoError(t, err, "UpdateUser")
}

// testUpgradeWatch checks migration 0005 on a database of schema version 4
// that holds an account: the account is left as it was, and afterwards
// changes are reported to a watcher on another pool.
func testUpgradeWatch(t *testing.T, h Harness) {
	open := h.NewDatabase(t)
	db := open()
	s := h.storeOn(t, db)
	ctx := t.Context()
	require.NoError(t, s.MigrateTo(ctx, 4), "MigrateTo(4)")
	require.Equal(t, wantVersions(4), versions(t, db), "recorded versions")
	u := testUser(t)
	require.NoError(t, s.CreateUser(ctx, u), "CreateUser on schema version 4")
	sess := testSession(u.ID, time.Now().UTC().Truncate(time.Microsecond))
	require.NoError(t, s.CreateSession(ctx, sess), "CreateSession on schema version 4")
	enrol(t, s, u.ID, 7, 2)

	require.NoError(t, s.Migrate(ctx), "Migrate from version 4")
	assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")
	got, err := s.UserByID(ctx, u.ID)
	require.NoError(t, err, "UserByID after the migration")
	assert.Equal(t, u.ID, got.ID, "UserByID after the migration")
	gotSess, err := s.Session(ctx, sess.ID)
	require.NoError(t, err, "Session after the migration")
	assertSession(t, sess, gotSess, "Session from before the migration")

	w := watch(t, h.storeOn(t, open()))
	bump(t, s, u.ID)
	assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "an update after the migration"), "the change reported")
	require.NoError(t, s.DeleteUser(ctx, u.ID), "DeleteUser after the migration")
	assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "a deletion after the migration"), "the change reported")
}

// testUpgradeWatchResume checks that on MySQL, which commits each
// statement of a migration on its own, Migrate completes migration 0005
// after it stopped after any of its statements, and that changes are then
// numbered from the start.
func testUpgradeWatchResume(t *testing.T, h Harness) {
	statements := h.migrationStatements(t, "0005_user_changes.sql")
	for done := 1; done <= len(statements); done++ {
		t.Run(fmt.Sprintf("After%d", done), func(t *testing.T) {
			s, db := h.storeAt(t, 4)
			ctx := t.Context()
			u := testUser(t)
			require.NoError(t, s.CreateUser(ctx, u), "CreateUser")
			for i, stmt := range statements[:done] {
				_, err := db.ExecContext(ctx, stmt)
				require.NoError(t, err, "statement %d of 0005_user_changes.sql", i+1)
			}
			require.NoError(t, s.Migrate(ctx), "Migrate after %d statements of 0005_user_changes.sql", done)
			assert.Equal(t, wantVersions(latestVersion(t, h.Dialect.Engine)), versions(t, db), "recorded versions")
			w := watch(t, h.storeOn(t, db))
			bump(t, s, u.ID)
			assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "an update after the migration"), "the change reported")
			var seq int64
			require.NoError(t, db.QueryRowContext(ctx, "SELECT MAX(seq) FROM authkit_user_changes").Scan(&seq), "the newest change")
			assert.EqualValues(t, 1, seq, "the first change is numbered 1")
		})
	}
}

// testWatchOtherDatabase checks that a watcher does not hear the changes of
// stores on another database (on PostgreSQL, another schema of the same
// database): a change there is followed by one here, which is the next
// report.
func testWatchOtherDatabase(t *testing.T, h Harness) {
	here, there := h.storeOn(t, h.migrated(t)()), h.storeOn(t, h.migrated(t)())
	u, v := testUser(t), testUser(t)
	require.NoError(t, here.CreateUser(t.Context(), u), "CreateUser here")
	require.NoError(t, there.CreateUser(t.Context(), v), "CreateUser there")
	w := watch(t, here)
	bump(t, there, v.ID)
	require.NoError(t, there.DeleteUser(t.Context(), v.ID), "DeleteUser there")
	bump(t, here, u.ID)
	assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "the change here"), "the changes on the other database were not reported")
}

// testWatchRelease checks that a watch holds no connection of the pool
// once it ended: on PostgreSQL the listening one is closed rather than
// handed back while it listens.
func testWatchRelease(t *testing.T, h Harness) {
	db := h.migrated(t)()
	s := h.storeOn(t, db)
	w := watch(t, s)
	require.ErrorIs(t, w.stop(t), context.Canceled, "WatchUsers after its context was cancelled")
	assert.Zero(t, db.Stats().InUse, "connections in use after the watch ended")
	if h.Dialect.Engine == sqlstore.PostgreSQL {
		var listening int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_listening_channels()").Scan(&listening))
		assert.Zero(t, listening, "channels a pooled connection listens to")
	}
}

// advanceChanges moves the numbering of changes on by n, as if n changes
// had been written and deleted before a watcher read them.
func (h Harness) advanceChanges(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	query := "UPDATE authkit_user_change_seq SET seq = seq + ? WHERE id = 1"
	if h.Dialect.Engine == sqlstore.SQLite {
		query = "UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'authkit_user_changes'"
	}
	res, err := db.ExecContext(t.Context(), query, n)
	require.NoError(t, err, "advance the numbering of changes")
	got, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, got, "the counter of changes")
}

// testWatchGap checks that changes deleted before a watcher read them make
// it report that any user may have changed, before the change that follows
// them.
func testWatchGap(t *testing.T, h Harness) {
	db := h.migrated(t)()
	s := h.storeOn(t, db)
	u, v := testUser(t), testUser(t)
	require.NoError(t, s.CreateUser(t.Context(), u), "CreateUser")
	require.NoError(t, s.CreateUser(t.Context(), v), "CreateUser")
	w := watch(t, h.storeOn(t, db))
	bump(t, s, u.ID)
	assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "the first change"))

	h.advanceChanges(t, db, 5)
	bump(t, s, v.ID)
	assert.Equal(t, "", testkit.Receive(t, w.changes, "the missed changes"), "missed changes: any user may have changed")
	assert.Equal(t, v.ID, testkit.Receive(t, w.changes, "the change after the missed ones"))
	bump(t, s, u.ID)
	assert.Equal(t, u.ID, testkit.Receive(t, w.changes, "the next change"), "no gap after it")
}

// changeRows returns the numbers of the rows of authkit_user_changes.
func changeRows(t testing.TB, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT seq FROM authkit_user_changes ORDER BY seq")
	require.NoError(t, err, "select changes")
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		require.NoError(t, rows.Scan(&seq))
		out = append(out, seq)
	}
	require.NoError(t, rows.Err())
	return out
}

// testWatchTrim checks that a Store deletes the changes older than a
// minute after a change it writes, but keeps the newest, and only once in a
// while.
func testWatchTrim(t *testing.T, h Harness) {
	db := h.migrated(t)()
	u := testUser(t)
	first := h.storeOn(t, db)
	require.NoError(t, first.CreateUser(t.Context(), u), "CreateUser")
	for range 3 {
		bump(t, first, u.ID)
	}
	require.Equal(t, []int64{1, 2, 3}, changeRows(t, db), "changes of the last minute are kept")

	// Make every row two minutes old.
	_, err := db.ExecContext(t.Context(), h.bind("UPDATE authkit_user_changes SET changed_at = ?"), h.timeValue(time.Now().Add(-2*time.Minute)))
	require.NoError(t, err, "age the changes")
	bump(t, first, u.ID)
	assert.Equal(t, []int64{1, 2, 3, 4}, changeRows(t, db), "a Store deletes old changes at most every 30 seconds")

	second := h.storeOn(t, db) // has not deleted any yet
	bump(t, second, u.ID)
	assert.Equal(t, []int64{4, 5}, changeRows(t, db), "the old changes deleted, the recent ones kept")

	_, err = db.ExecContext(t.Context(), h.bind("UPDATE authkit_user_changes SET changed_at = ?"), h.timeValue(time.Now().Add(-2*time.Minute)))
	require.NoError(t, err, "age the changes")
	third := h.storeOn(t, db)
	require.NoError(t, third.DeleteUser(t.Context(), u.ID), "DeleteUser")
	assert.Equal(t, []int64{6}, changeRows(t, db), "the change just written is kept")

	w := watch(t, h.storeOn(t, db))
	v := testUser(t)
	require.NoError(t, third.CreateUser(t.Context(), v), "CreateUser")
	bump(t, third, v.ID)
	assert.Equal(t, v.ID, testkit.Receive(t, w.changes, "a change after the trim"), "numbering goes on after a trim")
}

// watchSignals is a Store whose WatchUsers is the engine's, except that it
// tells the test when the watch is ready and when it failed, and that once
// down is set it fails at once, keeping the Authenticator off its cache.
type watchSignals struct {
	*countingStore
	down   atomic.Bool
	ready  chan struct{}
	failed chan error
}

func newWatchSignals(s *countingStore) *watchSignals {
	return &watchSignals{countingStore: s, ready: make(chan struct{}, 16), failed: make(chan error, 16)}
}

// WatchUsers implements authkit.UserWatcher.
func (w *watchSignals) WatchUsers(ctx context.Context, ready func(), changed func(string)) error {
	if w.down.Load() {
		return errors.New("the test keeps the watch down")
	}
	err := w.countingStore.WatchUsers(ctx, func() {
		ready()
		w.ready <- struct{}{}
	}, changed)
	if ctx.Err() == nil {
		w.failed <- err
	}
	return err
}

// twoInstances starts two Authenticators, A and B, on pools of their own
// over one fresh database, both with the user cache on, registers a user
// through A, and waits until B serves the user's access token from its
// cache. It returns the instances, A's pool, B's watch and the user's
// registration.
func twoInstances(t *testing.T, h Harness) (a, b *instance, aDB *sql.DB, bw *watchSignals, reg authkit.Registered) {
	t.Helper()
	open := h.migrated(t)
	aDB = open()
	a = newInstance(t, h, aDB, nil)
	b = newInstance(t, h, open(), func(c *authkit.Config) {
		bw = newWatchSignals(c.Store.(*countingStore))
		c.Store = bw
	})
	reg, err := a.auth.Register(t.Context(), authkit.Registration{Email: "cached@example.com", Password: "a good password"}, authkit.Client{})
	require.NoError(t, err, "Register on A")
	require.True(t, reg.SignedIn, "Register signs in")
	testkit.Receive(t, bw.ready, "B's watch being ready")
	for i, want := range []int64{1, 0} {
		before := b.store.calls.Load()
		_, _, err := b.auth.Authenticate(t.Context(), reg.Tokens.AccessToken)
		require.NoError(t, err, "B authenticates the token")
		require.Equal(t, want, b.store.calls.Load()-before, "Store reads of B's request %d: the second is served from the cache", i+1)
	}
	return a, b, aDB, bw, reg
}

// testTwoInstances measures the promise of the user cache across instances
// that the sqlstore engines keep: a logout everywhere on A cuts the user's
// access token off on B, whose cache held the user, within one second.
// This test alone asserts that second: it polls B until B refuses the
// token and fails if that takes longer.
func testTwoInstances(t *testing.T, h Harness) {
	a, b, _, _, reg := twoInstances(t, h)
	require.NoError(t, a.auth.LogoutAll(t.Context(), reg.User.ID, authkit.Client{}), "LogoutAll on A")
	loggedOut := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_, _, err := b.auth.Authenticate(t.Context(), reg.Tokens.AccessToken)
		took := time.Since(loggedOut)
		if err != nil {
			assert.ErrorIs(t, err, authkit.ErrInvalidToken, "B's answer to the old token")
			t.Logf("%s: B refused the token %s after A's logout returned", h.Dialect.Engine, took)
			return
		}
		if took > time.Second {
			t.Fatalf("B still accepts the token %s after A's logout everywhere", took)
		}
		<-tick.C
	}
}

// breakWatch makes the engine's watches on db fail: on PostgreSQL it ends
// the listening connections (pg_terminate_backend), found by their last
// statement, the LISTEN (they run another only after 10 quiet seconds);
// elsewhere it renames the change table away. It returns what puts the
// table back.
func (h Harness) breakWatch(t testing.TB, db *sql.DB) (restore func()) {
	t.Helper()
	ctx := t.Context()
	if h.Dialect.Engine == sqlstore.PostgreSQL {
		var ended int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"+
			" WHERE datname = current_database() AND pid <> pg_backend_pid()"+
			" AND query = 'LISTEN authkit_users_' || md5(current_schema())").Scan(&ended), "end the listening connections")
		require.NotZero(t, ended, "listening connections ended")
		return func() {}
	}
	rename := "ALTER TABLE %s RENAME TO %s"
	if h.Dialect.Engine == sqlstore.MySQL {
		rename = "RENAME TABLE %s TO %s"
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf(rename, "authkit_user_changes", "authkit_user_changes_away"))
	require.NoError(t, err, "rename the change table away")
	return func() {
		_, err := db.ExecContext(ctx, fmt.Sprintf(rename, "authkit_user_changes_away", "authkit_user_changes"))
		require.NoError(t, err, "rename the change table back")
	}
}

// testWatchFallback breaks B's watch for real (the engine's failure) and
// then keeps it down: from the failure on, B reads the user on every
// request, so a change B was never told of is seen at once, and so is a
// logout everywhere on A.
func testWatchFallback(t *testing.T, h Harness) {
	a, b, aDB, bw, reg := twoInstances(t, h)
	ctx := t.Context()
	id, token := reg.User.ID, reg.Tokens.AccessToken

	// A change behind the Stores' backs is reported to nobody: while its
	// watch works, B serves the user from its cache.
	_, err := aDB.ExecContext(ctx, h.bind("UPDATE authkit_users SET display_name = ? WHERE id = ?"), "Changed behind the Stores", id)
	require.NoError(t, err, "change the user behind the Stores")
	u, _, err := b.auth.Authenticate(ctx, token)
	require.NoError(t, err, "Authenticate on B")
	require.Equal(t, reg.User.DisplayName, u.DisplayName, "B serves the user from its cache while its watch works")

	bw.down.Store(true)
	restore := h.breakWatch(t, aDB)
	err = testkit.Receive(t, bw.failed, "B's watch failing")
	require.Error(t, err, "WatchUsers's error")
	t.Logf("%s: B's watch failed: %v", h.Dialect.Engine, err)
	restore()

	for i := range 2 {
		before := b.store.calls.Load()
		u, _, err := b.auth.Authenticate(ctx, token)
		require.NoError(t, err, "Authenticate on B")
		assert.Equal(t, int64(1), b.store.calls.Load()-before, "Store reads of B's request %d while its watch is down", i+1)
		assert.Equal(t, "Changed behind the Stores", u.DisplayName, "B's request %d reads the user as it is", i+1)
	}
	require.NoError(t, a.auth.LogoutAll(ctx, id, authkit.Client{}), "LogoutAll on A")
	_, _, err = b.auth.Authenticate(ctx, token)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "B refuses the token at once")
}

// testWatchConcurrent changes 50 users at once through two pools: each
// change is reported on its own, never as a gap, because changes are
// numbered in the order they commit.
func testWatchConcurrent(t *testing.T, h Harness) {
	open := h.migrated(t)
	stores := []*sqlstore.Store{h.storeOn(t, open()), h.storeOn(t, open())}
	const n = 50
	users := make([]authkit.User, n)
	for i := range users {
		users[i] = testUser(t)
		require.NoError(t, stores[0].CreateUser(t.Context(), users[i]), "CreateUser")
	}
	w := watch(t, h.storeOn(t, open()))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, u := range users {
		wg.Go(func() {
			s := stores[i%2]
			if i%5 == 0 {
				errs[i] = s.DeleteUser(context.Background(), u.ID)
				return
			}
			_, errs[i] = s.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: time.Now().UTC()})
		})
	}
	wg.Wait()
	want := make(map[string]bool, n)
	for i, err := range errs {
		require.NoError(t, err, "change %d", i)
		want[users[i].ID] = true
	}
	got := make(map[string]bool, n)
	for range n {
		id := testkit.Receive(t, w.changes, "each change")
		require.NotEmpty(t, id, "a gap reported among changes that were all kept")
		got[id] = true
	}
	assert.Equal(t, want, got, "the users reported")
}
