package httpauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/authkit/authkit"
)

// ctxKey is the unexported key under which the middleware stores the
// signed-in user; only this package can set it.
type ctxKey struct{}

// principal is what the middleware stores in the request context. user is
// the zero User when only the token was verified (RequireToken).
type principal struct {
	user   authkit.User
	claims *authkit.Claims
}

// withLoadedUser returns the principal of ctx if its user was loaded from
// the Store; claims verified by RequireToken alone do not count.
func withLoadedUser(ctx context.Context) (*principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*principal)
	return p, ok && p.user.ID != ""
}

// UserFrom returns the user that RequireUser or Authenticate loaded for the
// request whose context is ctx. It reports false for an anonymous request.
// The user was loaded from the Store during this request, so it is active
// and its token version matched the access token's.
func UserFrom(ctx context.Context) (authkit.User, bool) {
	p, ok := withLoadedUser(ctx)
	if !ok {
		return authkit.User{}, false
	}
	return p.user, true
}

// ClaimsFrom returns the verified claims of the access token that
// RequireUser or Authenticate accepted for the request whose context is
// ctx, such as the session id (SessionID). It reports false for an
// anonymous request. The claims are the caller's to read; changing them
// changes nothing else.
func ClaimsFrom(ctx context.Context) (*authkit.Claims, bool) {
	p, ok := ctx.Value(ctxKey{}).(*principal)
	if !ok {
		return nil, false
	}
	return p.claims, true
}

// RequireUser returns middleware that lets a request through to next only
// with a valid access token in its "Authorization: Bearer" header, and puts
// the token's user and claims in the request context (UserFrom, ClaimsFrom).
//
// For each request it verifies the token (Authenticator.Authenticate), loads
// its user (Authenticator.CurrentUser: the account must be active and the
// token version current) and, with Config.CheckSession, checks that the
// session is live. Otherwise it answers 401 with code "unauthorized" and a
// "WWW-Authenticate: Bearer" challenge, to which it adds
// error="invalid_token" when a token was given (RFC 6750). A failing Store
// is a 500, logged.
//
// The token is read from the Authorization header only, never from the
// query string or a form, where it would leak into logs and Referer
// headers. A request already authenticated by Authenticate further up the
// chain is not checked twice.
func (h *Handler) RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := withLoadedUser(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearerToken(r)
		if !ok {
			writeProblem(w, noCredentials())
			return
		}
		p, err := h.verify(r.Context(), token)
		if err != nil {
			h.fail(w, r, "RequireUser", useBearer, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// Authenticate returns middleware that loads the user of a request's
// bearer token, as RequireUser does, but lets anonymous requests through to
// next, where UserFrom reports false. A request that does send a bearer
// token must send a valid one: an invalid, expired or cut-off token is a
// 401, never silently treated as anonymous. An Authorization header of
// another scheme is ignored.
func (h *Handler) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := withLoadedUser(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearerToken(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.verify(r.Context(), token)
		if err != nil {
			h.fail(w, r, "Authenticate", useBearer, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// bearerToken returns the credentials of an "Authorization: Bearer" header
// (the scheme is case-insensitive). It reports false when there is no such
// header; a Bearer header with no token yields "" and true, and is refused.
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if len(v) < len("Bearer") || !strings.EqualFold(v[:len("Bearer")], "Bearer") {
		return "", false
	}
	rest := v[len("Bearer"):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false // another scheme, such as "Bearerx"
	}
	return strings.TrimSpace(rest), true
}

// verify checks an access token and loads its user.
func (h *Handler) verify(ctx context.Context, token string) (*principal, error) {
	if token == "" {
		return nil, authkit.ErrInvalidToken
	}
	claims, err := h.auth.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := h.auth.CurrentUser(ctx, claims)
	if err != nil {
		return nil, err
	}
	if h.checkSession {
		if claims.SessionID == "" {
			return nil, authkit.ErrInvalidToken
		}
		live, err := h.auth.SessionLive(ctx, claims.SessionID)
		if err != nil {
			return nil, err
		}
		if !live {
			return nil, authkit.ErrInvalidToken
		}
	}
	return &principal{user: u, claims: claims}, nil
}

// withUser runs fn with the request's principal. A bearer endpoint mounted
// by the Handler always has one (RequireUser ran first); called directly by
// a host that routes itself, it authenticates the request on its own.
func (h *Handler) withUser(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request, *principal)) {
	if p, ok := withLoadedUser(r.Context()); ok {
		fn(w, r, p)
		return
	}
	h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := withLoadedUser(r.Context()); ok {
			fn(w, r, p)
			return
		}
		writeProblem(w, noCredentials())
	})).ServeHTTP(w, r)
}
