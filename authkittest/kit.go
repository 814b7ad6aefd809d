package authkittest

import (
	"cmp"
	"context"
	"sync"
	"testing"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// Secret is the HS256 key that New gives every Authenticator it builds.
// It is public, so anyone can mint tokens that such an Authenticator
// accepts: it is for tests only, as is everything in this package.
const Secret = "authkittest: a published secret, for tests only" // #nosec G101 -- published on purpose, for tests only

// BaseURL is the Config.BaseURL that New sets; mailed links start with it.
const BaseURL = "https://app.example.com"

// Kit is an Authenticator set up for tests, with the Store and Outbox it
// runs on. Build it with New.
type Kit struct {
	// Auth is the Authenticator under test.
	Auth *authkit.Authenticator
	// Store is the memstore that Auth keeps its users in, for seeding
	// and inspecting them. Nil when WithConfig put another Store in the
	// Config.
	Store *memstore.Store
	// Outbox receives the mail Auth sends. Nil when WithConfig put another
	// Mailer in the Config.
	Outbox *Outbox

	store  authkit.Store // the Store Auth runs on, whichever it is
	hasher authkit.PasswordHasher

	mu        sync.Mutex        // serializes TokenFor
	passwords map[string]string // by normalized email, the passwords TokenFor chose
}

// Option adjusts what New builds.
type Option func(*settings)

type settings struct {
	edits []func(*authkit.Config)
}

// WithConfig has New call edit on the Config before it builds the
// Authenticator, to change any setting (RequireVerifiedEmail, a fixed
// Now, the Limits, another Store or Mailer, …). Several WithConfig apply
// in order.
func WithConfig(edit func(*authkit.Config)) Option {
	return func(s *settings) { s.edits = append(s.edits, edit) }
}

// New builds an Authenticator for a test: on a fresh memstore.Store, with
// bcrypt at its least cost (4) so that passwords hash fast, every rate
// limit off (authkit.NoLimits), the fixed Secret, BaseURL, and its mail
// kept in an Outbox. opts adjust the Config (see WithConfig). A Config
// that New refuses fails t. When t ends, the Authenticator is closed,
// which waits for its queued mail to reach the Outbox.
func New(t testing.TB, opts ...Option) *Kit {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	k := &Kit{Store: memstore.New(), Outbox: &Outbox{}, passwords: make(map[string]string)}
	cfg := authkit.Config{
		Store:      k.Store,
		Mailer:     k.Outbox,
		Secret:     []byte(Secret),
		BaseURL:    BaseURL,
		BcryptCost: 4,
		Limits:     authkit.NoLimits,
	}
	for _, edit := range s.edits {
		edit(&cfg)
	}
	if cfg.Store != authkit.Store(k.Store) {
		k.Store = nil
	}
	if cfg.Mailer != authkit.Mailer(k.Outbox) {
		k.Outbox = nil
	}
	k.store = cfg.Store
	k.hasher = cfg.PasswordHasher
	if k.hasher == nil {
		k.hasher = authkit.BcryptHasher{Cost: cmp.Or(cfg.BcryptCost, authkit.DefaultBcryptCost)}
	}
	auth, err := authkit.New(cfg)
	if err != nil {
		t.Fatalf("authkittest: New: %v", err)
	}
	k.Auth = auth
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Timeout)
		defer cancel()
		if err := auth.Close(ctx); err != nil {
			t.Errorf("authkittest: closing the Authenticator: %v", err)
		}
	})
	return k
}
