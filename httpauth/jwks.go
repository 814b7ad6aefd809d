package httpauth

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/authkit/authkit"
)

// jwksMaxAge is how long clients may cache the key set, in seconds. A
// Verifier refetches early anyway when it meets an unknown key id, so a new
// key is picked up at once; keep an old key configured for longer than
// this after it stops signing.
const jwksMaxAge = "300"

// detailNoPublicKeys explains the 404 of /jwks.json under HS256.
const detailNoPublicKeys = "No public keys: access tokens are signed with a shared secret (HS256)."

// JWKS serves GET /jwks.json: the public keys that verify access tokens, as
// an RFC 7517 JWK Set ("application/jwk-set+json") with kid, alg and
// use "sig", cacheable for five minutes. It never holds private members or
// symmetric keys. When tokens are signed with an HS256 secret only, there
// is nothing to publish and it answers 404 (code not_found) saying so:
// services must then share the secret, or the issuer should move to an
// asymmetric key.
func (h *Handler) JWKS(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "JWKS"}, func(_ *noBody, _ *principal) error {
		set := h.auth.JWKS()
		if len(set.Keys) == 0 {
			return &problemError{problem{status: http.StatusNotFound, code: codeNotFound, detail: detailNoPublicKeys}}
		}
		body, err := json.Marshal(set)
		if err != nil {
			return err
		}
		hdr := w.Header()
		hdr.Set("Content-Type", "application/jwk-set+json")
		hdr.Set("Cache-Control", "public, max-age="+jwksMaxAge)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(append(body, '\n'))
		return nil
	})
}

// RequireToken returns middleware for a service that holds neither the
// issuer's secret nor its Store: it lets a request through to next only with
// an access token that v accepts, and puts the token's claims in the request
// context (ClaimsFrom; UserFrom reports false, since no user is loaded).
// Otherwise it answers 401 with a "WWW-Authenticate: Bearer" challenge, as
// RequireUser does.
//
// A Verifier cannot see logouts, password resets or disabled accounts: a
// token it accepts stays accepted until it expires. Keep access tokens
// short-lived, or check with the issuer for actions that matter.
func RequireToken(v *authkit.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearerToken(r)
			var claims *authkit.Claims
			err := errNoCredentials
			if ok {
				claims, err = v.Verify(r.Context(), token)
			}
			if err != nil {
				p, _ := classify(err, useBearer)
				writeProblem(w, p)
				return
			}
			ctx := context.WithValue(r.Context(), ctxKey{}, &principal{claims: claims})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
