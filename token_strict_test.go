package authkit_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// signJWS builds a compact JWS by hand, header and all, so that a test can
// write any header (without typ, with crit, with a number for typ) and
// sign it with a real key: the token fails for what the header says, not
// for its signature.
func signJWS(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	input := enc(h) + "." + enc(c)
	sig, err := method.Sign(input, key)
	require.NoError(t, err)
	return input + "." + enc(sig)
}

// genuine returns a kit signing with HS256 and the header and claims of
// one of its genuine access tokens, to sign again with changes.
func genuine(t *testing.T) (*kit, map[string]any, map[string]any) {
	t.Helper()
	k := newKit(t, nil)
	tok, _ := k.register(t, "strict@example.com", pw)
	return k, jwtPart(t, tok.AccessToken, 0), jwtPart(t, tok.AccessToken, 1)
}

// with returns a copy of m with the given members set; a nil value
// deletes the member.
func with(m map[string]any, set map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// respell returns another spelling of an unpadded base64url part that a
// lax decoder reads as the same bytes: the last character with its unused
// low bits flipped. ok is false when the part has no unused bits.
func respell(part string) (string, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	spare := map[int]int{2: 4, 3: 2}[len(part)%4] // unused bits in the last character
	if spare == 0 {
		return "", false
	}
	last := strings.IndexByte(alphabet, part[len(part)-1])
	return part[:len(part)-1] + string(alphabet[last^1]), true
}

// TestTokenHasOneEncoding re-spells genuine tokens, each part decoding to
// the same bytes under a lax base64 decoder, and requires every other
// spelling to be refused: a signature (and a token) has one encoding.
func TestTokenHasOneEncoding(t *testing.T) {
	hs := newKit(t, nil)
	edKey, err := authkit.GenerateKey("ed", authkit.AlgEdDSA)
	require.NoError(t, err)
	ed := newKit(t, func(c *authkit.Config) { c.SigningKey = edKey })
	for name, k := range map[string]*kit{"HS256": hs, "EdDSA": ed} {
		t.Run(name, func(t *testing.T) {
			tok, _ := k.register(t, "encoding@example.com", pw)
			parts := strings.Split(tok.AccessToken, ".")
			join := func(h, p, s string) string { return h + "." + p + "." + s }

			sig, ok := respell(parts[2])
			require.True(t, ok, "signatures of 32 and 64 bytes leave unused bits")
			lax, err := base64.RawURLEncoding.DecodeString(sig)
			require.NoError(t, err)
			want, err := base64.RawURLEncoding.DecodeString(parts[2])
			require.NoError(t, err)
			require.Equal(t, want, lax, "a lax decoder reads the re-spelled signature as the genuine one")

			cases := map[string]string{
				"signature, stray trailing bits": join(parts[0], parts[1], sig),
				"signature, padded":              join(parts[0], parts[1], parts[2]+strings.Repeat("=", (4-len(parts[2])%4)%4)),
				"signature, line break":          join(parts[0], parts[1], parts[2][:10]+"\n"+parts[2][10:]),
				"signature, carriage return":     join(parts[0], parts[1], parts[2][:10]+"\r"+parts[2][10:]),
				"signature, trailing newline":    join(parts[0], parts[1], parts[2]+"\n"),
				"payload, line break":            join(parts[0], parts[1][:5]+"\r\n"+parts[1][5:], parts[2]),
				"header, line break":             join(parts[0][:5]+"\n"+parts[0][5:], parts[1], parts[2]),
				"header, padded":                 join(parts[0]+"==", parts[1], parts[2]),
				"four parts":                     tok.AccessToken + "." + parts[2],
			}
			if h, ok := respell(parts[0]); ok {
				cases["header, stray trailing bits"] = join(h, parts[1], parts[2])
			}
			if p, ok := respell(parts[1]); ok {
				cases["payload, stray trailing bits"] = join(parts[0], p, parts[2])
			}
			for name, token := range cases {
				t.Run(name, func(t *testing.T) {
					_, err := k.VerifyAccessToken(t.Context(), token)
					assert.ErrorIs(t, err, authkit.ErrInvalidToken, "VerifyAccessToken(%q)", token)
				})
			}
			_, err = k.VerifyAccessToken(t.Context(), tok.AccessToken)
			assert.NoError(t, err, "the genuine spelling verifies")
		})
	}
}

// TestCritHeaderIsRefused signs tokens whose header asks, through crit,
// for extensions the kit does not understand: each must be refused (RFC
// 7515 §4.1.11), however harmless the extension looks.
func TestCritHeaderIsRefused(t *testing.T) {
	k, h, c := genuine(t)
	cases := map[string]map[string]any{
		"crit exp":           {"crit": []string{"exp"}, "exp": 1},
		"crit b64 unencoded": {"crit": []string{"b64"}, "b64": false},
		"crit unknown":       {"crit": []string{"urn:example:must-understand"}, "urn:example:must-understand": true},
		"crit empty":         {"crit": []string{}},
		"crit not a list":    {"crit": "b64"},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, with(h, set), c))
			assert.ErrorIs(t, err, authkit.ErrInvalidToken)
		})
	}
	_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, h, c))
	assert.NoError(t, err, "the same header without crit verifies")
}

// TestAccessTokenTypeIsComparedAsAMediaType signs tokens with every
// spelling of typ: RFC 9068 §4's "at+jwt" and "application/at+jwt", in any
// ASCII case, pass; any other type, or none, is refused, so that an ID
// token or another JWT signed by the same key is never taken for an
// access token.
func TestAccessTokenTypeIsComparedAsAMediaType(t *testing.T) {
	k, h, c := genuine(t)
	accepted := []any{"at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt", "APPLICATION/AT+JWT", "Application/at+JWT"}
	for _, typ := range accepted {
		_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, with(h, map[string]any{"typ": typ}), c))
		assert.NoError(t, err, "typ %q", typ)
	}
	refused := map[string]any{
		"JWT":                  "JWT",
		"application/jwt":      "application/jwt",
		"empty":                "",
		"a parameter":          "at+jwt; charset=utf-8",
		"leading space":        " at+jwt",
		"trailing space":       "at+jwt ",
		"prefix twice":         "application/application/at+jwt",
		"other top-level type": "text/at+jwt",
		"prefix without slash": "applicationat+jwt",
		"prefix alone":         "application/",
		"suffix elsewhere":     "x-at+jwt",
		"secevent":             "secevent+jwt",
		"ID token (OIDC)":      "id_token+jwt",
		"number":               9068,
		"list":                 []string{"at+jwt"},
		"NUL":                  "at+jwt\x00",
		"fullwidth plus":       "at\uff0bjwt",
		"hyphen for plus":      "AT-JWT",
	}
	for name, typ := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, with(h, map[string]any{"typ": typ}), c))
			assert.ErrorIs(t, err, authkit.ErrInvalidToken, "typ %q", typ)
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, with(h, map[string]any{"typ": nil}), c))
		assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	})
}

// TestHeaderMembersAreReadExactly signs headers whose members differ from
// the genuine ones only by the case of their names or their JSON type.
func TestHeaderMembersAreReadExactly(t *testing.T) {
	k, h, c := genuine(t)
	cases := map[string]map[string]any{
		"ALG instead of alg": {"alg": nil, "ALG": "HS256"},
		"KID instead of kid": {"kid": nil, "KID": h["kid"]},
		"TYP instead of typ": {"typ": nil, "TYP": "at+jwt"},
		"kid a number":       {"kid": 1},
		"alg a list":         {"alg": []string{"HS256"}},
		"alg none":           {"alg": "none"},
		"alg lower case":     {"alg": "hs256"},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, with(h, set), c))
			assert.ErrorIs(t, err, authkit.ErrInvalidToken)
		})
	}
	for name, raw := range map[string]string{"header null": "null", "header a list": `["HS256"]`, "header a string": `"HS256"`} {
		t.Run(name, func(t *testing.T) {
			parts := strings.Split(signJWS(t, jwt.SigningMethodHS256, testSecret, h, c), ".")
			input := base64.RawURLEncoding.EncodeToString([]byte(raw)) + "." + parts[1]
			sig, err := jwt.SigningMethodHS256.Sign(input, testSecret)
			require.NoError(t, err)
			_, err = k.VerifyAccessToken(t.Context(), input+"."+base64.RawURLEncoding.EncodeToString(sig))
			assert.ErrorIs(t, err, authkit.ErrInvalidToken)
		})
	}
}

// TestAccessTokensCarryRFC9068Claims: every token has its own jti, even
// two tokens of one session issued in the same second, and client_id.
func TestAccessTokensCarryRFC9068Claims(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "jti@example.com", pw)
	again, err := k.Refresh(t.Context(), tok.RefreshToken, authkit.Client{})
	require.NoError(t, err)
	first, second := jwtPart(t, tok.AccessToken, 1), jwtPart(t, again.AccessToken, 1)
	assert.Equal(t, first["iat"], second["iat"], "issued in the same second, for the same session")
	assert.Equal(t, first["sid"], second["sid"])
	for _, p := range []map[string]any{first, second} {
		for _, claim := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id"} {
			assert.NotEmpty(t, p[claim], "RFC 9068 §2.2 requires %s", claim)
		}
		assert.Len(t, p["jti"], 26, "128 random bits in base32")
	}
	assert.NotEqual(t, first["jti"], second["jti"], "one jti per token")

	seen := map[any]bool{first["jti"]: true, second["jti"]: true}
	for range 20 {
		tok, err := k.Login(t.Context(), "jti@example.com", pw, authkit.Client{})
		require.NoError(t, err)
		jti := jwtPart(t, tok.AccessToken, 1)["jti"]
		assert.False(t, seen[jti], "jti %v issued twice", jti)
		seen[jti] = true
	}
}

// TestIssuedAtIsRequired: RFC 9068 §2.2 requires iat; a token signed
// without one is refused.
func TestIssuedAtIsRequired(t *testing.T) {
	k, h, c := genuine(t)
	_, err := k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, h, with(c, map[string]any{"iat": nil})))
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	_, err = k.VerifyAccessToken(t.Context(), signJWS(t, jwt.SigningMethodHS256, testSecret, h, c))
	assert.NoError(t, err, "the same claims with iat verify")
}

// TestIssuerAndAudienceAreTheDeployments: two deployments that share a
// secret (or a key) never accept each other's tokens, because each issues
// and requires its own BaseURL as iss and aud.
func TestIssuerAndAudienceAreTheDeployments(t *testing.T) {
	staging := newKit(t, func(c *authkit.Config) { c.BaseURL = "https://staging.example.com/" })
	prod := newKit(t, func(c *authkit.Config) { c.BaseURL = "https://app.example.com" })
	tok, _ := staging.register(t, "two@example.com", pw)
	p := jwtPart(t, tok.AccessToken, 1)
	assert.Equal(t, "https://staging.example.com", p["iss"], "BaseURL without its trailing slash")
	assert.Equal(t, []any{"https://staging.example.com"}, p["aud"])
	assert.Equal(t, "https://staging.example.com", p["client_id"])

	_, err := staging.VerifyAccessToken(t.Context(), tok.AccessToken)
	require.NoError(t, err)
	_, err = prod.VerifyAccessToken(t.Context(), tok.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken, "a staging token is refused in production, though the secret is the same")

	// A token of the old default, "authkit", is refused by default...
	h := jwtPart(t, tok.AccessToken, 0)
	old := signJWS(t, jwt.SigningMethodHS256, testSecret, h, with(p, map[string]any{"iss": "authkit", "aud": []string{"authkit"}, "client_id": nil, "jti": nil}))
	_, err = staging.VerifyAccessToken(t.Context(), old)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
	// ...and accepted, without jti or client_id, by a host that keeps it.
	kept := newKit(t, func(c *authkit.Config) { c.Store = staging.store; c.Issuer, c.Audience = "authkit", "authkit" })
	_, err = kept.VerifyAccessToken(t.Context(), old)
	assert.NoError(t, err, "Issuer and Audience set to \"authkit\" keep tokens of before the upgrade")
}
