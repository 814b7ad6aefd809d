package authkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

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
//
// # Guessing a password
//
// Every login (and every current password given to ChangePassword) spends
// one unit of a failure budget before its password is checked, so that
// concurrent guesses cannot overrun the budget; a spent budget refuses
// with a *RateLimitError before any password is checked, the same for
// right and wrong passwords and for accounts that do not exist. Which
// budgets it spends depends on the client:
//
//   - A client that shows a known device of the account (Client.Device, a
//     credential that NewDeviceToken issued after an earlier sign-in)
//     spends LoginFailuresDevice, that device's own budget, and nothing of
//     the account's. Guesses made elsewhere never hold it back, which is
//     what keeps an attacker who knows the address from locking its owner
//     out (OWASP's device cookies).
//   - Any other client spends both of the account's budgets: the strict
//     LoginFailures, counted on the account and the client's network, and
//     the ceiling LoginFailuresSustained, counted on the account alone.
//     Each is looked at before either is spent, so a request that one
//     refuses spends nothing of the other.
//
// A right password restores the device's budget and the strict budget of
// the client's network, whole; it does not give back its unit of the
// ceiling. The ceiling counts passwords checked, right or wrong, so that
// no login of the owner's reopens the account to guessing: were it
// restored by the owner's logins, an attacker could guess a full burst
// after each of them. (A client that signs in to one account more than
// about 80 times a day without showing its device credential will find
// itself throttled; it should keep the credential, or refresh its tokens
// instead of logging in again.) A completed ResetPassword clears the ceiling and the
// strict budget of the network it came from; the strict budgets of other
// networks (the attacker's) refill on their own.
type Limits struct {
	// LoginFailures is the strict budget of login attempts on one account
	// from one client network (see IPv6Prefix): it is keyed on the
	// normalized email, whether or not the account exists, and the
	// client's network; with no Client.Addr, on the email alone. Default:
	// 5 at once, then one more per minute. Guesses from one network do not
	// spend another's budget; LoginFailuresSustained bounds them all.
	LoginFailures Limit
	// LoginFailuresSustained is the ceiling on the login attempts of one
	// account, keyed on the normalized email alone, from every network
	// together. Default: 20 at once, then one more per 18 minutes. In any
	// 24 hours GCRA allows at most Burst + 24h/Every attempts, so the
	// default holds an account to 20 + 80 = 100 passwords checked a day,
	// as NIST SP 800-63B §5.2.2 allows; clients with a known device do not
	// spend it.
	LoginFailuresSustained Limit
	// LoginFailuresDevice is the budget of login attempts from one known
	// device (Client.Device), keyed on the device, in place of the
	// account's budgets. Default: 10 at once, then one more per 18
	// minutes: at most 10 + 80 = 90 passwords checked a day, so that a
	// stolen device credential guesses no faster than the account's
	// ceiling allows. A right password restores it whole.
	LoginFailuresDevice Limit
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
	// and the strict account budget (LoginFailures) count on: every client
	// address in one network spends the same budget. If zero, 32 for IPv4
	// (each address counts on its own) and 64 for IPv6. New refuses an
	// IPv4Prefix outside 1–32 and an IPv6Prefix outside 1–128.
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
	def(&l.LoginFailuresSustained, 20, 18*time.Minute)
	def(&l.LoginFailuresDevice, 10, 18*time.Minute)
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
		"LoginFailuresDevice": l.LoginFailuresDevice, "LoginAddr": l.LoginAddr,
		"RegisterAddr": l.RegisterAddr, "MailAddr": l.MailAddr,
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
	limitLoginFailuresDevice    = "login_failures_device"
	limitLoginAddr              = "login_addr"
	limitRegisterAddr           = "register_addr"
	limitMailAddr               = "mail_addr"
	limitForgotEmail            = "forgot_password_email"
	limitResendEmail            = "resend_verification_email"
	limitTakenEmail             = "register_taken_email"
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
