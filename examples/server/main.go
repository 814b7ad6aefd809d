// Command server is authkit's reference server: the whole auth API of the
// seed design on one port, with its data in SQLite by default.
//
//	go run ./examples/server
//
// It reads its settings from the environment:
//
//	AUTHKIT_ADDR              listen address (default ":8080")
//	AUTHKIT_DATABASE_URL      sqlite:PATH, postgres://…, mysql://… (default "sqlite:authkit.db")
//	AUTHKIT_SECRET            HS256 signing secret, ≥ 32 bytes (default: random per start, with a warning)
//	AUTHKIT_SIGNING_KEY_FILE  PEM (PKCS#8) private key that signs instead of the secret; the
//	                          algorithm (EdDSA, ES256, RS256) follows from the key
//	AUTHKIT_VERIFICATION_KEY_FILES  comma-separated PEM files of retired keys that still verify
//	AUTHKIT_BASE_URL          base of the links in emails (default "http://localhost:8080")
//	AUTHKIT_SMTP_URL          smtp://user:pass@host:port (STARTTLS), smtps://… (implicit TLS);
//	                          unset: emails are printed to the log
//	AUTHKIT_MAIL_FROM         sender address (default "authkit@localhost")
//	AUTHKIT_USER_CACHE_TTL    how long a request may take its user from memory ("10s"), or
//	                          "off" to read it on every request (default 10s)
//	AUTHKIT_TRUSTED_PROXIES   comma-separated networks (CIDR) or addresses of the reverse
//	                          proxies in front; only from them are X-Forwarded-For and
//	                          X-Real-IP believed (default: none, the peer is the client)
//
// It mounts the API at /api/auth/, serves a protected GET /api/hello, and
// the pages that email links open (/verify-email, /reset-password). It
// shuts down gracefully on SIGINT and SIGTERM, delivering queued mail first.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authpages"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/smtpmail"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Getenv, logger, nil); err != nil {
		logger.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// settings are the server's environment settings.
type settings struct {
	addr, databaseURL, baseURL, smtpURL, mailFrom string
	secret                                        []byte
	signingKey                                    *authkit.Key
	verificationKeys                              []*authkit.Key
	trustedProxies                                []netip.Prefix
	allowedOrigins                                []string
	factorKeys                                    []authkit.FactorKey
	userCacheTTL                                  time.Duration
}

func readSettings(getenv func(string) string, logger *slog.Logger) (settings, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	s := settings{
		addr:        or("AUTHKIT_ADDR", ":8080"),
		databaseURL: or("AUTHKIT_DATABASE_URL", "sqlite:authkit.db"),
		baseURL:     getenv("AUTHKIT_BASE_URL"), // unset: follows the listen address
		smtpURL:     getenv("AUTHKIT_SMTP_URL"),
		mailFrom:    or("AUTHKIT_MAIL_FROM", "authkit@localhost"),
		secret:      []byte(getenv("AUTHKIT_SECRET")),
	}
	for _, o := range strings.Split(getenv("AUTHKIT_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			s.allowedOrigins = append(s.allowedOrigins, o)
		}
	}
	var err error
	if s.factorKeys, err = parseFactorKeys(getenv("AUTHKIT_FACTOR_KEYS")); err != nil {
		return s, fmt.Errorf("AUTHKIT_FACTOR_KEYS: %w", err)
	}
	if v := getenv("AUTHKIT_USER_CACHE_TTL"); v != "" {
		if v == "off" {
			s.userCacheTTL = -1
		} else if s.userCacheTTL, err = time.ParseDuration(v); err != nil || s.userCacheTTL <= 0 {
			return s, errors.New(`AUTHKIT_USER_CACHE_TTL must be a positive duration such as "10s", or "off"`)
		}
	}
	if s.trustedProxies, err = parsePrefixes(getenv("AUTHKIT_TRUSTED_PROXIES")); err != nil {
		return s, fmt.Errorf("AUTHKIT_TRUSTED_PROXIES: %w", err)
	}
	if s.signingKey, err = readKey(getenv("AUTHKIT_SIGNING_KEY_FILE")); err != nil {
		return s, err
	}
	for _, name := range strings.Split(getenv("AUTHKIT_VERIFICATION_KEY_FILES"), ",") {
		if k, err := readKey(strings.TrimSpace(name)); err != nil {
			return s, err
		} else if k != nil {
			s.verificationKeys = append(s.verificationKeys, k)
		}
	}
	switch {
	case s.signingKey != nil:
		if len(s.secret) > 0 {
			// Moving from HS256 to a key pair: tokens signed with the
			// secret keep verifying until it is removed.
			old, err := authkit.NewHMACKey("", s.secret)
			if err != nil {
				return s, fmt.Errorf("AUTHKIT_SECRET: %w", err)
			}
			s.verificationKeys = append(s.verificationKeys, old)
		}
	case len(s.secret) == 0:
		s.secret = make([]byte, 32)
		if _, err := rand.Read(s.secret); err != nil {
			return s, err
		}
		logger.Warn("AUTHKIT_SECRET is not set: using a random secret, so every restart signs everybody out")
	case len(s.secret) < 32:
		return s, errors.New("AUTHKIT_SECRET must be at least 32 bytes")
	}
	return s, nil
}

// parseFactorKeys reads a comma-separated list of "id:key" items, each key
// 32 bytes in standard base64: the keys that encrypt second factors, the
// first of which encrypts.
func parseFactorKeys(list string) ([]authkit.FactorKey, error) {
	var out []authkit.FactorKey
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, encoded, ok := strings.Cut(item, ":")
		key, err := base64.StdEncoding.DecodeString(encoded)
		if !ok || id == "" || err != nil || len(key) != 32 {
			return nil, errors.New("each item must be id:key, the key 32 bytes in base64 (openssl rand -base64 32)")
		}
		out = append(out, authkit.FactorKey{ID: id, Key: key})
	}
	return out, nil
}

// parsePrefixes reads a comma-separated list of networks ("10.0.0.0/8")
// and single addresses ("192.0.2.7", taken as a /32 or /128).
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// readKey reads a PEM key file; an empty name is no key.
func readKey(name string) (*authkit.Key, error) {
	if name == "" {
		return nil, nil
	}
	data, err := os.ReadFile(name) // #nosec G304 -- the operator names the key file
	if err != nil {
		return nil, err
	}
	k, err := authkit.ParseKeyPEM("", data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// run starts the server and blocks until ctx ends, then shuts it down.
// ready, if not nil, is told the address it listens on.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, ready func(net.Addr)) error {
	s, err := readSettings(getenv, logger)
	if err != nil {
		return err
	}
	store, closeStore, err := openStore(ctx, s.databaseURL)
	if err != nil {
		return err
	}
	defer closeStore()
	// Listen first, so that links can follow the address when
	// AUTHKIT_BASE_URL is unset (a port of 0 included).
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after a failure below; Shutdown closes it otherwise
	if s.baseURL == "" {
		s.baseURL = localURL(ln.Addr())
	}

	var mailer authkit.Mailer = authkit.LogMailer(logger)
	mailerName := "development (log)"
	if s.smtpURL == "" {
		logger.Warn("DEVELOPMENT MAILER: AUTHKIT_SMTP_URL is not set, so emails are not sent but printed to this log, " +
			"with working verification and password reset links: anyone who reads this log can take over accounts. " +
			"Never run like this in production.")
	} else {
		mc, err := smtpmail.ParseURL(s.smtpURL)
		if err != nil {
			return err
		}
		mc.From = s.mailFrom
		if mailer, err = smtpmail.New(mc); err != nil {
			return err
		}
		mailerName = "smtp " + redact(s.smtpURL)
	}

	auth, err := authkit.New(authkit.Config{
		Store:            store,
		Limiter:          store, // every instance on this database shares the rate limits
		Mailer:           mailer,
		Secret:           s.secret,
		SigningKey:       s.signingKey,
		VerificationKeys: s.verificationKeys,
		FactorKeys:       s.factorKeys,
		UserCacheTTL:     s.userCacheTTL,
		BaseURL:          s.baseURL,
		Logger:           logger,
		OnEvent: func(ctx context.Context, e authkit.Event) {
			logger.InfoContext(ctx, "auth event", "type", string(e.Type), "user_id", e.UserID, "client", e.ClientAddr, "reason", e.Reason)
		},
	})
	if err != nil {
		return err
	}
	api, err := httpauth.New(httpauth.Config{
		Authenticator:  auth,
		Logger:         logger,
		TrustedProxies: s.trustedProxies,
		// Browsers keep the refresh token in an HttpOnly cookie; other
		// clients get it in the JSON, as the API table says.
		Cookies:        &httpauth.CookieConfig{},
		AllowedOrigins: s.allowedOrigins,
	})
	if err != nil {
		return fmt.Errorf("AUTHKIT_ALLOWED_ORIGINS: %w", err)
	}
	pages, err := authpages.New(authpages.Config{APIPrefix: "/api/auth", Authenticator: auth})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           routes(api, pages),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("authkit server listening", "addr", ln.Addr().String(), "base_url", s.baseURL,
		"mailer", mailerName, "database", redact(s.databaseURL))
	if ready != nil {
		ready(ln.Addr())
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	errs := []error{srv.Shutdown(shutdownCtx), auth.Close(shutdownCtx)}
	return errors.Join(errs...)
}

// localURL is the base of links for a server listening on addr: http, and
// localhost for an address that listens everywhere.
func localURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://localhost"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// routes mounts the API, the sample protected handler and the pages, whose
// landing page answers at /.
func routes(api *httpauth.Handler, pages *authpages.Pages) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
	// Apps on AUTHKIT_ALLOWED_ORIGINS may call it: CORS answers their
	// preflight and shares the answer.
	mux.Handle("GET /api/hello", api.CORS(api.RequireUser(http.HandlerFunc(hello))))
	mux.Handle("OPTIONS /api/hello", api.CORS(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
	})))
	mux.Handle("/", pages)
	return mux
}

// hello is the sample handler behind RequireUser.
func hello(w http.ResponseWriter, r *http.Request) {
	u, _ := httpauth.UserFrom(r.Context())
	name := u.DisplayName
	if name == "" {
		name = u.Email
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{"Hello, " + name + "!"})
}
