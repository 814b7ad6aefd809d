package redisusers_test

import (
	"context"
	"log"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/redisusers"
)

// Every instance of the service builds its Authenticator like this, over
// the same Store and the same Redis channel: a user disabled on one
// instance is refused by all of them within a moment, though each keeps
// users in memory between requests.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	watcher, err := redisusers.New(redisusers.Config{
		Client:  rdb,
		Channel: "myapp:user-changes", // one per deployment that shares the Redis
	})
	if err != nil {
		log.Fatal(err)
	}
	a, err := authkit.New(authkit.Config{
		Store:       memstore.New(), // in production, the sqlstore all instances share
		Mailer:      authkit.LogMailer(slog.Default()),
		Secret:      []byte("an HS256 secret of at least 32 bytes"),
		BaseURL:     "https://app.example.com",
		UserWatcher: watcher,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
	// Mount httpauth over a as usual: RequireUser now reads each user
	// from the Store at most once per UserCacheTTL while Redis is up, and
	// on every request while it is not.
}
