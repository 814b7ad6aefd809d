package authkit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// watcher is a UserWatcher for tests: it passes on what another watcher
// reports (or nothing, when mute), says when each watch begins and when it
// is ready, fails when told to, and then, while held, watches no more.
type watcher struct {
	next     authkit.UserWatcher
	mute     bool
	attempts chan struct{}
	ready    chan struct{}
	fail     chan error
	held     atomic.Bool
	release  chan struct{}
}

func newWatcher(next authkit.UserWatcher) *watcher {
	return &watcher{
		next: next, attempts: make(chan struct{}, 16), ready: make(chan struct{}, 16),
		fail: make(chan error, 1), release: make(chan struct{}),
	}
}

func (w *watcher) WatchUsers(ctx context.Context, ready func(), changed func(string)) error {
	w.attempts <- struct{}{}
	if w.held.Load() {
		select {
		case <-w.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if w.mute {
		changed = func(string) {}
	}
	done := make(chan error, 1)
	go func() {
		done <- w.next.WatchUsers(ctx, func() { ready(); w.ready <- struct{}{} }, changed)
	}()
	select {
	case err := <-w.fail:
		cancel()
		<-done
		return err
	case err := <-done:
		return err
	}
}

// userCacheKit is an Authenticator whose Store calls are counted, with a
// user cache kept by w (over the memstore beneath), and a signed-in user.
type userCacheKit struct {
	*kit
	counted faults.Faulty
	w       *watcher
	tokens  authkit.Tokens
}

func newUserCacheKit(t *testing.T, mute bool, change func(*authkit.Config)) *userCacheKit {
	t.Helper()
	mem := memstore.New()
	k := &userCacheKit{counted: faults.Wrap(mem), w: newWatcher(mem)}
	k.w.mute = mute
	k.kit = newKit(t, func(c *authkit.Config) {
		c.Store, c.UserWatcher = k.counted, k.w
		if change != nil {
			change(c)
		}
	})
	k.tokens, _ = k.register(t, "ada@example.com", pw)
	if c := change; c == nil || !disabled(c) {
		testkit.Receive(t, k.w.ready, "the watcher is ready")
	}
	return k
}

// disabled reports whether change turns the user cache off.
func disabled(change func(*authkit.Config)) bool {
	var c authkit.Config
	change(&c)
	return c.UserCacheTTL < 0
}

// reads authenticates the user's token and returns the Store calls it made.
func (k *userCacheKit) reads(t *testing.T) ([]string, error) {
	t.Helper()
	k.counted.Arm(faults.Fault{})
	_, _, err := k.Authenticate(t.Context(), k.tokens.AccessToken)
	return k.counted.Disarm().Methods, err
}

// TestUserCacheServesRepeatRequests checks that with a watcher a second
// request for a user reads nothing from the Store, that the user comes
// back after the TTL, and that UserCacheTTL below zero reads every time.
func TestUserCacheServesRepeatRequests(t *testing.T) {
	k := newUserCacheKit(t, false, nil)
	first, err := k.reads(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"UserByID"}, first, "a cold request reads the user")
	again, err := k.reads(t)
	require.NoError(t, err)
	assert.Empty(t, again, "a warm request reads nothing")

	k.clock.Advance(authkit.DefaultUserCacheTTL)
	expired, err := k.reads(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"UserByID"}, expired, "after the TTL the user is read again")

	off := newUserCacheKit(t, false, func(c *authkit.Config) { c.UserCacheTTL = -1 })
	for range 2 {
		calls, err := off.reads(t)
		require.NoError(t, err)
		assert.Equal(t, []string{"UserByID"}, calls, "no cache: one read per request")
	}
}

// TestUserCacheDropsChangedUsers checks every change that cuts tokens off,
// on the instance that made it and on another over the same Store: the
// next request with the old token is refused, with no wait.
func TestUserCacheDropsChangedUsers(t *testing.T) {
	changes := map[string]func(t *testing.T, a *kit, store authkit.Store, id string){
		"logout everywhere": func(t *testing.T, a *kit, _ authkit.Store, id string) {
			require.NoError(t, a.LogoutAll(t.Context(), id, authkit.Client{}))
		},
		"disable": func(t *testing.T, a *kit, _ authkit.Store, id string) {
			require.NoError(t, a.SetActive(t.Context(), id, false, authkit.Client{}))
		},
		"password change": func(t *testing.T, a *kit, _ authkit.Store, id string) {
			_, err := a.ChangePassword(t.Context(), authkit.PasswordChange{UserID: id, CurrentPassword: pw, NewPassword: pw + " again"}, authkit.Client{})
			require.NoError(t, err)
		},
		"delete, by the host through the Store": func(t *testing.T, _ *kit, store authkit.Store, id string) {
			require.NoError(t, store.DeleteUser(t.Context(), id))
		},
	}
	for name, change := range changes {
		for _, where := range []string{"same instance", "other instance"} {
			// On the same instance the watcher is mute: the kit drops the
			// user itself when it makes the change.
			mute := where == "same instance"
			if mute && name == "delete, by the host through the Store" {
				continue // only a watcher can tell of a change the kit did not make
			}
			t.Run(name+"/"+where, func(t *testing.T) {
				b := newUserCacheKit(t, mute, nil)
				a := b.kit
				if where == "other instance" {
					a = newKitOn(t, b.kit, func(c *authkit.Config) { c.Store = b.counted })
				}
				_, err := b.reads(t)
				require.NoError(t, err)
				warm, err := b.reads(t)
				require.NoError(t, err)
				require.Empty(t, warm, "the user is cached")

				change(t, a, b.counted, b.tokens.User.ID)
				_, err = b.reads(t)
				assert.Error(t, err, "the old token is refused at once")
			})
		}
	}
}

// TestUserCacheFallsBackWhenTheWatcherFails checks that while a watcher
// cannot watch, every request reads the Store, so that a change nobody
// reported is seen at once, and that the cache comes back, empty, when the
// watcher recovers.
func TestUserCacheFallsBackWhenTheWatcherFails(t *testing.T) {
	k := newUserCacheKit(t, true, nil) // mute: it reports no change
	testkit.Receive(t, k.w.attempts, "the first watch")
	_, err := k.reads(t)
	require.NoError(t, err)
	warm, err := k.reads(t)
	require.NoError(t, err)
	require.Empty(t, warm)

	k.w.held.Store(true)
	k.w.fail <- errors.New("connection lost")
	// The kit watches again only after it put the cache out of use.
	testkit.Receive(t, k.w.attempts, "the watch after the failure")
	for range 2 {
		calls, err := k.reads(t)
		require.NoError(t, err)
		assert.Equal(t, []string{"UserByID"}, calls, "a read per request while the watcher is down")
	}
	off := false
	_, err = k.counted.UpdateUser(t.Context(), k.tokens.User.ID, authkit.UserUpdate{Active: &off, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)
	_, err = k.reads(t)
	assert.ErrorIs(t, err, authkit.ErrAccountDisabled, "a change nobody reported is seen at once")

	close(k.w.release)
	testkit.Receive(t, k.w.ready, "the watcher recovers")
	on := true
	_, err = k.counted.UpdateUser(t.Context(), k.tokens.User.ID, authkit.UserUpdate{Active: &on, UpdatedAt: k.clock.Now()})
	require.NoError(t, err)
	calls, err := k.reads(t)
	require.NoError(t, err)
	assert.Equal(t, []string{"UserByID"}, calls)
	calls, err = k.reads(t)
	require.NoError(t, err)
	assert.Empty(t, calls, "cached again")
}

// TestUserCacheNeverServesAUserOlderThanAChange races requests against a
// logout everywhere on the same instance: no request that began after the
// logout returned may succeed with the old token, whatever reads were in
// flight when it ran.
func TestUserCacheNeverServesAUserOlderThanAChange(t *testing.T) {
	k := newUserCacheKit(t, false, nil)
	var after atomic.Bool
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stale atomic.Int32
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				began := after.Load()
				_, _, err := k.Authenticate(context.Background(), k.tokens.AccessToken)
				if began && err == nil {
					stale.Add(1)
				}
			}
		})
	}
	for range 50 {
		_, _, _ = k.Authenticate(t.Context(), k.tokens.AccessToken)
	}
	require.NoError(t, k.LogoutAll(t.Context(), k.tokens.User.ID, authkit.Client{}))
	after.Store(true)
	for range 200 {
		_, _, err := k.Authenticate(t.Context(), k.tokens.AccessToken)
		require.Error(t, err, "the old token after the logout")
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, stale.Load(), "requests that began after the logout and succeeded")
}

// gatedStore holds UserByID, after it read the user, while hold is set.
type gatedStore struct {
	*memstore.Store
	hold atomic.Bool
	gate *testkit.Gate
}

func (s *gatedStore) UserByID(ctx context.Context, id string) (authkit.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	if s.hold.Load() {
		_ = s.gate.Wait(ctx)
	}
	return u, err
}

// TestUserCacheKeepsOutAReadThatRacedAChange holds a request's read of the
// user until a logout everywhere has finished: the user as it was read,
// before the logout, must not enter the cache, or the next request would
// accept the old token.
func TestUserCacheKeepsOutAReadThatRacedAChange(t *testing.T) {
	gated := &gatedStore{Store: memstore.New(), gate: testkit.NewGate()}
	k := newKit(t, func(c *authkit.Config) { c.Store = gated })
	tokens, _ := k.register(t, "ada@example.com", pw)

	gated.hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, _, err := k.Authenticate(context.Background(), tokens.AccessToken)
		done <- err
	}()
	gated.gate.Entered(t)
	gated.hold.Store(false)
	require.NoError(t, k.LogoutAll(t.Context(), tokens.User.ID, authkit.Client{}))
	gated.gate.Open()
	require.NoError(t, testkit.Receive(t, done, "the held request"), "it read the user before the logout")

	_, _, err := k.Authenticate(t.Context(), tokens.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "the user read before the logout was not cached")
}

// publisher is a UserChangePublisher, as redisusers' is, that records
// what it was asked to publish.
type publisher struct {
	mu        sync.Mutex
	published []string
}

func (p *publisher) WatchUsers(ctx context.Context, ready func(), _ func(string)) error {
	ready()
	<-ctx.Done()
	return ctx.Err()
}

func (p *publisher) PublishUserChange(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, id)
	return nil
}

// TestUserChangesArePublishedWithoutACache checks that an instance whose
// own cache is off still publishes the changes it makes, for the
// instances that cache; and that a sign-in's touch of the user is not
// published.
func TestUserChangesArePublishedWithoutACache(t *testing.T) {
	p := &publisher{}
	k := newKit(t, func(c *authkit.Config) { c.UserWatcher, c.UserCacheTTL = p, -1 })
	reg, _ := k.register(t, "ada@example.com", pw)
	_, err := k.Login(t.Context(), "ada@example.com", pw, authkit.Client{})
	require.NoError(t, err)
	require.NoError(t, k.SetActive(t.Context(), reg.User.ID, false, authkit.Client{}))
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Equal(t, []string{reg.User.ID}, p.published, "the disabling, and nothing for the sign-ins")
}
