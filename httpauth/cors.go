package httpauth

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS answers for browser apps on the origins of Config.AllowedOrigins.
const (
	corsMethods = "GET, POST, DELETE"
	corsHeaders = "Authorization, Content-Type"
	corsExposed = "Retry-After, WWW-Authenticate"
	corsMaxAge  = "600"
)

// checkOrigins returns origins after checking that each is a web origin
// that may be trusted: an http or https URL with a host and nothing after
// it. "*" and "null" (the origin of sandboxed documents and local files,
// which any page can take on) are refused.
func checkOrigins(origins []string) (map[string]bool, error) {
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
			return nil, configError("AllowedOrigins: " + o + " is not an origin such as https://app.example.com")
		}
		allowed[strings.ToLower(o)] = true
	}
	return allowed, nil
}

// CORS returns middleware that answers cross-origin requests from the
// origins of Config.AllowedOrigins, for a host's own routes that browser
// apps on those origins call; the Handler applies it to its own routes.
// A preflight (OPTIONS with Access-Control-Request-Method) from an allowed
// origin is answered 204 with the methods GET, POST and DELETE and the
// headers Authorization and Content-Type; other requests from an allowed
// origin go on to next with Access-Control-Allow-Origin naming that
// origin and Access-Control-Allow-Credentials: true. Requests from any
// other origin, "null" included, get no CORS header, so the browser keeps
// the answer from their page; they are not otherwise changed. With no
// AllowedOrigins, CORS returns next.
func (h *Handler) CORS(next http.Handler) http.Handler {
	if len(h.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.allowCORS(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowCORS adds the CORS headers for r's origin, when h allows it, and
// answers a preflight, reporting whether it did.
func (h *Handler) allowCORS(w http.ResponseWriter, r *http.Request) (answered bool) {
	if len(h.origins) == 0 {
		return false
	}
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !h.origins[strings.ToLower(origin)] {
		return false
	}
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Allow-Credentials", "true")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		hdr.Set("Access-Control-Expose-Headers", corsExposed)
		return false
	}
	hdr.Add("Vary", "Access-Control-Request-Method")
	hdr.Add("Vary", "Access-Control-Request-Headers")
	hdr.Set("Access-Control-Allow-Methods", corsMethods)
	hdr.Set("Access-Control-Allow-Headers", corsHeaders)
	hdr.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
