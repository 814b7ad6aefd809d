package authpages

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/authkit/authkit"
)

// Config configures the Pages. New copies it, so changing a Config after
// New has no effect. Every field documents what its zero value means.
type Config struct {
	// APIPrefix is the path at which the host mounted the httpauth
	// Handler, such as "/api/auth": the pages call {APIPrefix}/login,
	// {APIPrefix}/me and so on, on their own origin. The Handler must run
	// in cookie mode (httpauth.Config.Cookies), which keeps the refresh
	// token in an HttpOnly cookie the pages' script never sees. Required;
	// an absolute, clean path. A trailing slash is dropped.
	APIPrefix string

	// Prefix is the path under which the host serves the pages, removed
	// with http.StripPrefix before requests reach the Pages:
	//
	//	mux.Handle("/account/", http.StripPrefix("/account", pages))
	//
	// Every link the pages write starts with it, and the links in emails
	// must too: set authkit.Config.EmailVerificationPath to Prefix +
	// "/verify-email" and ResetPasswordPath to Prefix + "/reset-password".
	// If empty, the pages are served at the root of the origin, where
	// authkit's default link paths already point. Otherwise an absolute,
	// clean path; a trailing slash is dropped.
	Prefix string

	// AppName names the service in page titles and the header. If empty,
	// "authkit".
	AppName string

	// LogoURL is the address of an image shown beside AppName in the
	// header, such as "/static/logo.svg". It must be a path on the pages'
	// own origin (the Content-Security-Policy allows images from nowhere
	// else): no scheme, no host, no backslash. If empty, no logo.
	LogoURL string

	// Theme sets the colours of the pages. Each empty field keeps its
	// default.
	Theme Theme

	// Authenticator, when set, gives the password rules the pages check
	// before they send a new password (Authenticator.PasswordRules), so
	// they are the API's own. MinPasswordLength must then be zero.
	Authenticator *authkit.Authenticator

	// MinPasswordLength is the least number of characters a new password
	// must have, for pages served apart from their Authenticator: give
	// its authkit.Config.MinPasswordLength. The API enforces its own rule
	// in any case, so a different value here only moves the message from
	// the page to the API's answer. If zero (and no Authenticator),
	// authkit.DefaultMinPasswordLength (8). Passwords over
	// authkit.MaxPasswordBytes bytes are always refused.
	MinPasswordLength int

	// ReturnURLs are where the sign-in page may send the user back after
	// signing in (its "return" query parameter): paths on the pages' own
	// origin, each either exact ("/settings") or, when it ends in "/", a
	// prefix that allows itself and every path under it ("/app/"). A
	// return URL that is not allowed, or that is not a plain same-origin
	// path (another host, "//host", a backslash, a scheme such as
	// "javascript:", "." or ".." segments, control characters), is
	// ignored and the user goes to the account page, which is always
	// allowed. If empty, sign-in always leads to the account page.
	ReturnURLs []string
}

// Theme holds the colours of the pages, written into their stylesheet as
// CSS custom properties. Each value must be a CSS colour made of letters,
// digits, spaces and the characters # . , % ( ) - + / (such as "#2456d3",
// "rebeccapurple" or "rgb(36 86 211 / 90%)"), at most 64 bytes long; New
// refuses anything else, so that no value can escape its declaration.
// Each empty field keeps its default. Choose colours whose contrast meets
// WCAG AA: the defaults do.
type Theme struct {
	// Accent colours buttons, links and focus rings (--ak-accent). If
	// empty, #1f4fbf.
	Accent string
	// AccentText is the text on accent-coloured buttons
	// (--ak-accent-text). If empty, #ffffff.
	AccentText string
	// Background is the colour behind the card (--ak-background). If
	// empty, #f4f5f7.
	Background string
	// Surface is the card's colour (--ak-surface). If empty, #ffffff.
	Surface string
	// Text is the colour of text (--ak-text). If empty, #1d1f23.
	Text string
	// Muted is the colour of hints and secondary text (--ak-muted). If
	// empty, #4f5561.
	Muted string
	// Error is the colour of error messages and borders (--ak-error). If
	// empty, #b3261e.
	Error string
	// Success is the colour of confirmations (--ak-success). If empty,
	// #17693a.
	Success string
}

// themeDefaults are the colours of a zero Theme.
var themeDefaults = Theme{
	Accent:     "#1f4fbf",
	AccentText: "#ffffff",
	Background: "#f4f5f7",
	Surface:    "#ffffff",
	Text:       "#1d1f23",
	Muted:      "#4f5561",
	Error:      "#b3261e",
	Success:    "#17693a",
}

// maxThemeValue bounds the length of a Theme value.
const maxThemeValue = 64

// properties returns the theme's custom properties (name without "--ak-",
// value), in a fixed order, defaults filled in, each value checked.
func (t Theme) properties() ([][2]string, error) {
	d := themeDefaults
	given := [][3]string{ // name, value, default
		{"accent", t.Accent, d.Accent}, {"accent-text", t.AccentText, d.AccentText},
		{"background", t.Background, d.Background}, {"surface", t.Surface, d.Surface},
		{"text", t.Text, d.Text}, {"muted", t.Muted, d.Muted},
		{"error", t.Error, d.Error}, {"success", t.Success, d.Success},
	}
	props := make([][2]string, 0, len(given))
	for _, p := range given {
		name, value := p[0], p[1]
		switch {
		case value == "":
			value = p[2]
		case !safeCSSValue(value):
			return nil, configError(fmt.Sprintf("Theme value for --ak-%s must be a CSS colour of letters, digits, spaces and # . , %% ( ) - + / only, at most %d bytes", name, maxThemeValue))
		}
		props = append(props, [2]string{name, value})
	}
	return props, nil
}

// safeCSSValue reports whether v can stand as the value of a custom
// property without ending it, opening a block, a comment, a string or an
// escape, or naming a resource to load.
func safeCSSValue(v string) bool {
	if v == "" || len(v) > maxThemeValue || strings.TrimSpace(v) != v {
		return false
	}
	for _, r := range v {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune(" #.,%()-+/", r):
		default:
			return false
		}
	}
	// No comment can open: "/*" needs a "*". Only colour functions may be
	// called, so that nothing names a resource to load (url(), image(),
	// image-set(), src()).
	lower := strings.ToLower(v)
	for i, r := range lower {
		if r != '(' {
			continue
		}
		name := lower[:i]
		name = name[strings.LastIndexFunc(name, func(r rune) bool { return !('a' <= r && r <= 'z' || r == '-') })+1:]
		if !colourFunctions[name] {
			return false
		}
	}
	return true
}

// colourFunctions are the CSS functions a Theme value may call.
var colourFunctions = map[string]bool{
	"rgb": true, "rgba": true, "hsl": true, "hsla": true, "hwb": true,
	"lab": true, "lch": true, "oklab": true, "oklch": true,
	"color": true, "color-mix": true,
}

// settings is a Config checked and with its defaults filled in.
type settings struct {
	api, prefix, appName, logo string
	props                      [][2]string
	minLength, maxBytes        int
	returns                    returnList
}

// check validates cfg and fills in its defaults. Errors wrap
// authkit.ErrConfig.
func (cfg Config) check() (settings, error) {
	var s settings
	if cfg.APIPrefix == "" {
		return s, configError("APIPrefix is required (the path where httpauth is mounted, such as \"/api/auth\")")
	}
	api, ok := cleanPrefix(cfg.APIPrefix)
	if !ok || api == "" {
		return s, configError("APIPrefix must be an absolute, clean path such as \"/api/auth\"")
	}
	s.api = api
	if cfg.Prefix != "" {
		p, ok := cleanPrefix(cfg.Prefix)
		if !ok {
			return s, configError("Prefix must be empty or an absolute, clean path such as \"/account\"")
		}
		s.prefix = p
	}
	s.appName = cfg.AppName
	if s.appName == "" {
		s.appName = "authkit"
	}
	if strings.ContainsFunc(s.appName, isControl) {
		return s, configError("AppName must not contain control characters")
	}
	if cfg.LogoURL != "" {
		u, ok := localURL(cfg.LogoURL)
		if !ok {
			return s, configError("LogoURL must be a path on the pages' own origin, such as \"/static/logo.svg\"")
		}
		s.logo = u
	}
	props, err := cfg.Theme.properties()
	if err != nil {
		return s, err
	}
	s.props = props
	s.maxBytes = authkit.MaxPasswordBytes
	switch {
	case cfg.Authenticator != nil && cfg.MinPasswordLength != 0:
		return s, configError("set Authenticator or MinPasswordLength, not both")
	case cfg.Authenticator != nil:
		rules := cfg.Authenticator.PasswordRules()
		s.minLength, s.maxBytes = rules.MinLength, rules.MaxBytes
	case cfg.MinPasswordLength < 0:
		return s, configError("MinPasswordLength must not be negative")
	case cfg.MinPasswordLength == 0:
		s.minLength = authkit.DefaultMinPasswordLength
	case cfg.MinPasswordLength > authkit.MaxPasswordBytes:
		return s, configError(fmt.Sprintf("MinPasswordLength must be at most %d (authkit.MaxPasswordBytes)", authkit.MaxPasswordBytes))
	default:
		s.minLength = cfg.MinPasswordLength
	}
	returns, err := newReturnList(cfg.ReturnURLs)
	if err != nil {
		return s, err
	}
	s.returns = returns
	return s, nil
}

// cleanPrefix checks that p is an absolute, clean path with nothing but
// unreserved path characters, and returns it without a trailing slash
// ("/" becomes "").
func cleanPrefix(p string) (string, bool) {
	u, err := url.Parse(p)
	if err != nil || !plainPath(p) || u.Path != p || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	trimmed := strings.TrimSuffix(p, "/")
	if trimmed != "" && path.Clean(trimmed) != trimmed {
		return "", false
	}
	for _, r := range trimmed {
		if !(r == '/' || r == '-' || r == '_' || r == '.' || r == '~' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return "", false
		}
	}
	return trimmed, true
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 }

// configError is an invalid Config; it unwraps to authkit.ErrConfig.
type configError string

func (e configError) Error() string { return "authpages: invalid config: " + string(e) }

func (e configError) Unwrap() error { return authkit.ErrConfig }
