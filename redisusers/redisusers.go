// Package redisusers tells the instances of a service, through a Redis
// pub/sub channel, when a user changed, so that each can keep users in
// memory (authkit.Config.UserCacheTTL) and still cut off a disabled user's
// tokens, or those of a logout everywhere, within a moment on every
// instance. Only programs that import this package compile go-redis
// (github.com/redis/go-redis/v9).
//
// Use it when the Store does not watch users itself; memstore does, and a
// sqlstore engine that notes changes in the database needs no Redis:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis.internal:6379"})
//	defer rdb.Close()
//	watcher, err := redisusers.New(redisusers.Config{Client: rdb, Channel: "myapp:user-changes"})
//	…
//	a, err := authkit.New(authkit.Config{
//		Store:       store,
//		UserWatcher: watcher,
//		// …
//	})
//
// Every instance that shares the Store must use the same Redis and the same
// channel, and make its changes through its Authenticator, which publishes
// them (authkit.UserChangePublisher); a change written to the database by
// other means is seen only when the cached user expires (UserCacheTTL).
//
// # Lost messages
//
// Redis pub/sub delivers a message only to the connections subscribed when
// it is published. While the subscription is down, changes go by unseen,
// so the Watcher never resubscribes on its own: when its connection fails,
// or the server stops answering its pings, WatchUsers returns an error.
// The Authenticator then drops every cached user, reads users from the
// Store on every request, and calls WatchUsers again, which subscribes
// afresh and reports ready only once Redis confirmed the subscription.
// No change can be missed that way, at the cost of reading the Store on
// every request for the time it takes to resubscribe.
//
// # Security
//
// Whoever can publish on the channel can make every instance drop cached
// users (more reads of the Store, never a stale user); whoever can keep
// the subscription from working makes them read the Store on every
// request. Neither can make an instance accept a token it should refuse.
// Keep Redis on a private network, with a password or ACL, as for any
// Redis a service depends on.
package redisusers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit/authkit"
)

// DefaultChannelPrefix begins the default channel name: the prefix and the
// client's database number, such as "authkit:user-changes:0".
const DefaultChannelPrefix = "authkit:user-changes:"

// DefaultPingInterval is Config.PingInterval's default.
const DefaultPingInterval = 15 * time.Second

// Config sets up a Watcher.
type Config struct {
	// Client is the Redis client to publish and subscribe with: a
	// *redis.Client, *redis.ClusterClient or *redis.Ring (any
	// redis.UniversalClient). Required. The host owns it: the Watcher
	// never closes it. Each WatchUsers holds one of its connections.
	Client redis.UniversalClient

	// Channel is the pub/sub channel of the user changes. If empty,
	// DefaultChannelPrefix followed by the client's database number
	// (0 for a client without one, such as a cluster's). Pub/sub channels
	// are shared by every database of a Redis server, so deployments that
	// share a server but not a database stay apart by default; deployments
	// that share a database (several services, or staging and production)
	// should each name a channel of their own. Crossing deployments is
	// safe but wasteful: each drops users the other changed.
	Channel string

	// PingInterval is how long WatchUsers waits for a message before it
	// pings Redis to learn whether the connection still works; a ping not
	// answered within another PingInterval ends WatchUsers with an error.
	// If zero, DefaultPingInterval (15 seconds).
	PingInterval time.Duration
}

// Watcher is an authkit.UserChangePublisher over a Redis channel. It is
// safe for concurrent use; each call of WatchUsers subscribes on its own.
type Watcher struct {
	client  redis.UniversalClient
	channel string
	ping    time.Duration
}

var _ authkit.UserChangePublisher = (*Watcher)(nil)

// New returns a Watcher for c. It connects to nothing until it is used.
// The error says what is wrong with c.
func New(c Config) (*Watcher, error) {
	if c.Client == nil {
		return nil, errors.New("redisusers: Config.Client is required")
	}
	if c.Channel == "" {
		db := 0
		if o, ok := c.Client.(interface{ Options() *redis.Options }); ok {
			db = o.Options().DB
		}
		c.Channel = DefaultChannelPrefix + strconv.Itoa(db)
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	return &Watcher{client: c.Client, channel: c.Channel, ping: c.PingInterval}, nil
}

// Channel returns the name of the channel the Watcher uses.
func (w *Watcher) Channel() string { return w.channel }

// PublishUserChange publishes userID on the channel, for every WatchUsers
// subscribed to it, this instance's included. It returns Redis's error,
// wrapped, when the message could not be sent; a change that could not be
// published reaches the other instances only when their cached user
// expires.
func (w *Watcher) PublishUserChange(ctx context.Context, userID string) error {
	if err := w.client.Publish(ctx, w.channel, userID).Err(); err != nil {
		return fmt.Errorf("redisusers: publish: %w", err)
	}
	return nil
}

// WatchUsers subscribes to the channel, calls ready once Redis confirmed
// the subscription, and then changed with the user id of every message,
// until ctx ends (it returns ctx's error) or the subscription fails: a
// connection that breaks, or that does not answer a ping, ends it with an
// error, since messages published meanwhile are lost (see the package
// documentation). It calls ready once at most.
func (w *Watcher) WatchUsers(ctx context.Context, ready func(), changed func(userID string)) error {
	ps := w.client.Subscribe(ctx, w.channel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks a Receive
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()

	subscribed := false
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, w.ping)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !subscribed || !errors.As(err, &ne) || !ne.Timeout() || pinged {
				return fmt.Errorf("redisusers: subscription to %q: %w", w.channel, err)
			}
			// Quiet for a while: make sure the connection still works.
			if err := ps.Ping(ctx); err != nil {
				return fmt.Errorf("redisusers: subscription to %q: ping: %w", w.channel, err)
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if subscribed {
				// go-redis subscribed again on a new connection: the
				// messages of the gap are lost.
				return fmt.Errorf("redisusers: subscription to %q was renewed: changes may have been missed", w.channel)
			}
			if m.Kind == "subscribe" && m.Channel == w.channel {
				subscribed = true
				ready()
			}
		case *redis.Message:
			if subscribed {
				changed(m.Payload)
			}
		}
	}
}
