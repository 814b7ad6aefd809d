package breach

import (
	"bufio"
	"context"
	"crypto/sha1" // #nosec G505 -- the range protocol names passwords by SHA-1; nothing is secured by it here
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// DefaultBaseURL is the public Pwned Passwords range API, the default
// Config.BaseURL.
const DefaultBaseURL = "https://api.pwnedpasswords.com"

// Defaults of Config.
const (
	// DefaultTimeout bounds one check when Config.Timeout is zero.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxResponseBytes bounds a response when
	// Config.MaxResponseBytes is zero: a padded answer of the public
	// service is some 40 kB.
	DefaultMaxResponseBytes = 1 << 20
)

// prefixLength is how many hex digits of the hash are sent.
const prefixLength = 5

// suffixLength is how many hex digits of the hash each line of an answer
// holds: SHA-1's 40, less the prefix.
const suffixLength = 2*sha1.Size - prefixLength

// ErrUnavailable means the range service could not say whether a password
// was breached: unreachable, too slow, an error status, an answer too
// large or not in the protocol's form. It wraps authkit.ErrBusy, so that a
// flow that fails closed answers 503 unavailable (httpauth), not a field
// error: the password is not at fault.
var ErrUnavailable = fmt.Errorf("breach: password breach service unavailable: %w", authkit.ErrBusy)

// Config configures a Checker. Every field documents its zero value.
type Config struct {
	// BaseURL is the range API's base: a check GETs BaseURL +
	// "/range/" + the first five hex digits of the password's SHA-1. If
	// empty, DefaultBaseURL. It must be an absolute http or https URL;
	// use https for anything but a service on the same host.
	BaseURL string

	// Client sends the requests. If nil, a client of its own with
	// http.DefaultTransport's settings. Its own Timeout, if any, applies
	// besides Timeout.
	Client *http.Client

	// Timeout bounds one check, the whole answer read. If zero,
	// DefaultTimeout.
	Timeout time.Duration

	// MinCount is how often a password must have been seen in breaches to
	// be refused. If zero, 1: any breached password is refused, as NIST SP
	// 800-63B asks.
	MinCount int

	// FailOpen accepts the password when the service cannot answer (see
	// ErrUnavailable), so that an outage of the service does not stop
	// sign-ups and resets. If false (the default), such a check fails the
	// flow with an error wrapping ErrUnavailable (503 unavailable in
	// httpauth): nobody sets a password that was not checked. A cancelled
	// ctx fails the check either way.
	FailOpen bool

	// MaxResponseBytes bounds the answer read; a longer one is a failure
	// of the service. If zero, DefaultMaxResponseBytes.
	MaxResponseBytes int64

	// NoPadding stops asking the service to pad its answers (the
	// "Add-Padding: true" header). Padding hides from an observer of the
	// encrypted traffic how many suffixes share the prefix, which would
	// otherwise narrow down the password: keep it on.
	NoPadding bool

	// Logger receives the failures of the service that FailOpen let pass
	// (never a password or a hash). If nil, nothing is logged.
	Logger *slog.Logger
}

// Checker checks passwords against a range API of breached passwords. It
// is safe for concurrent use.
type Checker struct {
	cfg   Config
	base  string
	agent string
}

// New returns a Checker for cfg, or an error wrapping authkit.ErrConfig
// when BaseURL is not an absolute http or https URL or a number is
// negative.
func New(cfg Config) (*Checker, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: breach: BaseURL must be an absolute http or https URL without query", authkit.ErrConfig)
	}
	if cfg.Timeout < 0 || cfg.MinCount < 0 || cfg.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("%w: breach: Timeout, MinCount and MaxResponseBytes must not be negative", authkit.ErrConfig)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinCount == 0 {
		cfg.MinCount = 1
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), agent: "authkit-breach"}, nil
}

// Policy is an authkit.PasswordPolicy that refuses a password seen at
// least Config.MinCount times (authkit.CodePasswordBreached). When the
// service cannot answer it returns an error wrapping ErrUnavailable, or
// accepts the password with Config.FailOpen; when ctx ends, ctx's error.
// Add it after the default policy, so that the cheap local checks spare
// the call:
//
//	cfg.PasswordPolicy = authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, checker.Policy)
func (c *Checker) Policy(ctx context.Context, password string, _ authkit.PasswordContext) error {
	n, err := c.Count(ctx, password)
	switch {
	case err != nil && ctx.Err() == nil && c.cfg.FailOpen:
		c.cfg.Logger.WarnContext(ctx, "breach: password accepted unchecked", "error", err)
		return nil
	case err != nil:
		return err
	case n >= c.cfg.MinCount:
		return &authkit.PasswordRefusal{
			Code:    authkit.CodePasswordBreached,
			Message: "This password has appeared in a data breach. Choose another.",
		}
	}
	return nil
}

// Count returns how often password appears in the service's corpus of
// breached passwords (0: not at all). Only the first five hex digits of
// its SHA-1 leave the process; the service answers with every suffix that
// shares them, and the match is made here. It returns an error wrapping
// ErrUnavailable when the service cannot answer, and one wrapping ctx's
// error too when ctx ended first. It never returns the password or its
// hash in an error.
func (c *Checker) Count(ctx context.Context, password string) (int, error) {
	sum := sha1.Sum([]byte(password)) // #nosec G401 -- the range protocol's hash, not a password hash
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:prefixLength], digest[prefixLength:]

	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/range/"+prefix, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("User-Agent", c.agent)
	if !c.cfg.NoPadding {
		req.Header.Set("Add-Padding", "true")
	}
	res, err := c.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, scrub(err))
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: status %d", ErrUnavailable, res.StatusCode)
	}
	n, err := c.find(res.Body, suffix)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, fmt.Errorf("%w: %w", ErrUnavailable, ctxErr)
		}
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return n, nil
}

// scrub keeps the cause of a failed request but not its URL, which
// holds the prefix: an error is logged, and the prefix is the password's
// business.
func scrub(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return fmt.Errorf("%s: %w", u.Op, u.Err)
	}
	return err
}

// errMalformed is a line of an answer not in the form SUFFIX:COUNT.
var errMalformed = errors.New("answer not in the range protocol's form")

// find reads an answer, a line SUFFIX:COUNT for each suffix, and returns
// the count of suffix (0 when absent). Lines of count 0 are padding. The
// whole answer is read and checked, so that garbage is never taken for a
// clean password; more than Config.MaxResponseBytes is an error.
func (c *Checker) find(body io.Reader, suffix string) (int, error) {
	r := &countingReader{r: io.LimitReader(body, c.cfg.MaxResponseBytes+1)}
	tooLarge := func() bool { return r.n > c.cfg.MaxResponseBytes }
	found := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLineBytes), maxLineBytes)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		hash, count, ok := strings.Cut(s, ":")
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if !ok || len(hash) != suffixLength || !isHex(hash) || err != nil || n < 0 {
			if tooLarge() {
				break
			}
			return 0, errMalformed
		}
		if n > 0 && strings.EqualFold(hash, suffix) {
			found = n
		}
	}
	if tooLarge() {
		return 0, fmt.Errorf("answer over %d bytes", c.cfg.MaxResponseBytes)
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", errMalformed, err)
	}
	return found, nil
}

// maxLineBytes bounds a line of an answer: a suffix, a colon and a count
// take some 50 bytes.
const maxLineBytes = 256

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// isHex reports whether s holds hex digits only.
func isHex(s string) bool {
	for i := range len(s) {
		ch := s[i]
		if (ch < '0' || ch > '9') && (ch < 'a' || ch > 'f') && (ch < 'A' || ch > 'F') {
			return false
		}
	}
	return true
}
