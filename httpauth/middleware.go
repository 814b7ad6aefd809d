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
// the zero User when only the token was verified (RequireToken). by is the
// Authenticator that vouched for it (nil for RequireToken).
type principal struct {
	user   authkit.User
	claims *authkit.Claims
	by     *authkit.Authenticator
}

// withLoadedUser returns the principal of ctx if its user was loaded from
// the Store; claims verified by RequireToken alone do not count.
func withLoadedUser(ctx context.Context) (*principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*principal)
	return p, ok && p.user.ID != ""
}

// vouched returns the principal of ctx if h's own Authenticator loaded it.
// A principal another Handler put there (another Authenticator, with other
// keys or another Store) counts for nothing here: h checks the request
// itself.
func (h *Handler) vouched(ctx context.Context) (*principal, bool) {
	p, ok := withLoadedUser(ctx)
	return p, ok && p.by == h.auth
}

// UserFrom returns the user that RequireUser or LoadUser loaded for the
// request whose context is ctx. It reports false for an anonymous request.
// The user was loaded by Authenticator.Authenticate for this request (from
// the Store, or from its user cache, which every change that cuts tokens
// off empties of the user), so it is active and its token version matched
// the access token's.
func UserFrom(ctx context.Context) (authkit.User, bool) {
	p, ok := withLoadedUser(ctx)
	if !ok {
		return authkit.User{}, false
	}
	return p.user, true
}

// ClaimsFrom returns the verified claims of the access token that
// RequireUser or LoadUser accepted for the request whose context is
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

// Claim returns the custom claim name (authkit.Config.CustomClaims) of
// the access token that RequireUser, LoadUser or RequireToken accepted for
// the request whose context is ctx, decoded as a T:
//
//	roles, _ := httpauth.Claim[[]string](r.Context(), "roles")
//
// It reports false for an anonymous request, a token without the claim, a
// reserved name (read those from ClaimsFrom's fields), or a value that
// does not decode as a T, such as a string where T is a number.
func Claim[T any](ctx context.Context, name string) (T, bool) {
	var v T
	claims, ok := ClaimsFrom(ctx)
	if !ok {
		return v, false
	}
	if found, err := claims.Custom(name, &v); !found || err != nil {
		var zero T
		return zero, false
	}
	return v, true
}

// RequireUser returns middleware that lets a request through to next only
// with an access token in its "Authorization: Bearer" header that is good
// now, and puts the token's user and claims in the request context
// (UserFrom, ClaimsFrom).
//
// Whether the token is good is Authenticator.Authenticate's to say: a valid
// signature and claims, an active user whose token version matches, and,
// with authkit.Config.CheckSession, a live session. Otherwise it answers
// 401 with code "unauthorized" and a "WWW-Authenticate: Bearer" challenge,
// to which it adds error="invalid_token" when a token was given (RFC
// 6750). A failing Store is a 500, logged.
//
// The token is read from the Authorization header, or in cookie mode with
// CookieConfig.AccessToken from the AccessCookie when there is no such
// header; never from the query string or a form, where it would leak into
// logs and Referer headers. In cookie mode a state-changing request
// without an Authorization header from another origin than the API's and
// AllowedOrigins is a 403 cross_origin (see Config.Cookies). A request already authenticated further up the chain by
// RequireUser or LoadUser of a Handler over the same Authenticator is not
// checked twice; one that another Authenticator vouched for is checked
// again, from its token.
func (h *Handler) RequireUser(next http.Handler) http.Handler {
	return h.authenticate("RequireUser", true, next)
}

// LoadUser returns middleware that loads the user of a request's bearer
// token, as RequireUser does, but lets anonymous requests through to next,
// where UserFrom reports false. A request that does send a bearer token
// must send a good one: an invalid, expired or cut-off token is a 401,
// never silently treated as anonymous. An Authorization header of another
// scheme is ignored.
func (h *Handler) LoadUser(next http.Handler) http.Handler {
	return h.authenticate("LoadUser", false, next)
}

// authenticate is RequireUser (required set) and LoadUser.
func (h *Handler) authenticate(name string, required bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := h.vouched(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if _, ok := h.accessTokenOf(r); !ok && !required {
			next.ServeHTTP(w, r)
			return
		}
		p, err := h.principal(r)
		if err != nil {
			h.fail(w, r, name, useBearer, err)
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

// principal returns the signed-in user of r: the one a middleware already
// put in its context, or else the one its bearer token names, if the token
// is good now. A request without a bearer token gets errNoCredentials.
func (h *Handler) principal(r *http.Request) (*principal, error) {
	if p, ok := h.vouched(r.Context()); ok {
		return p, nil
	}
	// In cookie mode a state-changing request must come from a trusted
	// origin unless it carries an Authorization header.
	if err := h.checkOrigin(r); err != nil {
		return nil, err
	}
	token, ok := h.accessTokenOf(r)
	if !ok {
		return nil, errNoCredentials
	}
	if token == "" {
		return nil, authkit.ErrInvalidToken
	}
	u, claims, err := h.auth.Authenticate(r.Context(), token)
	if err != nil {
		return nil, err
	}
	return &principal{user: u, claims: claims, by: h.auth}, nil
}
