package httpauth

import (
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"strings"

	"github.com/authkit/authkit"
)

// DefaultMaxBodyBytes is the largest request body the Handler reads when
// Config.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Handler. New copies it, so changing a Config after New
// has no effect. Every field documents what its zero value means.
type Config struct {
	// Authenticator runs the flows. Required.
	Authenticator *authkit.Authenticator

	// TrustedProxies are the networks of the reverse proxies in front of the
	// service. Only when the direct peer is in one of them are the
	// X-Forwarded-For and X-Real-IP headers believed; see ClientAddr. If
	// empty, the client address is always the connection's peer, which is
	// right for a service that faces the internet directly.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes bounds the size of a request body; a larger one is
	// refused with 413. If zero, DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64

	// Logger receives the errors the Handler hides from clients (a failing
	// Store, say). If nil, nothing is logged.
	Logger *slog.Logger

	// Cookies, when not nil, switches on cookie mode for browser apps:
	// for a browser's request (one with the Sec-Fetch-Site header, which
	// every current browser sends and no script can set), register, login
	// and refresh keep the refresh token in the RefreshCookie (HttpOnly,
	// so no script, an injected one included, can read it) and leave it
	// out of the JSON body; other clients get it in the body as without
	// cookie mode. Refresh and logout read the cookie when the body gives
	// no token, and logout and logout-all delete it. Then every state-changing request that does
	// not carry an Authorization header must come from the API's own
	// origin or one of AllowedOrigins (http.CrossOriginProtection, by the
	// browser's Sec-Fetch-Site and Origin headers), else it is a 403
	// cross_origin; clients that are not browsers send neither header
	// and are unaffected. If nil, tokens travel in JSON bodies only.
	Cookies *CookieConfig

	// AllowedOrigins are the origins (such as "https://app.example.com")
	// of browser apps served elsewhere that may call the API: they get
	// CORS answers with credentials (see Handler.CORS), and cookie mode
	// trusts their state-changing requests. Each must be an http or https
	// origin; "*" and "null" are refused. If empty, no cross-origin
	// request is answered for a browser.
	AllowedOrigins []string
}

// Handler serves the authentication API over net/http and provides the
// middleware that protects the host's own handlers. Create it with New. It
// is safe for concurrent use.
//
// As an http.Handler it routes, relative to where it is mounted:
//
//	POST   /register             Register
//	POST   /login                Login
//	POST   /refresh              Refresh
//	POST   /logout               Logout
//	POST   /logout-all           LogoutAll            (bearer)
//	GET    /me                   Me                   (bearer)
//	POST   /change-password      ChangePassword       (bearer)
//	POST   /forgot-password      ForgotPassword
//	POST   /reset-password       ResetPassword
//	GET    /verify-email/{token} VerifyEmail
//	POST   /verify-email         VerifyEmail
//	POST   /resend-verification  ResendVerification
//	POST   /decline-registration DeclineRegistration
//	GET    /sessions             Sessions             (bearer)
//	DELETE /sessions/{id}        EndSession           (bearer)
//	GET    /jwks.json            JWKS
//	GET    /openapi.json         OpenAPIDocument
//	POST   /login/second-factor  LoginSecondFactor
//	POST   /reauthenticate       Reauthenticate       (bearer)
//	GET    /second-factor        SecondFactor         (bearer)
//	POST   /second-factor/totp   StartTOTP            (bearer)
//	POST   /second-factor/totp/confirm ConfirmTOTP    (bearer)
//	DELETE /second-factor/totp   DisableTOTP          (bearer)
//	POST   /second-factor/recovery-codes RegenerateRecoveryCodes (bearer)
//
// Unknown paths get a 404 and known paths with another method a 405, both
// as problem details. GET /openapi.json describes all of it (see OpenAPI).
type Handler struct {
	auth    *authkit.Authenticator
	trusted []netip.Prefix
	maxBody int64
	log     *slog.Logger
	mux     *http.ServeMux
	cookies *cookieMode     // nil when cookie mode is off
	origins map[string]bool // Config.AllowedOrigins, lower-cased
}

// New checks cfg and returns a Handler. It returns an error wrapping
// authkit.ErrConfig when Authenticator is nil, MaxBodyBytes is negative, a
// trusted proxy prefix is invalid, an allowed origin is not one, or
// Cookies.SameSite is no SameSite mode.
func New(cfg Config) (*Handler, error) {
	if cfg.Authenticator == nil {
		return nil, configError("Authenticator is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, configError("MaxBodyBytes must not be negative")
	}
	h := &Handler{
		auth:    cfg.Authenticator,
		trusted: make([]netip.Prefix, 0, len(cfg.TrustedProxies)),
		maxBody: cfg.MaxBodyBytes,
		log:     cfg.Logger,
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, configError("TrustedProxies holds an invalid prefix")
		}
		h.trusted = append(h.trusted, p.Masked())
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	var err error
	if h.origins, err = checkOrigins(cfg.AllowedOrigins); err != nil {
		return nil, err
	}
	if h.cookies, err = newCookieMode(cfg.Cookies, cfg.AllowedOrigins); err != nil {
		return nil, err
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.mux = h.routes()
	return h, nil
}

// route is one pattern of the Handler's mux and the endpoint that serves
// it.
type route struct {
	pattern string
	serve   func(*Handler, http.ResponseWriter, *http.Request)
}

// routeTable is every route the Handler serves, the one list that both
// the mux and the tests that hold the OpenAPI document to the routes read.
var routeTable = []route{
	{"POST /register", (*Handler).Register},
	{"POST /login", (*Handler).Login},
	{"POST /refresh", (*Handler).Refresh},
	{"POST /logout", (*Handler).Logout},
	{"POST /logout-all", (*Handler).LogoutAll},
	{"GET /me", (*Handler).Me},
	{"POST /change-password", (*Handler).ChangePassword},
	{"POST /forgot-password", (*Handler).ForgotPassword},
	{"POST /reset-password", (*Handler).ResetPassword},
	{"GET /verify-email/{token}", (*Handler).VerifyEmail},
	{"POST /verify-email", (*Handler).VerifyEmail},
	{"POST /resend-verification", (*Handler).ResendVerification},
	{"POST /decline-registration", (*Handler).DeclineRegistration},
	{"GET /sessions", (*Handler).Sessions},
	{"DELETE /sessions/{id}", (*Handler).EndSession},
	{"GET /jwks.json", (*Handler).JWKS},
	{"GET /openapi.json", (*Handler).OpenAPIDocument},
	{"POST /login/second-factor", (*Handler).LoginSecondFactor},
	{"POST /reauthenticate", (*Handler).Reauthenticate},
	{"GET /second-factor", (*Handler).SecondFactor},
	{"POST /second-factor/totp", (*Handler).StartTOTP},
	{"POST /second-factor/totp/confirm", (*Handler).ConfirmTOTP},
	{"DELETE /second-factor/totp", (*Handler).DisableTOTP},
	{"POST /second-factor/recovery-codes", (*Handler).RegenerateRecoveryCodes},
}

func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routeTable {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { rt.serve(h, w, r) })
	}
	return mux
}

// ServeHTTP routes r to the endpoint its method and path name, after the
// CORS answer for its origin (see CORS). Every response carries
// Cache-Control: no-store and X-Content-Type-Options: nosniff.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if h.allowCORS(w, r) {
		return
	}
	if !canonical(r.URL.Path) {
		// The mux would redirect to the clean path, but it cannot know the
		// prefix the host stripped, so the redirect would leave the mount.
		writeProblem(w, problem{status: http.StatusNotFound, code: codeNotFound, detail: detailNotFound})
		return
	}
	if miss, pattern := h.mux.Handler(r); pattern == "" {
		// No route: let the mux decide between 404 and 405 (and set Allow),
		// but answer with a problem instead of its plain-text body.
		miss.ServeHTTP(&routeMiss{w: w}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// canonical reports whether p is a clean absolute path: no "//", "." or
// ".." elements.
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if c != "/" && strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c == p
}

// routeMiss turns the mux's plain-text 404 and 405 answers into problems.
type routeMiss struct {
	w     http.ResponseWriter
	wrote bool
}

func (m *routeMiss) Header() http.Header { return m.w.Header() }

func (m *routeMiss) WriteHeader(status int) {
	if m.wrote {
		return
	}
	m.wrote = true
	switch status {
	case http.StatusMethodNotAllowed:
		writeProblem(m.w, problem{status: status, code: codeMethodNotAllowed, detail: detailMethodNotAllowed})
	case http.StatusNotFound:
		writeProblem(m.w, problem{status: status, code: codeNotFound, detail: detailNotFound})
	default:
		// Not an answer the mux gives today; pass it on as it is.
		m.w.WriteHeader(status)
	}
}

func (m *routeMiss) Write(b []byte) (int, error) {
	if !m.wrote {
		m.WriteHeader(http.StatusOK)
	}
	return len(b), nil
}

// configError is an invalid Config; it unwraps to authkit.ErrConfig.
type configError string

func (e configError) Error() string { return "httpauth: invalid config: " + string(e) }

func (e configError) Unwrap() error { return authkit.ErrConfig }

var _ http.Handler = (*Handler)(nil)
