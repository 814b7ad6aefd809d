package authkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxCustomClaimsBytes bounds the host's own claims in an access token
// (Config.CustomClaims): their JSON object, as the token carries it, may
// take at most this many bytes. The rest of a token takes about 500 bytes
// of JSON, and a browser keeps a cookie of at most 4096 bytes, name and
// base64url encoding included; this bound keeps every token, with the
// largest signature authkit makes (RS256's 342 characters), inside an
// access cookie (httpauth's CookieConfig.AccessToken) and far below the
// 8 KiB that a token may take when verified. Keep custom claims short:
// an id, a role or two, a tenant; look the rest up by the user's id.
const MaxCustomClaimsBytes = 1024

// ErrCustomClaims marks custom claims that Config.CustomClaims returned
// but the kit refused: a reserved name, a value that is not JSON, or more
// than MaxCustomClaimsBytes. It is a mistake of the host's code: the flow
// that would have issued the token fails with it (httpauth answers 500
// internal), and no session is begun or renewed.
var ErrCustomClaims = errors.New("authkit: custom claims refused")

// reservedClaims are the names a custom claim may not take: those of RFC
// 7519 §4.1, the kit's own (see Claims), and those whose meaning a
// verifier or an OpenID Connect client would take from a token, such as
// "cnf" (RFC 7800), "act" (RFC 8693) and "acr".
var reservedClaims = [...]string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti",
	"user_id", "email", "sid", "ver", "client_id", "amr", "auth_time",
	"acr", "azp", "nonce", "cnf", "act", "may_act", "at_hash", "c_hash", "s_hash", "scope", "typ",
}

// IsReservedClaim reports whether name is a claim the kit writes or keeps
// for a meaning of its own, which Config.CustomClaims may not set: the
// registered claims of RFC 7519 (iss, sub, aud, exp, nbf, iat, jti), the
// kit's (user_id, email, sid, ver, client_id, amr, auth_time), and acr,
// azp, nonce, cnf, act, may_act, at_hash, c_hash, s_hash, scope and typ.
//
// JWT claim names are case-sensitive, but names are compared here as
// Unicode case folding has them ("Sub", "EMAIL" and "ſub", with U+017F
// LATIN SMALL LETTER LONG S, are all reserved): decoders such as Go's
// encoding/json match a member to a field without regard to case, so a
// custom "Email" written after the kit's "email" would take its place.
func IsReservedClaim(name string) bool {
	return slices.ContainsFunc(reservedClaims[:], func(r string) bool { return strings.EqualFold(r, name) })
}

// customClaims asks Config.CustomClaims for the host's claims of a token
// for u in session s, and returns them as the JSON object the token will
// carry (nil for none), checked against the rules of ErrCustomClaims.
func (a *Authenticator) customClaims(ctx context.Context, u User, s Session) ([]byte, error) {
	if a.cfg.CustomClaims == nil {
		return nil, nil
	}
	claims, err := a.cfg.CustomClaims(ctx, u, s)
	if err != nil {
		return nil, fmt.Errorf("authkit: custom claims: %w", err)
	}
	if len(claims) == 0 {
		return nil, nil
	}
	for name := range claims {
		if name == "" || IsReservedClaim(name) {
			return nil, fmt.Errorf("%w: %q is reserved", ErrCustomClaims, name)
		}
	}
	// encoding/json writes a map's members sorted by name, so that the same
	// claims always make the same bytes.
	b, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCustomClaims, err)
	}
	if len(b) > MaxCustomClaimsBytes {
		return nil, fmt.Errorf("%w: %d bytes of JSON, more than %d", ErrCustomClaims, len(b), MaxCustomClaimsBytes)
	}
	return b, nil
}

// withCustom is the claims of a token being signed with the host's
// custom claims (a JSON object) beside the kit's.
type withCustom struct {
	*Claims
	custom []byte
}

// MarshalJSON writes the kit's claims and then the custom ones, as one
// JSON object. customClaims made sure that none of their names is one of
// the kit's.
func (c withCustom) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(c.Claims)
	if err != nil || len(c.custom) <= len("{}") {
		return b, err
	}
	b = append(bytes.TrimSuffix(b, []byte("}")), ',')
	return append(b, c.custom[1:]...), nil
}

// Custom decodes the custom claim name (see Config.CustomClaims) of a
// verified token into v, as encoding/json would. It reports false, and
// leaves v alone, when the token carries no such claim or name is
// reserved (IsReservedClaim: read those from the Claims fields); the error
// is json.Unmarshal's when the claim does not fit v.
//
// The claims are read from the token's payload when asked for, so that
// tokens whose custom claims nobody reads cost nothing to verify.
func (c *Claims) Custom(name string, v any) (bool, error) {
	if IsReservedClaim(name) || len(c.payload) == 0 {
		return false, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(c.payload, &members); err != nil {
		return false, err
	}
	raw, ok := members[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}
