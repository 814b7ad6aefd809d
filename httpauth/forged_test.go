package httpauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// jwtPart decodes one base64url segment of a compact JWT.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// encodePart encodes v as a base64url JWT segment.
func encodePart(t testing.TB, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(data)
}

// TestForgedTokensRefused attacks RequireUser with tokens that were not
// issued as they are. Each is refused with 401 "unauthorized" and an
// invalid_token challenge; a control token minted the same way with the
// right secret and claims is accepted, so each case fails for its one flaw.
func TestForgedTokensRefused(t *testing.T) {
	e := newEnv(t)
	victim, _ := e.register("victim@example.com", "correct horse")
	attacker, _ := e.register("attacker@example.com", "correct horse")
	header := jwtPart(t, attacker.AccessToken, 0)
	claims := jwtPart(t, attacker.AccessToken, 1)

	// mint signs claims changed by change with key and method, with the
	// genuine header's kid and typ.
	mint := func(change func(jwt.MapClaims), method jwt.SigningMethod, key any) string {
		t.Helper()
		c := jwt.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if change != nil {
			change(c)
		}
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = header["kid"]
		tok.Header["typ"] = header["typ"]
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	now := e.clock.Now()

	control := mint(nil, jwt.SigningMethodHS256, testSecret)
	require.Equal(t, http.StatusOK, e.get("/me", control).status, "a token minted with the real secret works")

	// tamper swaps the payload of a genuine token and keeps its signature.
	parts := strings.Split(attacker.AccessToken, ".")
	tampered := map[string]any{}
	for k, v := range claims {
		tampered[k] = v
	}
	tampered["sub"], tampered["user_id"] = victim.UserID, victim.UserID
	tamperedToken := parts[0] + "." + encodePart(t, tampered) + "." + parts[2]

	noneHeader := map[string]any{"alg": "none", "typ": header["typ"], "kid": header["kid"]}
	victimClaims := map[string]any{}
	for k, v := range claims {
		victimClaims[k] = v
	}
	victimClaims["sub"], victimClaims["user_id"] = victim.UserID, victim.UserID
	algNone := encodePart(t, noneHeader) + "." + encodePart(t, victimClaims) + "."

	cases := map[string]string{
		"alg none":           algNone,
		"alg none, unsigned": encodePart(t, noneHeader) + "." + encodePart(t, victimClaims),
		"another secret":     mint(func(c jwt.MapClaims) { c["sub"], c["user_id"] = victim.UserID, victim.UserID }, jwt.SigningMethodHS256, []byte("another secret of at least 32 bytes, not ours")),
		"tampered payload":   tamperedToken,
		"tampered signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"expired":            mint(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }, jwt.SigningMethodHS256, testSecret),
		"no exp":             mint(func(c jwt.MapClaims) { delete(c, "exp") }, jwt.SigningMethodHS256, testSecret),
		"wrong aud":          mint(func(c jwt.MapClaims) { c["aud"] = []string{"another-service"} }, jwt.SigningMethodHS256, testSecret),
		"wrong iss":          mint(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, jwt.SigningMethodHS256, testSecret),
		"HS512 same secret":  mint(nil, jwt.SigningMethodHS512, testSecret),
		"sub differs":        mint(func(c jwt.MapClaims) { c["user_id"] = victim.UserID }, jwt.SigningMethodHS256, testSecret),
		"stale version":      mint(func(c jwt.MapClaims) { c["ver"] = -1 }, jwt.SigningMethodHS256, testSecret),
		"not a JWT":          "not.a.jwt",
		"huge":               strings.Repeat("A", 16<<10),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			res := e.get("/me", token)
			m := assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
			assert.Equal(t, "Invalid or expired token", m["detail"])
			assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
			assert.NotContains(t, string(res.body), victim.UserID, "no data of the victim")
		})
	}

	// Expired by the clock rather than by forgery.
	e.clock.Advance(16 * time.Minute)
	assertProblem(t, e.get("/me", victim.AccessToken), http.StatusUnauthorized, "unauthorized")
}

// TestTokenInQueryStringIgnored checks that a bearer token is taken from
// the Authorization header only: in the query string or a form it is as
// if absent.
func TestTokenInQueryStringIgnored(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")
	for _, q := range []string{"access_token", "token", "jwt", "authorization"} {
		res := e.get("/me?"+q+"="+tk.AccessToken, "")
		m := assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
		assert.Equal(t, "Authentication credentials were not provided.", m["detail"], "?%s=", q)
		assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))
	}
	res := e.do(req{method: http.MethodGet, path: "/api/hello?access_token=" + tk.AccessToken})
	assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	res = e.do(req{method: http.MethodPost, path: "/logout-all", body: "access_token=" + tk.AccessToken,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	assertProblem(t, res, http.StatusUnauthorized, "unauthorized")

	// Other schemes are not bearer tokens; the scheme name is
	// case-insensitive.
	res = e.do(req{method: http.MethodGet, path: "/me", header: map[string]string{"Authorization": "Basic " + tk.AccessToken}})
	assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	res = e.do(req{method: http.MethodGet, path: "/me", header: map[string]string{"Authorization": "bearer " + tk.AccessToken}})
	assert.Equal(t, http.StatusOK, res.status)
	res = e.do(req{method: http.MethodGet, path: "/me", header: map[string]string{"Authorization": "Bearer"}})
	assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
}

// TestAuthenticateMiddleware checks the optional middleware: anonymous
// requests pass, valid tokens load the user, a bad token is refused rather
// than treated as anonymous.
func TestAuthenticateMiddleware(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")

	res := e.get("/api/maybe", "")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "anonymous", string(res.body))

	res = e.get("/api/maybe", tk.AccessToken)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "user ada@example.com", string(res.body))

	assertProblem(t, e.get("/api/maybe", tk.AccessToken+"x"), http.StatusUnauthorized, "unauthorized")
	require.NoError(t, e.auth.LogoutAll(t.Context(), tk.UserID, authkit.Client{}))
	assertProblem(t, e.get("/api/maybe", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
}
