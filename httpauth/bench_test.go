package httpauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// The baseline: the smallest sound golang-jwt middleware one would write by
// hand. HS256 pinned, issuer, audience and expiry checked, claims into the
// context; no user load, no token version, no key ids.

type baselineClaims struct {
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	SessionID    string `json:"sid"`
	TokenVersion int64  `json:"ver"`
	jwt.RegisteredClaims
}

type baselineKey struct{}

type baseline struct {
	parser *jwt.Parser
	secret []byte
}

func newBaseline(secret []byte) *baseline {
	return &baseline{
		secret: secret,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"HS256"}),
			jwt.WithIssuer("https://app.example.com"), // the bench setup's BaseURL, the default issuer
			jwt.WithAudience("https://app.example.com"),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(authkit.DefaultLeeway),
		),
	}
}

func (b *baseline) parse(token string) (*baselineClaims, error) {
	c := new(baselineClaims)
	if _, err := b.parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return b.secret, nil }); err != nil {
		return nil, err
	}
	return c, nil
}

func (b *baseline) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c, err := b.parse(token)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), baselineKey{}, c)))
	})
}

// benchSetup is an Authenticator on memstore with one signed-in user.
type benchSetup struct {
	auth  *authkit.Authenticator
	token string
}

func newBenchSetup(b *testing.B) benchSetup { return newBenchSetupKey(b, nil, false) }

// newBenchSetupKey signs with key (nil: the HS256 testSecret), checking
// sessions on every request when checkSession is set.
func newBenchSetupKey(b *testing.B, key *authkit.Key, checkSession bool) benchSetup {
	b.Helper()
	auth, err := authkit.New(authkit.Config{
		CheckSession: checkSession,
		Store:        memstore.New(),
		Mailer:       authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:       testSecret,
		SigningKey:   key,
		BaseURL:      "https://app.example.com",
		BcryptCost:   4,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = auth.Close(context.Background()) })
	tk, err := auth.Register(b.Context(), authkit.Registration{Email: "ada@example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return benchSetup{auth: auth, token: tk.Tokens.AccessToken}
}

func (s benchSetup) request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/hello", nil)
	r.Header.Set("Authorization", "Bearer "+s.token)
	return r
}

// runMiddleware serves r through h b.N times and checks the status.
func runMiddleware(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func benchRequireUser(b *testing.B, checkSession bool) {
	s := newBenchSetupKey(b, nil, checkSession)
	h, err := httpauth.New(httpauth.Config{Authenticator: s.auth})
	if err != nil {
		b.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := httpauth.UserFrom(r.Context()); !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	runMiddleware(b, h.RequireUser(next), s.request())
}

// BenchmarkRequireUser is an authenticated request through RequireUser:
// token verified, user loaded from memstore, both put in the context.
func BenchmarkRequireUser(b *testing.B) { benchRequireUser(b, false) }

// BenchmarkRequireUserCheckSession adds authkit.Config.CheckSession's
// session read.
func BenchmarkRequireUserCheckSession(b *testing.B) { benchRequireUser(b, true) }

// BenchmarkBaselineMiddleware is the same request through the hand-written
// golang-jwt middleware.
func BenchmarkBaselineMiddleware(b *testing.B) {
	s := newBenchSetup(b)
	base := newBaseline(testSecret)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(baselineKey{}).(*baselineClaims); !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	runMiddleware(b, base.middleware(next), s.request())
}

// BenchmarkVerify is Authenticator.VerifyAccessToken alone.
func BenchmarkVerify(b *testing.B) {
	s := newBenchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.auth.VerifyAccessToken(ctx, s.token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineParse is the baseline's parse alone.
func BenchmarkBaselineParse(b *testing.B) {
	s := newBenchSetup(b)
	base := newBaseline(testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := base.parse(s.token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequireToken is an authenticated request through RequireToken:
// a Verifier holding only the public key (or, for HS256, the secret)
// checks the token; no Store is involved.
func BenchmarkRequireToken(b *testing.B) {
	for _, alg := range []string{authkit.AlgHS256, authkit.AlgEdDSA, authkit.AlgES256, authkit.AlgRS256} {
		b.Run(alg, func(b *testing.B) {
			var key, verifyKey *authkit.Key
			var err error
			if alg == authkit.AlgHS256 {
				key, err = authkit.NewHMACKey("hs", testSecret)
				verifyKey = key
			} else if key, err = authkit.GenerateKey("", alg); err == nil {
				jwk, _ := key.JWK()
				verifyKey, err = jwk.PublicKey()
			}
			if err != nil {
				b.Fatal(err)
			}
			s := newBenchSetupKey(b, key, false)
			v, err := authkit.NewVerifier(b.Context(), authkit.VerifierConfig{
				Keys: []*authkit.Key{verifyKey}, Issuer: "https://app.example.com", Audience: "https://app.example.com",
			})
			if err != nil {
				b.Fatal(err)
			}
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := httpauth.ClaimsFrom(r.Context()); !ok {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			runMiddleware(b, httpauth.RequireToken(v)(next), s.request())
		})
	}
}

// TestBaselineAgrees keeps the baseline honest: it accepts the kit's
// tokens and refuses what it should.
func TestBaselineAgrees(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.Now = time.Now }))
	tk, _ := e.register("ada@example.com", "correct horse")
	base := newBaseline(testSecret)
	c, err := base.parse(tk.AccessToken)
	if err != nil {
		t.Fatalf("baseline refuses a genuine token: %v", err)
	}
	if c.UserID != tk.UserID {
		t.Fatalf("baseline user_id %q, want %q", c.UserID, tk.UserID)
	}
	if _, err := newBaseline([]byte("another secret of at least 32 bytes!!")).parse(tk.AccessToken); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("baseline with another secret: %v", err)
	}
}
