package bench_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/go-chi/jwtauth/v5"
	"github.com/golang-jwt/jwt/v5"
	jwxjwt "github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
)

// leeway is the clock skew every middleware allows.
const leeway = 30 * time.Second

// final is the handler behind every middleware: it answers 204 and does
// nothing else, so that the middleware is what is measured.
var final = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

// variant is one middleware under test. build returns it around final,
// and the token to send it.
type variant struct {
	name  string
	build func(b *testing.B, f *fixture) (http.Handler, string)
}

// variants are the middlewares, the baseline first: benchstat -col /mw
// compares every other one with it. Every one checks the signature with
// the algorithm pinned, exp (required), iss and aud, with the same leeway.
var variants = []variant{
	{"golang-jwt", func(b *testing.B, f *fixture) (http.Handler, string) {
		return minimalJWT(f.keys)(final), f.token
	}},
	{"jwtauth", func(b *testing.B, f *fixture) (http.Handler, string) {
		var ja *jwtauth.JWTAuth
		opts := []jwxjwt.ValidateOption{jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience), jwxjwt.WithAcceptableSkew(leeway)}
		if f.alg == authkit.AlgHS256 {
			ja = jwtauth.New(f.alg, f.secret, nil, opts...)
		} else {
			ja = jwtauth.New(f.alg, nil, f.public, opts...)
		}
		return jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(final)), f.token
	}},
	{"auth0", func(b *testing.B, f *fixture) (http.Handler, string) {
		key := f.verifyKey()
		v, err := validator.New(func(context.Context) (any, error) { return key, nil },
			validator.SignatureAlgorithm(f.alg), issuer, []string{audience}, validator.WithAllowedClockSkew(leeway))
		if err != nil {
			b.Fatal(err)
		}
		return jwtmiddleware.New(v.ValidateToken).CheckJWT(final), f.token
	}},
	{"RequireToken", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireToken(b, f, 0), f.token
	}},
	{"RequireToken-nocache", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireToken(b, f, -1), f.token
	}},
	{"RequireUser-mem", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireUser(b, kitConfig(f.keys, f.mem)), f.token
	}},
	{"RequireUser-mem-nousercache", func(b *testing.B, f *fixture) (http.Handler, string) {
		c := kitConfig(f.keys, f.mem)
		c.UserCacheTTL = -1
		return requireUser(b, c), f.token
	}},
	{"RequireUser-mem-notokencache", func(b *testing.B, f *fixture) (http.Handler, string) {
		c := kitConfig(f.keys, f.mem)
		c.TokenCacheBytes = -1
		return requireUser(b, c), f.token
	}},
	{"RequireUser-mem-nocache", func(b *testing.B, f *fixture) (http.Handler, string) {
		c := kitConfig(f.keys, f.mem)
		c.UserCacheTTL, c.TokenCacheBytes = -1, -1
		return requireUser(b, c), f.token
	}},
	{"RequireUser-pg", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireUserSQL(b, f, "postgres", true)
	}},
	{"RequireUser-pg-nousercache", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireUserSQL(b, f, "postgres", false)
	}},
	{"RequireUser-sqlite", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireUserSQL(b, f, "sqlite", true)
	}},
	{"RequireUser-sqlite-nousercache", func(b *testing.B, f *fixture) (http.Handler, string) {
		return requireUserSQL(b, f, "sqlite", false)
	}},
}

type claimsKey struct{}

// minimalJWT is the baseline: the least a service writes with golang-jwt
// alone, jwt.Parse with a key function, and the claims put in the
// request context.
func minimalJWT(k keys) func(http.Handler) http.Handler {
	key := k.verifyKey()
	keyfunc := func(*jwt.Token) (any, error) { return key, nil }
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{k.alg}), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(leeway),
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			token, err := jwt.Parse(raw, keyfunc, opts...)
			if err != nil {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, token.Claims)))
		})
	}
}

// requireToken is httpauth.RequireToken over a Verifier with the fixture's
// key and a token cache of cacheBytes.
func requireToken(b *testing.B, f *fixture, cacheBytes int) http.Handler {
	key := f.key
	if f.alg != authkit.AlgHS256 {
		var err error
		if key, err = authkit.NewVerificationKey(f.key.ID(), f.public); err != nil {
			b.Fatal(err)
		}
	}
	v, err := authkit.NewVerifier(b.Context(), authkit.VerifierConfig{
		Keys: []*authkit.Key{key}, Issuer: issuer, Audience: audience, Leeway: leeway, TokenCacheBytes: cacheBytes,
	})
	if err != nil {
		b.Fatal(err)
	}
	return httpauth.RequireToken(v)(final)
}

// requireUser is httpauth's RequireUser over an Authenticator made of c.
func requireUser(b *testing.B, c authkit.Config) http.Handler {
	a, err := authkit.New(c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	h, err := httpauth.New(httpauth.Config{Authenticator: a})
	if err != nil {
		b.Fatal(err)
	}
	return h.RequireUser(final)
}

// requireUserSQL is RequireUser over the database of engine, with the
// user cache or without.
func requireUserSQL(b *testing.B, f *fixture, engine string, userCache bool) (http.Handler, string) {
	c, token := sqlFor(b, engine).config(b, f)
	if !userCache {
		c.UserCacheTTL = -1
	}
	// With the cache, the Store watches users itself (LISTEN/NOTIFY on
	// PostgreSQL, its change table on SQLite), as in production.
	return requireUser(b, c), token
}
