package bench_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore/postgres"
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

// postgresDB is a schema of its own on the server of AUTHKIT_TEST_POSTGRES_DSN,
// dropped when the benchmarks end, with authkit's tables in it.
type postgresDB struct {
	db *sql.DB
}

var (
	pgOnce sync.Once
	pg     *postgresDB
	pgErr  error
)

// postgresFor returns the benchmarks' PostgreSQL database, or skips b
// when AUTHKIT_TEST_POSTGRES_DSN is not set.
func postgresFor(b *testing.B) *postgresDB {
	b.Helper()
	dsn := os.Getenv(postgresVariable)
	if dsn == "" {
		b.Skipf("set %s (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL benchmarks", postgresVariable)
	}
	pgOnce.Do(func() { pg, pgErr = openPostgres(dsn) })
	if pgErr != nil {
		b.Fatal(pgErr)
	}
	return pg
}

func openPostgres(dsn string) (*postgresDB, error) {
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
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	return &postgresDB{db: db}, nil
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
