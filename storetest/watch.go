package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// DeliveryBound is how soon after a change returns a UserWatcher must have
// reported it: every instance of a service sees a change within a second.
// RunUserWatcher checks it for single changes; it is the one bound on time
// the suites assert, because it is the watcher's contract.
const DeliveryBound = time.Second

// RunUserWatcher runs the conformance suite of authkit.UserWatcher against
// the stores newStores returns, once per subtest: watched, a fresh, empty
// Store that implements authkit.UserWatcher, and other, a Store over the
// same data made the way another instance of a service would make it (for
// a database-backed store, another Store value on a pool of its own; for an
// in-memory one, watched itself). Subtests run one after another.
//
// It checks that WatchUsers calls ready, reports every UpdateUser but a
// authkit.UserUpdate.TouchOnly one and every DeleteUser made through either
// store, each within DeliveryBound, reports no update that failed or
// conflicted, reports each of 50 concurrent updates of distinct users, and
// returns, calling nothing more, when its context ends. changed("") (any
// user may have changed) is accepted where a change is awaited.
func RunUserWatcher(t *testing.T, newStores func(t testing.TB) (watched, other authkit.Store)) {
	t.Run("Ready", func(t *testing.T) {
		watched, _ := newStores(t)
		watchUsers(t, watched) // fails unless ready is called
	})
	t.Run("Update", func(t *testing.T) { testWatchUpdate(t, newStores) })
	t.Run("Delete", func(t *testing.T) { testWatchDelete(t, newStores) })
	t.Run("TouchOnly", func(t *testing.T) { testWatchTouchOnly(t, newStores) })
	t.Run("Failed", func(t *testing.T) { testWatchFailed(t, newStores) })
	t.Run("Stop", func(t *testing.T) { testWatchStop(t, newStores) })
	t.Run("Concurrency", func(t *testing.T) { testWatchConcurrency(t, newStores) })
}

// watching is one call of WatchUsers under test, running on a goroutine of
// its own.
type watching struct {
	ready   chan struct{}
	changes chan string
	cancel  context.CancelFunc
	done    chan error

	mu       sync.Mutex
	returned bool // WatchUsers returned
	late     int  // callbacks after it returned
	overflow bool // a change found changes full
	err      error
	stopped  bool
}

// watchUsers starts WatchUsers on s, which must implement
// authkit.UserWatcher, and waits for it to be ready. The watch ends when t
// does.
func watchUsers(t testing.TB, s authkit.Store) *watching {
	t.Helper()
	w, ok := s.(authkit.UserWatcher)
	require.Truef(t, ok, "%T does not implement authkit.UserWatcher", s)
	ctx, cancel := context.WithCancel(context.Background())
	x := &watching{ready: make(chan struct{}, 16), changes: make(chan string, 1024), cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := w.WatchUsers(ctx, x.onReady, x.onChange)
		x.mu.Lock()
		x.returned = true
		x.mu.Unlock()
		x.done <- err
	}()
	t.Cleanup(func() {
		_ = x.stop(t)
		x.mu.Lock()
		defer x.mu.Unlock()
		assert.Zero(t, x.late, "calls of ready or changed after WatchUsers returned")
		assert.False(t, x.overflow, "changed called over 1024 times unread")
	})
	select {
	case <-x.ready:
	case err := <-x.done:
		x.done <- err
		t.Fatalf("WatchUsers returned %v before it was ready", err)
	case <-time.After(testkit.Timeout):
		t.Fatalf("WatchUsers was not ready within %s", testkit.Timeout)
	}
	return x
}

func (x *watching) onReady() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.returned {
		x.late++
		return
	}
	select {
	case x.ready <- struct{}{}:
	default:
	}
}

func (x *watching) onChange(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.returned {
		x.late++
		return
	}
	select {
	case x.changes <- id:
	default:
		x.overflow = true
	}
}

// stop ends the watch and returns what WatchUsers returned. It fails t if
// WatchUsers does not return within testkit.Timeout.
func (x *watching) stop(t testing.TB) error {
	t.Helper()
	x.mu.Lock()
	if x.stopped {
		defer x.mu.Unlock()
		return x.err
	}
	x.mu.Unlock()
	x.cancel()
	err := testkit.Receive(t, x.done, "WatchUsers returning after its context ended")
	x.mu.Lock()
	x.stopped, x.err = true, err
	x.mu.Unlock()
	return err
}

// next waits for the next change reported and returns it.
func (x *watching) next(t testing.TB, what string) string {
	t.Helper()
	return testkit.Receive(t, x.changes, what+" reported")
}

// expect waits for the report of a change of id that returned at
// returned: the next change reported must be id (or ""), within
// DeliveryBound of returned.
func (x *watching) expect(t testing.TB, id string, returned time.Time, what string) {
	t.Helper()
	got := x.next(t, what)
	took := time.Since(returned)
	if got != "" {
		assert.Equal(t, id, got, "the change reported next after %s", what)
	}
	assert.LessOrEqualf(t, took, DeliveryBound, "%s reported after %s", what, took)
}

// testWatchUpdate checks that every kind of UpdateUser but a touch is
// reported, made through the other store or through the watched one.
func testWatchUpdate(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	u := createUser(t, other)
	x := watchUsers(t, watched)
	ctx := t.Context()
	updates := []struct {
		name string
		upd  authkit.UserUpdate
	}{
		{"PasswordHash", authkit.UserUpdate{PasswordHash: new(newPasswordHash())}},
		{"DisplayName", authkit.UserUpdate{DisplayName: new("Grace Hopper")}},
		{"Active", authkit.UserUpdate{Active: new(false)}},
		{"EmailVerified", authkit.UserUpdate{EmailVerified: new(true)}},
		{"BumpTokenVersion", authkit.UserUpdate{BumpTokenVersion: true}},
		{"EndSessions", authkit.UserUpdate{EndSessions: true}},
	}
	for _, by := range []struct {
		name  string
		store authkit.Store
	}{{"other", other}, {"watched", watched}} {
		for _, c := range updates {
			c.upd.UpdatedAt = now()
			require.False(t, c.upd.TouchOnly(), c.name)
			_, err := by.store.UpdateUser(ctx, u.ID, c.upd)
			require.NoErrorf(t, err, "UpdateUser(%s) through the %s store", c.name, by.name)
			x.expect(t, u.ID, time.Now(), "UpdateUser("+c.name+") through the "+by.name+" store")
		}
	}

	// A compare-and-swap that succeeds is reported too.
	cur, err := other.UserByID(ctx, u.ID)
	require.NoError(t, err, "UserByID")
	_, err = other.UpdateUser(ctx, u.ID, authkit.UserUpdate{PasswordHash: new(newPasswordHash()), IfPasswordHash: cur.PasswordHash, UpdatedAt: now()})
	require.NoError(t, err, "UpdateUser with the current IfPasswordHash")
	x.expect(t, u.ID, time.Now(), "a successful compare-and-swap")
}

// testWatchDelete checks that DeleteUser is reported, through either store.
func testWatchDelete(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	a, b := createUser(t, other), createUser(t, other)
	createSession(t, other, a.ID, now())
	x := watchUsers(t, watched)
	require.NoError(t, other.DeleteUser(t.Context(), a.ID), "DeleteUser through the other store")
	x.expect(t, a.ID, time.Now(), "DeleteUser through the other store")
	require.NoError(t, watched.DeleteUser(t.Context(), b.ID), "DeleteUser through the watched store")
	x.expect(t, b.ID, time.Now(), "DeleteUser through the watched store")
}

// testWatchTouchOnly checks that updates of UpdatedAt alone are not
// reported: a change of another user made after them is the next report.
func testWatchTouchOnly(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	u, marker := createUser(t, other), createUser(t, other)
	x := watchUsers(t, watched)
	ctx := t.Context()
	touches := []authkit.UserUpdate{
		{UpdatedAt: now()},
		{UpdatedAt: now(), IfPasswordHash: u.PasswordHash},
		{UpdatedAt: now(), KeepSession: newID()},
	}
	for i, upd := range touches {
		require.True(t, upd.TouchOnly(), "touch %d", i)
		for _, s := range []authkit.Store{other, watched} {
			_, err := s.UpdateUser(ctx, u.ID, upd)
			require.NoError(t, err, "UpdateUser touching %d", i)
		}
	}
	_, err := other.UpdateUser(ctx, marker.ID, authkit.UserUpdate{DisplayName: new("Marker"), UpdatedAt: now()})
	require.NoError(t, err, "UpdateUser of the marker")
	assert.Equal(t, marker.ID, x.next(t, "the marker's update"), "the touches before the marker were not reported")
}

// testWatchFailed checks that updates and deletions that fail are not
// reported: a change of another user made after them is the next report.
func testWatchFailed(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	u, marker := createUser(t, other), createUser(t, other)
	x := watchUsers(t, watched)
	ctx := t.Context()
	for _, s := range []authkit.Store{other, watched} {
		_, err := s.UpdateUser(ctx, u.ID, authkit.UserUpdate{PasswordHash: new(newPasswordHash()), IfPasswordHash: newPasswordHash(), UpdatedAt: now()})
		require.ErrorIs(t, err, authkit.ErrConflict, "UpdateUser with a stale IfPasswordHash")
		_, err = s.UpdateUser(ctx, newID(), authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
		require.ErrorIs(t, err, authkit.ErrNotFound, "UpdateUser of an unknown user")
		require.ErrorIs(t, s.DeleteUser(ctx, newID()), authkit.ErrNotFound, "DeleteUser of an unknown user")
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.UpdateUser(cancelled, u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
		require.Error(t, err, "UpdateUser with a cancelled context")
	}
	got, err := other.UserByID(ctx, u.ID)
	require.NoError(t, err, "UserByID")
	assertUser(t, u, got, "the user after the failed updates")

	_, err = other.UpdateUser(ctx, marker.ID, authkit.UserUpdate{DisplayName: new("Marker"), UpdatedAt: now()})
	require.NoError(t, err, "UpdateUser of the marker")
	assert.Equal(t, marker.ID, x.next(t, "the marker's update"), "the failed changes before the marker were not reported")
}

// testWatchStop checks that WatchUsers returns ctx's error when ctx ends,
// and calls nothing afterwards.
func testWatchStop(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	u := createUser(t, other)
	x := watchUsers(t, watched)
	err := x.stop(t)
	assert.True(t, errors.Is(err, context.Canceled), "WatchUsers returned %v after its context was cancelled, want context.Canceled", err)
	// A change now must not reach the callbacks (the cleanup counts late
	// calls).
	_, err = other.UpdateUser(t.Context(), u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
	require.NoError(t, err, "UpdateUser after the watch ended")
	require.NoError(t, watched.DeleteUser(t.Context(), u.ID), "DeleteUser after the watch ended")
}

// testWatchConcurrency updates 50 users at once, each from its own
// goroutine, half through each store: every one is reported.
func testWatchConcurrency(t *testing.T, newStores func(t testing.TB) (authkit.Store, authkit.Store)) {
	watched, other := newStores(t)
	const n = 50
	users := make([]authkit.User, n)
	for i := range users {
		users[i] = createUser(t, other)
	}
	x := watchUsers(t, watched)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i, u := range users {
		s := other
		if i%2 == 1 {
			s = watched
		}
		wg.Go(func() {
			<-start
			_, errs[i] = s.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{BumpTokenVersion: true, UpdatedAt: now()})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "UpdateUser %d", i)
	}
	waiting := make(map[string]bool, n)
	for _, u := range users {
		waiting[u.ID] = true
	}
	for len(waiting) > 0 {
		id := x.next(t, "each of the concurrent updates")
		if id == "" {
			clear(waiting) // any user may have changed
			break
		}
		delete(waiting, id)
	}
}
