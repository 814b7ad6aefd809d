package authkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limit is a rate limit: Burst events may happen at once, and the budget
// refills by one event every Every. The zero Limit means "the kit's
// default" where a Config field holds it; Off switches a limit off.
//
// Limits are kept with the generic cell rate algorithm (GCRA): per key the
// Limiter stores one time, the theoretical arrival time (TAT) of the next
// event, so a check is one atomic read-modify-write.
type Limit struct {
	Burst int
	Every time.Duration
	Off   bool
}

// Decide applies the limit to an event at now, given the key's stored TAT
// (the zero time for a key never seen). It returns the TAT to store if the
// event is allowed, whether it is, and, when it is not, how long until it
// would be. Limiter implementations use it so that every one decides alike.
func (l Limit) Decide(tat, now time.Time) (next time.Time, ok bool, retryAfter time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	tolerance := time.Duration(l.Burst-1) * l.Every
	if wait := tat.Sub(now) - tolerance; wait > 0 {
		return tat, false, wait
	}
	return tat.Add(l.Every), true, 0
}

// Limiter keeps rate-limit counters. Every Authenticator that shares a
// Limiter shares its budgets: pass a Store that implements it (memstore,
// sqlstore) so that all instances of a service count together. Methods must
// be safe for concurrent use and each check must be atomic: of 100
// concurrent Allow calls against a fresh key with a burst of 10, exactly 10
// succeed.
type Limiter interface {
	// Allow records one event for key at now if l allows it, and reports
	// whether it did; when it did not, retryAfter says how long until it
	// would. It is one atomic step.
	Allow(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Peek reports what Allow would answer, recording nothing.
	Peek(ctx context.Context, key string, l Limit, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Reset forgets the events of key.
	Reset(ctx context.Context, key string) error
	// DeleteStale deletes the counters of keys whose budget is whole again at
	// now (their TAT is not after now) and returns how many it deleted.
	DeleteStale(ctx context.Context, now time.Time) (int64, error)
}

// MemoryLimiter is a Limiter that keeps its counters in this process. The
// zero value is ready to use. Instances of a service that each keep their
// own MemoryLimiter each grant the whole budget: share a Store-backed
// Limiter instead.
type MemoryLimiter struct {
	mu   sync.Mutex
	tats map[string]time.Time
}

var _ Limiter = (*MemoryLimiter)(nil)

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(ctx context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next, ok, wait := l.Decide(m.tats[key], now)
	if ok {
		if m.tats == nil {
			m.tats = make(map[string]time.Time)
		}
		m.tats[key] = next
	}
	return ok, wait, nil
}

// Peek implements Limiter.
func (m *MemoryLimiter) Peek(ctx context.Context, key string, l Limit, now time.Time) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok, wait := l.Decide(m.tats[key], now)
	return ok, wait, nil
}

// Reset implements Limiter.
func (m *MemoryLimiter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.tats, key)
	return nil
}

// DeleteStale implements Limiter.
func (m *MemoryLimiter) DeleteStale(ctx context.Context, now time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
			n++
		}
	}
	return n, nil
}

// Limits are the rate limits of the flows. A zero field takes the default
// written beside it; set Off to switch one off. Per-address limits apply
// only when the flow is given a Client.Addr (httpauth always gives one),
// and count on the address's network, not on the address alone: see
// IPv6Prefix.
//
// The defaults follow NIST SP 800-63B §5.2.2 (no more than 100 consecutive
// failed attempts on one account; prefer delays over lockout) and the OWASP
// Authentication and Credential Stuffing Prevention cheat sheets (throttle
// per account and per source address, make lockouts soft and short, and
// do not let the limit reveal whether an account exists).
type Limits struct {
	// LoginFailures is the per-account budget of failed logins, keyed on
	// the normalized email whether or not the account exists. Default: 5 at
	// once, then one more per minute. Every attempt takes a unit before its
	// password is checked, so concurrent guesses cannot overrun it; a
	// successful login restores the whole budget. Wrong current passwords
	// given to ChangePassword spend the same budget.
	LoginFailures Limit
	// LoginFailuresSustained is a slower second budget on the same
	// failures, so that waits grow for a sustained attack: default 20 at
	// once, then one more per 30 minutes, which holds an attacker to at
	// most 68 tries in a day, under NIST's 100.
	LoginFailuresSustained Limit
	// LoginAddr bounds login attempts from one client network (see
	// IPv6Prefix). Default: 30 at once, then one every 2 seconds.
	LoginAddr Limit
	// RegisterAddr bounds registrations from one client network. Default:
	// 10 at once, then one every 6 minutes.
	RegisterAddr Limit
	// MailAddr bounds forgot-password and resend-verification requests
	// from one client network. Default: 10 at once, then one per minute.
	MailAddr Limit
	// MailEmail bounds the mail one address can be sent by
	// forgot-password and resend-verification, each counted on its own.
	// Beyond it the request still answers the same and simply sends
	// nothing. Default: 3 at once, then one every 20 minutes.
	MailEmail Limit
	// TokenAddr bounds refresh, verify-email and reset-password requests
	// from one client network. Default: 60 at once, then one per second.
	TokenAddr Limit

	// IPv4Prefix and IPv6Prefix are the lengths of the networks that the
	// per-address limits (LoginAddr, RegisterAddr, MailAddr, TokenAddr)
	// count on: every client address in one network spends the same
	// budget. If zero, 32 for IPv4 (each address counts on its own) and 64
	// for IPv6. New refuses an IPv4Prefix outside 1–32 and an IPv6Prefix
	// outside 1–128.
	//
	// Security: an IPv6 customer is given at least a /64 (often a /56 or a
	// /48), and a host picks its addresses in it freely (temporary
	// addresses, RFC 8981), so a budget per address would give one
	// attacker a fresh budget for each of 2^64 addresses. Addresses of the
	// same /64 therefore count as one client. A shorter IPv6Prefix, such as
	// 56 or 48, also holds attackers with larger allocations, at the price
	// of making their neighbours share the budget. IPv4 addresses are
	// scarce and already shared (NAT), so each is a client of its own
	// unless IPv4Prefix is set shorter. An IPv4-mapped IPv6 address
	// (::ffff:192.0.2.1) counts as the IPv4 address it maps, and an IPv6
	// zone (fe80::1%eth0) is ignored.
	//
	// A Client.Addr that is not an IP address (with or without a port)
	// cannot be placed in a network; all such addresses share one budget,
	// so that sending made-up values gains an attacker nothing. httpauth
	// always gives an IP address, except for a peer without one (a Unix
	// socket), which is then one client anyway.
	IPv4Prefix int
	IPv6Prefix int
}

// withDefaults fills in the zero limits.
func (l Limits) withDefaults() Limits {
	def := func(p *Limit, burst int, every time.Duration) {
		if *p == (Limit{}) {
			*p = Limit{Burst: burst, Every: every}
		}
	}
	def(&l.LoginFailures, 5, time.Minute)
	def(&l.LoginFailuresSustained, 20, 30*time.Minute)
	def(&l.LoginAddr, 30, 2*time.Second)
	def(&l.RegisterAddr, 10, 6*time.Minute)
	def(&l.MailAddr, 10, time.Minute)
	def(&l.MailEmail, 3, 20*time.Minute)
	def(&l.TokenAddr, 60, time.Second)
	setDefault(&l.IPv4Prefix, defaultIPv4Prefix)
	setDefault(&l.IPv6Prefix, defaultIPv6Prefix)
	return l
}

// check validates the limits that are on.
func (l Limits) check() error {
	for name, lim := range map[string]Limit{
		"LoginFailures": l.LoginFailures, "LoginFailuresSustained": l.LoginFailuresSustained,
		"LoginAddr": l.LoginAddr, "RegisterAddr": l.RegisterAddr, "MailAddr": l.MailAddr,
		"MailEmail": l.MailEmail, "TokenAddr": l.TokenAddr,
	} {
		if !lim.Off && (lim.Burst < 1 || lim.Every <= 0) {
			return configError("Limits.%s needs Burst ≥ 1 and Every > 0 (or Off)", name)
		}
	}
	if l.IPv4Prefix < 1 || l.IPv4Prefix > 32 {
		return configError("Limits.IPv4Prefix must be between 1 and 32 (or zero for %d)", defaultIPv4Prefix)
	}
	if l.IPv6Prefix < 1 || l.IPv6Prefix > 128 {
		return configError("Limits.IPv6Prefix must be between 1 and 128 (or zero for %d)", defaultIPv6Prefix)
	}
	return nil
}

// The default lengths of the networks per-address limits count on.
const (
	defaultIPv4Prefix = 32
	defaultIPv6Prefix = 64
)

// unplacedAddr is the value that every client address which is not an IP
// address is counted on. It cannot be the name of a network, which always
// holds a "/".
const unplacedAddr = "not-an-ip"

// clientNetwork returns the network that a per-address limit counts addr
// on, such as "2001:db8:1:2::/64" or "192.0.2.7/32": addr masked to
// l.IPv4Prefix or l.IPv6Prefix bits. It takes an IP address with or
// without a port or brackets ("192.0.2.7:443", "[2001:db8::1]:443",
// "[2001:db8::1]"); an IPv4-mapped IPv6 address counts as IPv4 and a zone
// is dropped. Anything else returns unplacedAddr, one budget for all: an
// attacker who can write arbitrary values into Client.Addr must not get a
// fresh budget for each.
func (l Limits) clientNetwork(addr string) string {
	ip, ok := parseIP(strings.TrimSpace(addr))
	if !ok {
		return unplacedAddr
	}
	bits := l.IPv6Prefix
	if ip.Is4() {
		bits = l.IPv4Prefix
	}
	p, err := ip.Prefix(bits)
	if err != nil { // only for a length out of range, which check refuses
		return unplacedAddr
	}
	return p.String()
}

// parseIP parses an IP address, with or without a port or brackets, and
// normalizes it: IPv4-mapped IPv6 folds to IPv4 and the zone is dropped.
func parseIP(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		switch {
		case perr == nil:
			ip = ap.Addr()
		case len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']':
			if ip, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	return ip.Unmap().WithZone(""), true
}

// RateLimitError is returned when a rate limit refuses a request. It
// unwraps to ErrRateLimited.
type RateLimitError struct {
	// RetryAfter is how long until the request would be allowed.
	RetryAfter time.Duration
}

// Error says how long to wait.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("authkit: rate limited: retry after %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// limitKey names the counter of a limit for a value (an email or an
// address). The value is hashed, so that the Limiter holds no email
// addresses and every key has the same short length.
func limitKey(name, value string) string {
	sum := sha256.Sum256([]byte(value))
	return name + ":" + hex.EncodeToString(sum[:16])
}

// allow takes one event from the named limit for value, returning a
// *RateLimitError when the budget is spent. An empty value (no client
// address) or a limit that is off always passes. For a per-address limit
// value is the client's address as given (Client.Addr): the count is kept
// on its network (see counterKey).
func (a *Authenticator) allow(ctx context.Context, c Client, name string, l Limit, value string) error {
	return a.check(ctx, c, name, l, value, a.cfg.Limiter.Allow)
}

// peek is allow without taking an event.
func (a *Authenticator) peek(ctx context.Context, c Client, name string, l Limit, value string) error {
	return a.check(ctx, c, name, l, value, a.cfg.Limiter.Peek)
}

// check applies decide (the Limiter's Allow or Peek) to the named limit
// for value, reporting a refusal as an event and a *RateLimitError.
func (a *Authenticator) check(ctx context.Context, c Client, name string, l Limit, value string,
	decide func(context.Context, string, Limit, time.Time) (bool, time.Duration, error)) error {
	if l.Off || value == "" {
		return nil
	}
	ok, wait, err := decide(ctx, a.counterKey(name, value), l, a.now())
	if err != nil {
		return fmt.Errorf("authkit: rate limit: %w", err)
	}
	if !ok {
		a.emit(ctx, c, Event{Type: EventRateLimited, Reason: name})
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

// counterKey names the Limiter's counter of the named limit for value.
// Every check and reset goes through it, so that no flow can count a
// per-address limit on a single address: for those the value, a client
// address, is replaced by its network (Limits.clientNetwork).
func (a *Authenticator) counterKey(name, value string) string {
	if perAddress(name) {
		value = a.cfg.Limits.clientNetwork(value)
	}
	return limitKey(name, value)
}

// perAddress reports whether the named limit is kept per client address.
func perAddress(name string) bool {
	switch name {
	case limitLoginAddr, limitRegisterAddr, limitMailAddr, limitTokenAddr:
		return true
	}
	return false
}

// Names of the limits, as they appear in limit keys and in the Reason of
// EventRateLimited. A limit kept per client address must be listed in
// perAddress.
const (
	limitLoginFailures          = "login_failures"
	limitLoginFailuresSustained = "login_failures_sustained"
	limitLoginAddr              = "login_addr"
	limitRegisterAddr           = "register_addr"
	limitMailAddr               = "mail_addr"
	limitForgotEmail            = "forgot_password_email"
	limitResendEmail            = "resend_verification_email"
	limitTokenAddr              = "token_addr"
)

// mailBudget spends one request of the client address's mail budget (when
// it is spent, the request is refused with a *RateLimitError) and one of
// the email's, named name. When the email's is spent, send is false but err
// is nil: the request answers as always and no mail goes out, so the limit
// tells nothing about the account.
func (a *Authenticator) mailBudget(ctx context.Context, c Client, name, email string) (send bool, err error) {
	if err := a.allow(ctx, c, limitMailAddr, a.cfg.Limits.MailAddr, c.Addr); err != nil {
		return false, err
	}
	err = a.allow(ctx, c, name, a.cfg.Limits.MailEmail, email)
	if errors.Is(err, ErrRateLimited) {
		return false, nil
	}
	return err == nil, err
}

// spendLoginFailure takes one unit of each of the account's failure
// budgets before its password is checked, and refuses with a
// *RateLimitError, checking nothing, when either is spent. It answers
// alike whether the account exists and whatever the password: a right
// password then gives the unit back (clearLoginFailures). Spending first,
// rather than counting failures after the check, is what holds concurrent
// guesses to the budget: each one needs a unit before it may run.
func (a *Authenticator) spendLoginFailure(ctx context.Context, c Client, email string) error {
	l := a.cfg.Limits
	// Look first, so that a request refused by one budget spends nothing
	// of the other; the Allows below are what decide under concurrency.
	if err := a.peek(ctx, c, limitLoginFailuresSustained, l.LoginFailuresSustained, email); err != nil {
		return err // the longer wait, when both budgets are spent
	}
	if err := a.peek(ctx, c, limitLoginFailures, l.LoginFailures, email); err != nil {
		return err
	}
	if err := a.allow(ctx, c, limitLoginFailures, l.LoginFailures, email); err != nil {
		return err
	}
	return a.allow(ctx, c, limitLoginFailuresSustained, l.LoginFailuresSustained, email)
}

// clearLoginFailures restores the account's budgets after a good login.
func (a *Authenticator) clearLoginFailures(ctx context.Context, email string) {
	for _, name := range []string{limitLoginFailures, limitLoginFailuresSustained} {
		if err := a.cfg.Limiter.Reset(ctx, a.counterKey(name, email)); err != nil {
			a.cfg.Logger.WarnContext(ctx, "authkit: clear login failures", "error", err)
		}
	}
}
