package bench_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/sqlstore/postgres"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

// Algorithms the benchmarks sign with.
var algorithms = []string{authkit.AlgHS256, authkit.AlgEdDSA}

const (
	issuer   = "https://app.example.com"
	audience = "https://app.example.com"
	password = "correct horse battery"
)

// postgresVariable names the environment variable with the URL of the
// PostgreSQL server the PostgreSQL benchmarks use.
const postgresVariable = "AUTHKIT_TEST_POSTGRES_DSN"

// keys is one signing key and what the peers verify with: the HS256
// secret, or the Ed25519 public key.
type keys struct {
	alg    string
	key    *authkit.Key
	secret []byte            // HS256
	public ed25519.PublicKey // EdDSA
}

// verifyKey is what golang-jwt, jwtauth and auth0 are given to verify.
func (k keys) verifyKey() any {
	if k.alg == authkit.AlgHS256 {
		return k.secret
	}
	return k.public
}

func newKeys(alg string) (keys, error) {
	k := keys{alg: alg}
	var err error
	switch alg {
	case authkit.AlgHS256:
		k.secret = []byte(rand.Text() + rand.Text()) // 52 characters
		k.key, err = authkit.NewHMACKey("bench", k.secret)
	case authkit.AlgEdDSA:
		k.key, err = authkit.GenerateKey("bench", alg)
		if err == nil {
			k.public = k.key.Public().(ed25519.PublicKey)
		}
	default:
		err = fmt.Errorf("no algorithm %s", alg)
	}
	return k, err
}

// kitConfig is the Authenticator every benchmark uses, over store, with
// the caches changed by change. Access tokens live for a day, longer than
// any run.
func kitConfig(k keys, store authkit.Store) authkit.Config {
	return authkit.Config{
		Store:          store,
		Mailer:         authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		SigningKey:     k.key,
		Issuer:         issuer,
		Audience:       audience,
		BaseURL:        issuer,
		BcryptCost:     4,
		AccessTokenTTL: 24 * time.Hour,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// fixture is what the in-process and loopback benchmarks of one algorithm
// share: the keys, a memstore with one user and that user's access token,
// which every middleware is shown.
type fixture struct {
	keys
	mem   *memstore.Store
	token string
}

var (
	fixturesOnce sync.Once
	fixtures     map[string]*fixture
	fixturesErr  error
	closers      []func()
)

// fixtureFor returns the fixture of alg, made once per process.
func fixtureFor(b *testing.B, alg string) *fixture {
	b.Helper()
	fixturesOnce.Do(func() {
		fixtures = map[string]*fixture{}
		for _, alg := range algorithms {
			f, err := newFixture(alg)
			if err != nil {
				fixturesErr = err
				return
			}
			fixtures[alg] = f
		}
	})
	if fixturesErr != nil {
		b.Fatal(fixturesErr)
	}
	return fixtures[alg]
}

func newFixture(alg string) (*fixture, error) {
	k, err := newKeys(alg)
	if err != nil {
		return nil, err
	}
	f := &fixture{keys: k, mem: memstore.New()}
	a, err := authkit.New(kitConfig(k, f.mem))
	if err != nil {
		return nil, err
	}
	defer a.Close(context.Background())
	reg, err := a.Register(context.Background(), authkit.Registration{Email: "bench@example.com", Password: password}, authkit.Client{})
	if err != nil {
		return nil, err
	}
	f.token = reg.Tokens.AccessToken
	return f, nil
}

// sqlDB is a database for the benchmarks of a SQL engine, with authkit's
// tables in it, and the access token of a user registered there for each
// algorithm.
type sqlDB struct {
	store *sqlstore.Store

	mu     sync.Mutex
	tokens map[string]string // by algorithm
}

var (
	sqlOnce = map[string]*sync.Once{"postgres": {}, "sqlite": {}}
	sqlDBs  = map[string]*sqlDB{}
	sqlErrs = map[string]error{}
)

// sqlFor returns the benchmarks' database of engine ("postgres" or
// "sqlite"), made once per process. PostgreSQL's is a schema of its own on
// the server of AUTHKIT_TEST_POSTGRES_DSN, dropped when the benchmarks end;
// without that variable, b is skipped. SQLite's is a file in a temporary
// directory, as the reference server's.
func sqlFor(b *testing.B, engine string) *sqlDB {
	b.Helper()
	dsn := os.Getenv(postgresVariable)
	if engine == "postgres" && dsn == "" {
		b.Skipf("set %s (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL benchmarks", postgresVariable)
	}
	sqlOnce[engine].Do(func() {
		var db *sqlDB
		var err error
		if engine == "postgres" {
			db, err = openPostgres(dsn)
		} else {
			db, err = openSQLite()
		}
		sqlDBs[engine], sqlErrs[engine] = db, err
	})
	if err := sqlErrs[engine]; err != nil {
		b.Fatal(err)
	}
	return sqlDBs[engine]
}

func openPostgres(dsn string) (*sqlDB, error) {
	ctx := context.Background()
	admin, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	schema := "authkit_bench_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		return nil, err
	}
	closers = append(closers, func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = db.Close() })
	store, err := postgres.New(db)
	if err != nil {
		return nil, err
	}
	return migrated(store)
}

func openSQLite() (*sqlDB, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "authkit-bench-")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = os.RemoveAll(dir) })
	db, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { _ = db.Close() })
	store, err := sqlite.New(db)
	if err != nil {
		return nil, err
	}
	return migrated(store)
}

func migrated(store *sqlstore.Store) (*sqlDB, error) {
	if err := store.Migrate(context.Background()); err != nil {
		return nil, err
	}
	return &sqlDB{store: store, tokens: map[string]string{}}, nil
}

// config returns the Authenticator's Config over the database, and the
// access token of a user registered there.
func (db *sqlDB) config(b *testing.B, f *fixture) (authkit.Config, string) {
	b.Helper()
	c := kitConfig(f.keys, db.store)
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.tokens[f.alg] == "" {
		a, err := authkit.New(c)
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close(context.Background())
		reg, err := a.Register(b.Context(), authkit.Registration{Email: "bench-" + strings.ToLower(f.alg) + "@example.com", Password: password}, authkit.Client{})
		if err != nil {
			b.Fatal(err)
		}
		db.tokens[f.alg] = reg.Tokens.AccessToken
	}
	return c, db.tokens[f.alg]
}

// TestMain closes what the benchmarks opened (the PostgreSQL schema is
// dropped, the reference servers stopped).
func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	os.Exit(code)
}
