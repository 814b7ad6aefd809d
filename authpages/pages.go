package authpages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// The paths of the pages, relative to where they are mounted (see
// Config.Prefix).
const (
	// PathHome is the landing page, which links to sign-in and sign-up.
	PathHome = "/"
	// PathSignUp is the page that creates an account.
	PathSignUp = "/sign-up"
	// PathSignIn is the sign-in page; its "return" query parameter names
	// where to go once signed in (see Config.ReturnURLs and SignInURL).
	PathSignIn = "/sign-in"
	// PathForgotPassword is the page that asks for a reset link.
	PathForgotPassword = "/forgot-password"
	// PathResetPassword is the page the reset email links to, with
	// "?token=": authkit's default ResetPasswordPath.
	PathResetPassword = "/reset-password"
	// PathVerifyEmail is the page the verification email links to, with
	// "?token=": authkit's default EmailVerificationPath.
	PathVerifyEmail = "/verify-email"
	// PathAccount is the account page, where sign-in leads by default. It
	// also sets up two-step sign-in (an authenticator app and recovery
	// codes) where the API offers it.
	PathAccount = "/account"
)

// ContentSecurityPolicy is the Content-Security-Policy header of every
// response of the Pages: their own script and stylesheet only, fetches to
// their own origin only, no inline script or style, no plugins, no
// framing, forms posting nowhere else.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// assetsDir is where the stylesheet and the script are served.
const assetsDir = "/assets/"

//go:embed templates/*.html assets/authpages.css assets/authpages.js
var files embed.FS

// Pages serves the browser pages of every flow, to be mounted beside the
// httpauth API: sign up, sign in, forgot password, reset password, verify
// email, the account page and a landing page. Create it with New. It is an
// http.Handler and is safe for concurrent use.
//
// It routes GET (and HEAD) requests, relative to where it is mounted:
//
//	/                  landing page, linking to sign-in and sign-up
//	/sign-up           create an account
//	/sign-in           sign in; ?return= names where to go next (Config.ReturnURLs)
//	/forgot-password   ask for a reset link
//	/reset-password    choose a new password: the link of the reset email (?token=)
//	/verify-email      confirm or decline the address: the link of the verification email (?token=)
//	/account           profile, change of password, two-step sign-in, signed-in devices, sign out
//	/assets/authpages.css, /assets/authpages.js
//
// Other paths are a 404 page, other methods a 405.
type Pages struct {
	s     settings
	mux   *http.ServeMux
	pages map[string]*template.Template
	css   asset
	js    asset
}

// asset is a static file the Pages serve.
type asset struct {
	name        string
	contentType string
	body        []byte
	etag        string
	url         string // its address, relative to the origin, with a version
}

// New checks cfg and returns the Pages. It returns an error wrapping
// authkit.ErrConfig when APIPrefix is missing or not an absolute, clean
// path, when Prefix is not one, when LogoURL is not a path on the pages'
// own origin, when a Theme value is not a plain CSS colour, when
// MinPasswordLength is out of range, or when a ReturnURLs entry is not an
// absolute, clean path.
func New(cfg Config) (*Pages, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	p := &Pages{s: s, pages: make(map[string]*template.Template)}

	css, err := files.ReadFile("assets/authpages.css")
	if err != nil {
		return nil, fmt.Errorf("authpages: read stylesheet: %w", err)
	}
	var sheet bytes.Buffer
	sheet.WriteString(":root {\n")
	for _, prop := range s.props {
		fmt.Fprintf(&sheet, "  --ak-%s: %s;\n", prop[0], prop[1])
	}
	sheet.WriteString("}\n\n")
	sheet.Write(css)
	p.css = p.newAsset("authpages.css", "text/css; charset=utf-8", sheet.Bytes())

	js, err := files.ReadFile("assets/authpages.js")
	if err != nil {
		return nil, fmt.Errorf("authpages: read script: %w", err)
	}
	p.js = p.newAsset("authpages.js", "text/javascript; charset=utf-8", js)

	layout, err := template.ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("authpages: parse layout: %w", err)
	}
	for _, name := range []string{"home", "sign-up", "sign-in", "forgot-password", "reset-password", "verify-email", "account", "not-found"} {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(files, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("authpages: parse page %s: %w", name, err)
		}
		p.pages[name] = t
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.page("home", "Welcome", false))
	mux.HandleFunc("GET "+PathSignUp, p.page("sign-up", "Create an account", true))
	mux.HandleFunc("GET "+PathSignIn, p.page("sign-in", "Sign in", true))
	mux.HandleFunc("GET "+PathForgotPassword, p.page("forgot-password", "Reset your password", true))
	mux.HandleFunc("GET "+PathResetPassword, p.page("reset-password", "Choose a new password", true))
	mux.HandleFunc("GET "+PathVerifyEmail, p.page("verify-email", "Confirm your email address", true))
	mux.HandleFunc("GET "+PathAccount, p.page("account", "Your account", true))
	mux.HandleFunc("GET "+assetsDir+p.css.name, p.css.serve)
	mux.HandleFunc("GET "+assetsDir+p.js.name, p.js.serve)
	p.mux = mux
	return p, nil
}

// newAsset returns the asset of body, versioned by its hash.
func (p *Pages) newAsset(name, contentType string, body []byte) asset {
	sum := sha256.Sum256(body)
	version := hex.EncodeToString(sum[:8])
	return asset{
		name:        name,
		contentType: contentType,
		body:        body,
		etag:        `"` + version + `"`,
		url:         p.s.prefix + assetsDir + name + "?v=" + version,
	}
}

// serve writes the asset, or 304 when the browser's copy is current.
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	// The URL carries the version, but a browser that comes with another
	// one (or none) still gets the current file: revalidate every time.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.body))
}

// ServeHTTP serves the page or asset r names. Every response carries the
// ContentSecurityPolicy, X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer (the links of emails carry their token in the URL),
// X-Frame-Options: DENY and Cross-Origin-Opener-Policy: same-origin;
// pages also carry Cache-Control: no-store.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !canonical(r.URL.Path) {
		// The mux would redirect to the clean path, but it cannot know the
		// prefix the host stripped, so the redirect would leave the mount.
		p.notFound(w, r)
		return
	}
	if _, pattern := p.mux.Handler(r); pattern == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		p.notFound(w, r)
		return
	}
	p.mux.ServeHTTP(w, r)
}

// SignInURL returns the address of the sign-in page that sends the user on
// to returnTo once signed in, such as "/sign-in?return=%2Fapp%2F" for
// "/app/". returnTo must be allowed by Config.ReturnURLs, or the user
// lands on the account page instead; an empty returnTo leaves the choice
// to the page. Hosts use it to send a visitor who is not signed in to
// sign in.
func (p *Pages) SignInURL(returnTo string) string {
	u := p.s.prefix + PathSignIn
	if returnTo != "" {
		u += "?" + url.Values{"return": {returnTo}}.Encode()
	}
	return u
}

// links are the addresses of the pages, with the prefix.
type links struct {
	Home, SignUp, SignIn, Forgot, Reset, Verify, Account string
}

// view is what a page template renders.
type view struct {
	Page      string // the template's name, the body's data-page
	Title     string
	AppName   string
	Logo      string
	API       string
	CSS, JS   string
	Links     links
	MinLength int
	MaxBytes  int
	// NeedsScript says that the page does nothing without JavaScript.
	NeedsScript bool
	// Return is where the sign-in page goes once signed in.
	Return string
	// Notice is a message the sign-in page shows on arrival.
	Notice string
}

// notices are the messages the sign-in page shows for its "notice" query
// parameter; any other value shows none, so that no text of the URL
// reaches the page.
var notices = map[string]string{
	"signed-out":            "You are signed out.",
	"signed-out-everywhere": "You are signed out on every device.",
	"session-ended":         "Your session has ended. Please sign in again.",
}

// page serves the named template.
func (p *Pages) page(name, title string, needsScript bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := p.view(name, title)
		v.NeedsScript = needsScript
		if name == "sign-in" {
			q := r.URL.Query()
			v.Return = p.s.returns.returnTo(q.Get("return"), v.Links.Account)
			v.Notice = notices[q.Get("notice")]
		}
		p.render(w, http.StatusOK, name, v)
	}
}

// notFound serves the 404 page.
func (p *Pages) notFound(w http.ResponseWriter, _ *http.Request) {
	p.render(w, http.StatusNotFound, "not-found", p.view("not-found", "Page not found"))
}

func (p *Pages) view(name, title string) view {
	pre := p.s.prefix
	home := pre + PathHome
	return view{
		Page:    name,
		Title:   title,
		AppName: p.s.appName,
		Logo:    p.s.logo,
		API:     p.s.api,
		CSS:     p.css.url,
		JS:      p.js.url,
		Links: links{
			Home:    home,
			SignUp:  pre + PathSignUp,
			SignIn:  pre + PathSignIn,
			Forgot:  pre + PathForgotPassword,
			Reset:   pre + PathResetPassword,
			Verify:  pre + PathVerifyEmail,
			Account: pre + PathAccount,
		},
		MinLength: p.s.minLength,
		MaxBytes:  p.s.maxBytes,
	}
}

// render executes a page into a buffer, then writes it with status.
func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
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

var _ http.Handler = (*Pages)(nil)
