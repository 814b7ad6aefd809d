// Package httpauth exposes an authkit.Authenticator over net/http: the
// authentication API as an http.Handler, middleware that protects the host
// service's own handlers, and accessors for the signed-in user.
//
// # Mounting
//
// The Handler routes relative to where it is mounted, with the standard
// ServeMux method patterns. Mounted at /api/auth/ it serves the URLs of the
// Django REST Framework design authkit replaces, with the same field names,
// status codes and messages, so its clients work unchanged:
//
//	api, err := httpauth.New(httpauth.Config{Authenticator: auth, Logger: logger})
//	if err != nil { … }
//	mux := http.NewServeMux()
//	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
//
// Routes: POST /register, /login, /refresh, /logout, /logout-all,
// /change-password, /forgot-password, /reset-password, /verify-email,
// /resend-verification, /decline-registration; GET /me,
// /verify-email/{token}, /sessions, /jwks.json, /openapi.json; DELETE
// /sessions/{id}; and the second-factor routes (see Handler).
// Each is also an exported method of Handler with the http.HandlerFunc
// signature, for hosts that route on their own (chi, say).
//
// Requests carry JSON (Content-Type: application/json, at most 64 KiB by
// default). Successful answers are JSON; errors are RFC 9457 problem details
// (Content-Type: application/problem+json):
//
//	{"type": "about:blank", "title": "Unauthorized", "status": 401,
//	 "detail": "Invalid email or password", "code": "invalid_credentials"}
//
// "type" is always "about:blank" and "title" the HTTP status text; "code"
// is the stable, machine-readable name of the problem: invalid_input (with
// "fields": {name: [messages]} for per-field errors), email_taken,
// invalid_credentials, account_disabled, email_not_verified, invalid_token,
// token_expired, unauthorized, not_found, method_not_allowed,
// unsupported_media_type, body_too_large, rate_limited (429, with
// Retry-After in seconds), unavailable (503, with Retry-After),
// cross_origin (403, cookie mode), second_factor_required (401, with
// "ticket", "methods" and "expires_in"), reauthentication_required (403),
// insufficient_authentication (403, RequireAuthMethods), conflict (409)
// and internal. "detail" keeps the original design's messages for people.
//
// GET /openapi.json serves an OpenAPI 3.1 document of all of it (the
// bytes of OpenAPI), for client generators and API explorers.
//
// # Middleware
//
// RequireUser lets a request through only with an access token that is
// good now and puts its user in the request context; LoadUser does the same
// but lets anonymous requests through. Whether a token is good now is
// authkit's Authenticator.Authenticate to say, the same check a gRPC or
// WebSocket host calls. Handlers read the user with UserFrom and the
// token's claims with ClaimsFrom:
//
//	mux.Handle("GET /api/orders", api.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		user, _ := httpauth.UserFrom(r.Context())
//		…
//	})))
//
// Both are func(http.Handler) http.Handler, so they fit any router.
//
// A service that holds neither the secret nor the Store verifies tokens
// with an authkit.Verifier built from the issuer's GET /jwks.json, behind
// RequireToken, which puts the claims (not a user) in the context.
//
// # Security
//
//   - The access token is read from the "Authorization: Bearer" header,
//     never from the query string or a form: URLs end up in logs, browser
//     history and Referer headers. Only in cookie mode with
//     CookieConfig.AccessToken is it also read from the AccessCookie.
//   - Cookie mode (Config.Cookies) keeps the refresh token in the
//     RefreshCookie (HttpOnly, Secure, SameSite=Strict, __Host- prefixed),
//     out of every script's reach. While cookies carry credentials, a
//     state-changing request without an Authorization header must come
//     from the API's own origin or one of Config.AllowedOrigins
//     (http.CrossOriginProtection), else it is a 403 cross_origin.
//   - CORS answers go only to Config.AllowedOrigins, each named exactly:
//     never "*", never "null".
//   - Each request's token is verified (signature with a pinned algorithm,
//     issuer, audience, expiry) and its user loaded, so a password reset or
//     change, logging out everywhere or disabling the account refuses it at
//     once. authkit.Config.CheckSession also requires its session to be
//     live, so that logging out one device cuts off that device's access
//     tokens too, for one more Store read per request.
//   - The client address recorded with sessions and events comes from the
//     connection unless Config.TrustedProxies lists the proxy it came
//     through; only then are X-Forwarded-For and X-Real-IP believed, and
//     only as far as the chain of trusted hops reaches (see ClientAddr).
//     Per-address rate limits count that address on its network (an IPv6
//     /64 by default; see authkit.Limits.IPv6Prefix), while sessions and
//     events record it whole.
//   - A successful register or login returns a device credential
//     (device_token) and sets it as the DeviceCookie (HttpOnly,
//     SameSite=Lax, Path=/, Secure except over plain HTTP to a loopback
//     host, Max-Age authkit.Config.DeviceTTL); login and change-password
//     read it back, the body's device_token first. It lets that device past
//     guesses made elsewhere at the account's password; it grants no
//     access.
//   - Every response of the Handler carries Cache-Control: no-store, so
//     tokens and personal data are never kept by browsers or proxies.
//   - Bad input is a 4xx problem, never a 500. An unexpected error (a failing
//     Store, say) is a 500 with a generic detail; its text goes to
//     Config.Logger, never to the client.
package httpauth
