package authkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Config configures an Authenticator. New copies it, so changing a Config
// after New has no effect. Every field documents what its zero value means.
type Config struct {
	// Store keeps users, tokens and sessions. Required.
	Store Store

	// Mailer sends the kit's messages (verification, reset, notices).
	// Required; LogMailer prints them for development.
	Mailer Mailer

	// Secret is the HS256 key that signs access tokens. It must be at least
	// 32 bytes of random data and must stay secret: whoever knows it can mint
	// tokens. Required unless SigningKey is set.
	Secret []byte

	// SigningKey signs new access tokens; when set, Secret signs nothing
	// (it may still key device credentials: see DeviceSecret).
	// VerificationKeys are extra keys that only verify, so that tokens signed
	// by a retired key keep working until it is removed.
	SigningKey       *Key
	VerificationKeys []*Key

	// DeviceSecret keys the device credentials that clients get when they
	// sign in (NewDeviceToken, Client.Device): a login that shows one is
	// held to that device's own budget of guesses, not to the account's,
	// so guesses made elsewhere cannot keep the owner out (see Limits). If
	// set, it must be at least 32 bytes of random data, kept secret like
	// Secret: whoever knows it can mint credentials, which buy guesses
	// (Limits.LoginFailuresDevice) but never access. If nil, the device
	// key is derived from Secret when it holds at least 32 bytes, else
	// from SigningKey's private key. Either way the key is derived (with
	// HMAC-SHA256 and a label of its own), never used raw, and fixed when
	// New runs: SetKeys does not change it.
	//
	// Changing the key's source (a new DeviceSecret, a new Secret, or a new
	// SigningKey when neither is set) forgets every device: their
	// credentials are ignored and they fall back to the account's budgets
	// until their next login. Nobody is locked out by it. Set DeviceSecret
	// if you rotate signing keys by restarting with a new one.
	DeviceSecret []byte

	// DeviceTTL is how long a device credential is good for after it was
	// issued; every login issues a fresh one. If zero, 180 days.
	DeviceTTL time.Duration

	// FactorKeys encrypt the secrets of second factors (TOTP) at rest: the
	// first encrypts, every one decrypts (see FactorKey for rotating
	// them). Second factors are on only when it holds a key and the Store
	// implements FactorStore; keep the keys as safe as the Secret, and
	// never drop one while a stored secret names it, or its users cannot
	// make codes (their recovery codes still work).
	FactorKeys []FactorKey

	// Housekeeping is how often the Authenticator deletes expired tokens,
	// sessions and rate-limit counters itself (Cleanup), from New until
	// Close. If zero, DefaultHousekeeping (hourly); a negative value
	// turns it off, for hosts that run Cleanup on a schedule of their own
	// (in one instance of many, say). The flows never depend on it: they
	// check expiry themselves.
	Housekeeping time.Duration

	// ReauthenticationWindow is how recent a sign-in must be (the access
	// token's auth_time) for a sensitive change: enrolling, disabling or
	// re-keying a second factor, and changing the password of an account
	// that has one. Older sessions get ErrReauthenticationRequired and
	// call Reauthenticate. If zero, 10 minutes.
	ReauthenticationWindow time.Duration

	// Issuer is the "iss" claim written into access tokens and required of
	// them. If empty, BaseURL (such as "https://app.example.com"), so that
	// no two deployments accept each other's tokens. Services that verify
	// the tokens (VerifierConfig.Issuer) must name the same value. Before
	// it followed BaseURL, the default was "authkit" for every deployment:
	// set it to "authkit" to keep accepting tokens issued then, or let
	// them be refused once, within AccessTokenTTL of the upgrade.
	Issuer string

	// Audience is the "aud" claim written into access tokens and required
	// of them, and their "client_id". If empty, BaseURL, as Issuer. Like
	// Issuer, it was "authkit" before, and VerifierConfig.Audience must
	// name the same value.
	Audience string

	// AccessTokenTTL is how long an access token lives. If zero, 15 minutes.
	// Access tokens cannot be recalled before they expire except by the
	// checks made where the user is loaded (token version, active flag), so
	// keep it short. (The seed design used 7 days.)
	AccessTokenTTL time.Duration

	// RefreshTokenTTL is how long a refresh token lives after it was issued;
	// each refresh issues a new one. If zero, 30 days.
	RefreshTokenTTL time.Duration

	// SessionMaxAge caps a session's whole life, however often it is
	// refreshed. If zero, 90 days.
	SessionMaxAge time.Duration

	// SessionIdleTimeout ends a session that was not refreshed for this
	// long. If zero, sessions do not expire from idleness (RefreshTokenTTL
	// still bounds them).
	SessionIdleTimeout time.Duration

	// RefreshReuseGrace is how long after a rotation the spent refresh token
	// is merely refused rather than treated as stolen. Two tabs refreshing at
	// once stay signed in; a replay after the grace ends the session. If
	// zero, 10 seconds.
	RefreshReuseGrace time.Duration

	// CheckSession makes Authenticate (and so httpauth's middleware) also
	// require, on every request, that the access token's session is live,
	// so that logging out or ending a session cuts off its access tokens at
	// once rather than when they expire. It costs one more Store read per
	// authenticated request. Off by default.
	CheckSession bool

	// TokenCacheBytes bounds the memory of the cache of access tokens
	// that verified: a token shown again (the same client's next request)
	// is not verified again but answered with the claims it verified to,
	// as long as it is within its validity (exp and nbf, with Leeway,
	// checked against Now on every use). Only tokens that verified enter
	// it, so made-up tokens cannot push good ones out; rotating or removing
	// keys (SetKeys) empties it, so no token outlives its key. It is what
	// makes a token's second check cheap: the user is still loaded and
	// checked on every request (Authenticate). It counts each token's
	// bytes, its claims' and 512 bytes for the rest. If zero,
	// DefaultTokenCacheBytes (16 MiB, about ten thousand tokens); below
	// zero, no cache.
	TokenCacheBytes int

	// UserCacheTTL is how long Authenticate may serve a user it loaded
	// from memory instead of reading the Store again, while a UserWatcher
	// (UserWatcher, or the Store when it is one) is watching for changes:
	// every change that cuts tokens off (a logout everywhere, a password
	// reset or change, a disabling, a deletion, or any other UpdateUser
	// but a timestamp's) drops the user at once on the instance that made
	// it and, through the watcher, within about a second on every other
	// instance. When the watcher cannot watch, every request reads the
	// Store until it recovers, so no instance serves a user it cannot
	// know to be current. If zero, DefaultUserCacheTTL (10 seconds) when
	// there is a watcher; below zero, no cache (a read per request).
	// Without a watcher there is never a cache.
	UserCacheTTL time.Duration

	// UserCacheSize bounds the users the cache holds. If zero,
	// DefaultUserCacheSize (ten thousand, a few megabytes).
	UserCacheSize int

	// UserWatcher tells this instance of the service when a user changed
	// on any instance (see UserCacheTTL). If nil, the Store when it
	// implements UserWatcher (memstore does, and sqlstore's engines do).
	UserWatcher UserWatcher

	// Leeway is the clock skew allowed when checking "exp", "nbf" and "iat".
	// If zero, 30 seconds.
	Leeway time.Duration

	// EmailVerificationTTL is how long an email verification link works.
	// If zero, 24 hours.
	EmailVerificationTTL time.Duration

	// ResetTTL is how long a password reset link works. If zero, 1 hour.
	ResetTTL time.Duration

	// PasswordHasher hashes and checks passwords. If nil, bcrypt with
	// BcryptCost.
	PasswordHasher PasswordHasher

	// BcryptCost is the cost of the default hasher. If zero, 12. Stored
	// hashes of a different cost are rehashed on the next successful login.
	// Tests may use bcrypt.MinCost (4).
	BcryptCost int

	// MinPasswordLength is the least number of characters (Unicode code
	// points) a new password must have. If zero, 8. Passwords over 72 bytes
	// are always refused: bcrypt would silently ignore the rest.
	MinPasswordLength int

	// PasswordPolicy decides whether a new password may be set, in every
	// flow that sets one, after the length rules (see PasswordPolicy for
	// when it runs and how its errors are reported). If nil,
	// DefaultPasswordPolicy: common passwords, the user's own details and
	// trivial patterns are refused. Add checks with PasswordPolicies (the
	// strength and breach subpackages have two); set NoPasswordPolicy to
	// turn the checks off.
	PasswordPolicy PasswordPolicy

	// MaxConcurrentHashes bounds how many password hashes run at once, so a
	// login flood cannot take every CPU from the host service. Callers beyond
	// the bound wait (honouring their context). If zero, max(1, CPUs-1).
	//
	// The trade: bcrypt runs for hundreds of milliseconds without yielding
	// but at Go's 10 ms preemption, so with every CPU hashing, each cheap
	// request queues behind them (measured on 2 cores: /me p99 went from
	// about 1 ms to 24 ms with 2 concurrent logins and 100 ms with 8).
	// Keeping one CPU free of hashing keeps the rest of the service fast at
	// the price of login throughput; set it to the number of CPUs on a
	// machine that does nothing but log users in.
	MaxConcurrentHashes int

	// MaxHashWait bounds how long a request waits for a hashing slot. Past
	// it the flow returns ErrBusy (httpauth: 503 with Retry-After) instead of
	// letting requests pile up. If zero, 2 seconds.
	MaxHashWait time.Duration

	// Limiter keeps the rate-limit counters. If nil, a MemoryLimiter local
	// to this process: set it to the Store (memstore and sqlstore implement
	// Limiter) so that every instance of the service shares one budget.
	Limiter Limiter

	// Limits are the rate limits of the flows; each zero field takes its
	// documented default, and each can be switched off.
	Limits Limits

	// RequireVerifiedEmail keeps an account whose email is not verified
	// out until it is: Login refuses it (ErrEmailNotVerified, only after
	// the right password); Register creates the account and sends the
	// verification mail but signs nobody in (Registered.SignedIn is false:
	// no access token, no refresh token, no session); Refresh and
	// Authenticate refuse it with ErrEmailNotVerified, so sessions and
	// access tokens issued before the option was set stop working too. Off
	// by default, like the seed design.
	RequireVerifiedEmail bool

	// RegisterQuietly makes Register tell nothing about whether an address
	// is registered: for a new address and a taken one alike it signs
	// nobody in and answers the same (Registered.User holds only the email
	// and display name given), and the owner of a taken address is mailed
	// that someone tried to register it. The new user signs in with Login,
	// after verifying when RequireVerifiedEmail is set. Off by default, as
	// the seed design: Register then answers ErrEmailTaken for a taken
	// address, which tells anyone who asks which addresses have accounts.
	RegisterQuietly bool

	// BaseURL is the absolute http(s) URL that links in emails start with,
	// such as "https://app.example.com". It is never taken from a request.
	// Required.
	BaseURL string

	// EmailVerificationPath and ResetPasswordPath are appended to BaseURL
	// to form the links in emails, followed by "?token=" and the token. If
	// empty, "/verify-email" and "/reset-password".
	EmailVerificationPath string
	ResetPasswordPath     string

	// AppName names the service in email subjects and bodies. If empty,
	// "authkit".
	AppName string

	// Templates replaces some or all of the email templates. Nil fields
	// keep the defaults.
	Templates *Templates

	// MailQueueSize bounds how many messages wait for delivery. When it is
	// full, new messages are dropped and reported (EventMailFailed); a
	// request never waits for mail. If zero, 1024.
	MailQueueSize int

	// MailWorkers is how many messages are sent at once. If zero, 2.
	MailWorkers int

	// MailMaxAttempts is how often a message is tried before it is given
	// up and reported. If zero, 5.
	MailMaxAttempts int

	// MailRetryDelay is the wait before the first retry; it doubles on each
	// further attempt, up to 5 minutes. If zero, 1 second.
	MailRetryDelay time.Duration

	// MailTimeout bounds one delivery attempt. If zero, 30 seconds.
	MailTimeout time.Duration

	// CustomClaims, if not nil, adds the host's own claims, such as a role
	// or a tenant, to every access token the kit issues for user u in
	// session s: at sign-in, at each refresh, after a password change and
	// at reauthentication. It is called on the request path before the
	// session is begun or renewed, so a refresh picks up a changed role;
	// an error from it fails the flow and leaves the session as it was
	// (after a password change, which is made by then, it only withholds
	// the new access token: the client refreshes).
	// The names must not be reserved (IsReservedClaim), the values must
	// be JSON, and their object at most MaxCustomClaimsBytes; claims that
	// break these rules fail the flow with ErrCustomClaims. Read them back
	// with Claims.Custom (httpauth.Claim in handlers). Like every claim
	// they are signed, not encrypted: the token's holder can read them.
	CustomClaims func(ctx context.Context, u User, s Session) (map[string]any, error)

	// OnEvent, if not nil, receives every security event (logins, failures,
	// resets, …) for audit logs and metrics. It is called synchronously on the
	// request path, so it must be fast and must not block. Events never carry
	// passwords, tokens, links or hashes.
	OnEvent func(ctx context.Context, e Event)

	// Observer, if any of its fields is set, is told of the flows, the
	// waits for a hashing slot and the mail queue, for tracing and
	// metrics (see Observer and the authotel package). The zero Observer
	// observes nothing and costs nothing.
	Observer Observer

	// Logger receives operational errors (a store failure, a mail given up).
	// If nil, nothing is logged.
	Logger *slog.Logger

	// Now returns the current time. If nil, time.Now. Tests set it to
	// control expiry.
	Now func() time.Time

	// deviceKey signs device credentials; withDefaults derives it.
	deviceKey []byte
}

// DefaultReauthenticationWindow is ReauthenticationWindow's default.
const DefaultReauthenticationWindow = 10 * time.Minute

// Default values of Config fields.
const (
	DefaultAccessTokenTTL        = 15 * time.Minute
	DefaultRefreshTokenTTL       = 30 * 24 * time.Hour
	DefaultSessionMaxAge         = 90 * 24 * time.Hour
	DefaultRefreshReuseGrace     = 10 * time.Second
	DefaultLeeway                = 30 * time.Second
	DefaultEmailVerificationTTL  = 24 * time.Hour
	DefaultResetTTL              = time.Hour
	DefaultBcryptCost            = 12
	DefaultMinPasswordLength     = 8
	MaxPasswordBytes             = 72
	DefaultMailQueueSize         = 1024
	DefaultMailWorkers           = 2
	DefaultMailMaxAttempts       = 5
	DefaultMailRetryDelay        = time.Second
	DefaultMailTimeout           = 30 * time.Second
	DefaultMaxHashWait           = 2 * time.Second
	DefaultDeviceTTL             = 180 * 24 * time.Hour
	minSecretBytes               = 32
	defaultEmailVerificationPath = "/verify-email"
	defaultResetPasswordPath     = "/reset-password"
	defaultAppName               = "authkit"
	maxMailRetryDelay            = 5 * time.Minute
)

// ErrConfig is the sentinel that every configuration error from New wraps.
var ErrConfig = errors.New("authkit: invalid config")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// withDefaults returns a copy of c with defaults filled in, or an error
// naming the first field that is wrong.
func (c Config) withDefaults() (Config, error) {
	if c.Store == nil {
		return c, configError("Store is required")
	}
	if c.Mailer == nil {
		return c, configError("Mailer is required")
	}
	if c.SigningKey == nil && len(c.Secret) < minSecretBytes {
		return c, configError("Secret must be at least %d bytes (or set SigningKey)", minSecretBytes)
	}
	if c.DeviceSecret != nil && len(c.DeviceSecret) < minSecretBytes {
		return c, configError("DeviceSecret must be at least %d bytes (or nil)", minSecretBytes)
	}
	for name, d := range map[string]time.Duration{
		"AccessTokenTTL": c.AccessTokenTTL, "RefreshTokenTTL": c.RefreshTokenTTL,
		"SessionMaxAge": c.SessionMaxAge, "SessionIdleTimeout": c.SessionIdleTimeout,
		"RefreshReuseGrace": c.RefreshReuseGrace, "Leeway": c.Leeway,
		"EmailVerificationTTL": c.EmailVerificationTTL, "ResetTTL": c.ResetTTL,
		"MailRetryDelay": c.MailRetryDelay, "MailTimeout": c.MailTimeout,
		"MaxHashWait": c.MaxHashWait, "DeviceTTL": c.DeviceTTL, "ReauthenticationWindow": c.ReauthenticationWindow,
	} {
		if d < 0 {
			return c, configError("%s must not be negative", name)
		}
	}
	for name, n := range map[string]int{
		"BcryptCost": c.BcryptCost, "MinPasswordLength": c.MinPasswordLength,
		"MaxConcurrentHashes": c.MaxConcurrentHashes, "MailQueueSize": c.MailQueueSize,
		"MailWorkers": c.MailWorkers, "MailMaxAttempts": c.MailMaxAttempts,
		"UserCacheSize": c.UserCacheSize,
	} {
		if n < 0 {
			return c, configError("%s must not be negative", name)
		}
	}
	if c.MinPasswordLength > MaxPasswordBytes {
		return c, configError("MinPasswordLength must be at most %d", MaxPasswordBytes)
	}
	u, err := url.Parse(c.BaseURL)
	if c.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, configError("BaseURL must be an absolute http or https URL")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")

	setDefault(&c.Issuer, c.BaseURL)
	setDefault(&c.Audience, c.BaseURL)
	setDefault(&c.AccessTokenTTL, DefaultAccessTokenTTL)
	setDefault(&c.RefreshTokenTTL, DefaultRefreshTokenTTL)
	setDefault(&c.SessionMaxAge, DefaultSessionMaxAge)
	setDefault(&c.RefreshReuseGrace, DefaultRefreshReuseGrace)
	setDefault(&c.Leeway, DefaultLeeway)
	setDefault(&c.EmailVerificationTTL, DefaultEmailVerificationTTL)
	setDefault(&c.ResetTTL, DefaultResetTTL)
	setDefault(&c.BcryptCost, DefaultBcryptCost)
	setDefault(&c.MinPasswordLength, DefaultMinPasswordLength)
	setDefault(&c.MaxConcurrentHashes, max(1, runtime.NumCPU()-1))
	setDefault(&c.EmailVerificationPath, defaultEmailVerificationPath)
	setDefault(&c.ResetPasswordPath, defaultResetPasswordPath)
	setDefault(&c.AppName, defaultAppName)
	setDefault(&c.ReauthenticationWindow, DefaultReauthenticationWindow)
	setDefault(&c.Housekeeping, DefaultHousekeeping)
	setDefault(&c.MailQueueSize, DefaultMailQueueSize)
	setDefault(&c.MailWorkers, DefaultMailWorkers)
	setDefault(&c.MailMaxAttempts, DefaultMailMaxAttempts)
	setDefault(&c.MailRetryDelay, DefaultMailRetryDelay)
	setDefault(&c.MailTimeout, DefaultMailTimeout)
	setDefault(&c.MaxHashWait, DefaultMaxHashWait)
	setDefault(&c.DeviceTTL, DefaultDeviceTTL)
	setDefault(&c.UserCacheTTL, DefaultUserCacheTTL)
	setDefault(&c.UserCacheSize, DefaultUserCacheSize)
	if c.deviceKey, err = deriveDeviceKey(c); err != nil {
		return c, err
	}
	if c.PasswordPolicy == nil {
		c.PasswordPolicy = DefaultPasswordPolicy
	}
	if c.Limiter == nil {
		c.Limiter = &MemoryLimiter{}
	}
	c.Limits = c.Limits.withDefaults()
	if err := c.Limits.check(); err != nil {
		return c, err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// setDefault sets *p to def when *p is the zero value.
func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
