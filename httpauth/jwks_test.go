package httpauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
)

// issuerURL is the issuer and audience of newEnv's tokens: its BaseURL.
const issuerURL = "https://app.example.com"

// withKey signs with a fresh key of the algorithm.
func withKey(t testing.TB, alg string) (func(*setup), *authkit.Key) {
	t.Helper()
	k, err := authkit.GenerateKey("", alg)
	require.NoError(t, err)
	return withAuth(func(c *authkit.Config) { c.SigningKey = k }), k
}

func TestJWKSUnderHS256SaysThereIsNothing(t *testing.T) {
	e := newEnv(t)
	res := e.get("/jwks.json", "")
	body := assertProblem(t, res, http.StatusNotFound, "not_found")
	assert.Contains(t, body["detail"], "HS256")
}

func TestJWKSServesPublicKeysOnly(t *testing.T) {
	first, err := authkit.GenerateKey("first", authkit.AlgRS256)
	require.NoError(t, err)
	hmac, err := authkit.NewHMACKey("old-hmac", testSecret)
	require.NoError(t, err)
	signWith, key := withKey(t, authkit.AlgEdDSA)
	e := newEnv(t, signWith, withAuth(func(c *authkit.Config) { c.VerificationKeys = []*authkit.Key{first, hmac} }))

	res := e.get("/jwks.json", "")
	require.Equal(t, http.StatusOK, res.status, "%s", res.body)
	assert.Equal(t, "application/jwk-set+json", res.header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=300", res.header.Get("Cache-Control"))
	var set struct{ Keys []map[string]any }
	require.NoError(t, json.Unmarshal(res.body, &set))
	require.Len(t, set.Keys, 2, "the EdDSA and RSA keys; the HMAC secret never")
	kids := []any{}
	for _, k := range set.Keys {
		kids = append(kids, k["kid"])
		assert.Equal(t, "sig", k["use"])
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			assert.NotContains(t, k, private)
		}
	}
	assert.ElementsMatch(t, []any{key.ID(), "first"}, kids)
}

// TestGoJoseVerifiesOurTokens checks our tokens with an independent JOSE
// implementation that knows nothing but the JSON served at /jwks.json.
func TestGoJoseVerifiesOurTokens(t *testing.T) {
	algs := map[string]jose.SignatureAlgorithm{authkit.AlgEdDSA: jose.EdDSA, authkit.AlgES256: jose.ES256, authkit.AlgRS256: jose.RS256}
	for alg, joseAlg := range algs {
		t.Run(alg, func(t *testing.T) {
			signWith, _ := withKey(t, alg)
			e := newEnv(t, signWith)
			tok, _ := e.register("jose@example.com", "securepass123")

			var set jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(e.get("/jwks.json", "").body, &set))
			parsed, err := josejwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{joseAlg})
			require.NoError(t, err)
			require.Len(t, parsed.Headers, 1)
			keys := set.Key(parsed.Headers[0].KeyID)
			require.Len(t, keys, 1, "the token's kid is in the set")
			var std josejwt.Claims
			var ours struct {
				UserID   string `json:"user_id"`
				Email    string `json:"email"`
				ClientID string `json:"client_id"`
			}
			require.NoError(t, parsed.Claims(keys[0], &std, &ours), "go-jose verifies the signature")
			require.NoError(t, std.ValidateWithLeeway(josejwt.Expected{
				Issuer: issuerURL, AnyAudience: josejwt.Audience{issuerURL}, Time: e.clock.Now(),
			}, 0))
			assert.Equal(t, tok.UserID, std.Subject)
			assert.Equal(t, tok.UserID, ours.UserID)
			assert.Equal(t, "jose@example.com", ours.Email)
			assert.Equal(t, issuerURL, ours.ClientID, "RFC 9068 client_id")
			assert.NotEmpty(t, std.ID, "RFC 9068 jti")
			assert.Equal(t, "at+jwt", parsed.Headers[0].ExtraHeaders["typ"])
		})
	}
}

// TestVerifierServiceBesideTheIssuer runs the issuer and a second service on
// two servers: the second holds no secret and no Store, only the JWKS URL.
func TestVerifierServiceBesideTheIssuer(t *testing.T) {
	signWith, _ := withKey(t, authkit.AlgEdDSA)
	issuer := newEnv(t, signWith)
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{
		JWKSURL:    issuer.srv.URL + "/api/auth/jwks.json",
		HTTPClient: issuer.srv.Client(),
		Issuer:     issuerURL,
		Audience:   issuerURL,
		Now:        issuer.clock.Now,
	})
	require.NoError(t, err)
	service := httptest.NewServer(httpauth.RequireToken(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := httpauth.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		if _, ok := httpauth.UserFrom(r.Context()); ok {
			http.Error(w, "a Verifier loads no user", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(claims.Email))
	})))
	defer service.Close()
	call := func(bearer string) (int, string) {
		r, err := http.NewRequestWithContext(t.Context(), http.MethodGet, service.URL, nil)
		require.NoError(t, err)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := service.Client().Do(r)
		require.NoError(t, err)
		defer res.Body.Close()
		var b [256]byte
		n, _ := res.Body.Read(b[:])
		if res.StatusCode == http.StatusUnauthorized {
			assert.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer")
		}
		return res.StatusCode, string(b[:n])
	}

	tok, _ := issuer.register("svc@example.com", "securepass123")
	status, body := call(tok.AccessToken)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "svc@example.com", body)

	status, _ = call("")
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _ = call(tok.AccessToken[:len(tok.AccessToken)-2] + "xx")
	assert.Equal(t, http.StatusUnauthorized, status, "tampered signature")
	issuer.clock.Advance(16 * time.Minute)
	status, _ = call(tok.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, status, "expired")
}

// TestRequireTokenDoesNotSatisfyRequireUser: claims verified without the
// Store must not stand in for a loaded user further down the chain.
func TestRequireTokenDoesNotSatisfyRequireUser(t *testing.T) {
	signWith, key := withKey(t, authkit.AlgEdDSA)
	e := newEnv(t, signWith)
	tok, _ := e.register("chain@example.com", "securepass123")
	v, err := authkit.NewVerifier(t.Context(), authkit.VerifierConfig{Keys: []*authkit.Key{key}, Issuer: issuerURL, Audience: issuerURL, Now: e.clock.Now})
	require.NoError(t, err)
	res := e.do(req{method: http.MethodPost, path: "/logout-all", bearer: tok.AccessToken})
	require.Equal(t, http.StatusNoContent, res.status)

	// The token's signature still verifies, but its user logged out
	// everywhere: RequireUser behind RequireToken must still refuse it.
	chain := httpauth.RequireToken(v)(e.h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	chain.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}
