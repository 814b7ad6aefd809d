package authkit

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// UserWatcher tells every instance of a service when a user changed, so
// that each can drop what it remembers of the user (Config.UserCacheTTL).
// A Store may implement it (memstore and sqlstore's engines do), or a host
// may set one in Config.UserWatcher (such as a Redis channel's).
type UserWatcher interface {
	// WatchUsers calls changed with the id of every user that changes from
	// the moment it calls ready on, made by this instance or any other:
	// every UpdateUser that sets anything but UpdatedAt, and every
	// DeleteUser. changed("") says that any user may have changed (changes
	// were missed). It calls ready once it is watching, and again after
	// each time it recovered from a gap in which changes may have been
	// missed. It returns when ctx ends (with ctx's error) or when it can no
	// longer watch; the Authenticator then reads users from the Store on
	// every request until a new call is ready. changed and ready must not
	// be called after WatchUsers returns, and must not block for long.
	WatchUsers(ctx context.Context, ready func(), changed func(userID string)) error
}

// UserChangePublisher is a UserWatcher that learns of changes only when
// told: the Authenticator publishes the id of every user it changes
// (such as on a Redis channel). A Store-made watcher (sqlstore's, which
// notes changes in the same transaction as the change) does not need it.
type UserChangePublisher interface {
	UserWatcher
	// PublishUserChange announces that user id changed, to every watcher
	// of every instance.
	PublishUserChange(ctx context.Context, userID string) error
}

// DefaultUserCacheTTL is Config.UserCacheTTL's default.
const DefaultUserCacheTTL = 10 * time.Second

// DefaultUserCacheSize is Config.UserCacheSize's default.
const DefaultUserCacheSize = 10_000

// userCacheShards spreads the cache over locks.
const userCacheShards = 16

// userCache remembers the users that Authenticate loaded, for at most its
// ttl, while a UserWatcher is watching (ready). A change made by this
// instance drops the user at once (forget); one made by another instance
// reaches this one through the watcher. Each shard counts its changes
// (epoch): a user read from the Store enters the cache only if no change
// to its shard began since the read began, so that a read that raced a
// change cannot put the user as it was before the change back.
type userCache struct {
	ttl      time.Duration
	perShard int
	now      func() time.Time
	seed     maphash.Seed
	ready    atomic.Bool
	shards   [userCacheShards]userShard
}

type userShard struct {
	epoch   atomic.Uint64
	mu      sync.Mutex
	entries map[string]cachedUser
}

type cachedUser struct {
	user  User
	until time.Time
}

func newUserCache(ttl time.Duration, size int, now func() time.Time) *userCache {
	c := &userCache{ttl: ttl, perShard: max(1, size/userCacheShards), now: now, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].entries = map[string]cachedUser{}
	}
	return c
}

func (c *userCache) shard(id string) *userShard {
	return &c.shards[maphash.String(c.seed, id)%userCacheShards]
}

// get returns the user with id if the cache is in use and holds it, fresh.
// Otherwise it returns the shard's epoch, for put.
func (c *userCache) get(id string) (User, uint64, bool) {
	s := c.shard(id)
	epoch := s.epoch.Load()
	if !c.ready.Load() {
		return User{}, epoch, false
	}
	s.mu.Lock()
	e, ok := s.entries[id]
	s.mu.Unlock()
	if !ok || !c.now().Before(e.until) {
		return User{}, epoch, false
	}
	return e.user, epoch, true
}

// put remembers u, read from the Store after get returned epoch, unless
// its shard changed since.
func (c *userCache) put(u User, epoch uint64) {
	if !c.ready.Load() {
		return
	}
	s := c.shard(u.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch.Load() != epoch {
		return
	}
	if len(s.entries) >= c.perShard {
		for id := range s.entries { // the map's own, random, order
			delete(s.entries, id)
			break
		}
	}
	s.entries[u.ID] = cachedUser{user: u, until: c.now().Add(c.ttl)}
}

// forget drops the user with id; "" drops every user.
func (c *userCache) forget(id string) {
	if id == "" {
		for i := range c.shards {
			c.shards[i].clear()
		}
		return
	}
	c.shard(id).clear1(id)
}

func (s *userShard) clear() {
	s.epoch.Add(1)
	s.mu.Lock()
	clear(s.entries)
	s.mu.Unlock()
}

func (s *userShard) clear1(id string) {
	s.epoch.Add(1)
	s.mu.Lock()
	delete(s.entries, id)
	s.mu.Unlock()
}

// userWatcher is the watcher of c: Config.UserWatcher, else the Store if
// it is one.
func (c Config) userWatcher() UserWatcher {
	if c.UserWatcher != nil {
		return c.UserWatcher
	}
	w, _ := c.Store.(UserWatcher)
	return w
}

// watchBackoff bounds the pause between attempts to watch again.
const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 10 * time.Second
)

// startUserCache starts watching w for the cache, on a goroutine of its
// own, until stop is called: while w is not watching (before it is ready,
// after it failed) the cache is out of use and empty, and Authenticate
// reads every user from the Store.
func (a *Authenticator) startUserCache(w UserWatcher) (stop func(context.Context) error) {
	c := a.users
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		backoff := watchBackoffMin
		for {
			var mu sync.Mutex // ready and changed from one WatchUsers call
			err := w.WatchUsers(ctx, func() {
				mu.Lock()
				defer mu.Unlock()
				c.forget("")
				c.ready.Store(true)
				backoff = watchBackoffMin
			}, c.forget)
			mu.Lock()
			c.ready.Store(false)
			c.forget("")
			mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			a.cfg.Logger.Warn("authkit: watching users failed; reading users on every request until it recovers", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, watchBackoffMax)
		}
	}()
	return func(stopCtx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-stopCtx.Done():
			return stopCtx.Err()
		}
	}
}

// updateUser is Store.UpdateUser for the flows: it drops the user from
// this instance's cache at once (before and after, so that no read that
// raced the change keeps the old user) and publishes the change when the
// watcher needs telling.
func (a *Authenticator) updateUser(ctx context.Context, id string, upd UserUpdate) (User, error) {
	if upd.TouchOnly() {
		return a.store.UpdateUser(ctx, id, upd)
	}
	a.forgetUser(id)
	u, err := a.store.UpdateUser(ctx, id, upd)
	a.userChanged(ctx, id, err)
	return u, err
}

// TouchOnly reports whether upd changes nothing but the user's UpdatedAt
// (it may still be conditional on IfPasswordHash), as a sign-in's check
// that the account did not change is. A UserWatcher reports every update
// but these.
func (upd UserUpdate) TouchOnly() bool {
	return upd.PasswordHash == nil && upd.DisplayName == nil && upd.Active == nil && upd.EmailVerified == nil &&
		!upd.BumpTokenVersion && !upd.EndSessions
}

// deleteUser is Store.DeleteUser for the flows, as updateUser.
func (a *Authenticator) deleteUser(ctx context.Context, id string) error {
	a.forgetUser(id)
	err := a.store.DeleteUser(ctx, id)
	a.userChanged(ctx, id, err)
	return err
}

func (a *Authenticator) forgetUser(id string) {
	if a.users != nil {
		a.users.forget(id)
	}
}

// userChanged drops the user again after a change and publishes it. A
// failed change may still have happened (an answer lost on the way), so
// it is published too, unless the user is not there.
func (a *Authenticator) userChanged(ctx context.Context, id string, err error) {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return
	}
	a.forgetUser(id)
	// Published whether or not this instance caches: the others may.
	if p, ok := a.watcher.(UserChangePublisher); ok {
		if perr := p.PublishUserChange(context.WithoutCancel(ctx), id); perr != nil {
			a.cfg.Logger.WarnContext(ctx, "authkit: publish a user change", "user_id", id, "error", perr)
		}
	}
}
