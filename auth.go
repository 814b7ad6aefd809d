package authkit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Authenticator runs the authentication flows over a Store and a Mailer.
// It is safe for concurrent use. Create it with New and stop it with Close,
// which drains the mail queue.
type Authenticator struct {
	cfg       Config
	store     Store
	keys      atomic.Pointer[keyring]
	hasher    PasswordHasher
	hashSlots chan struct{}
	dummyHash string
	templates Templates
	mail      *postOffice
	// factorKeys encrypt second factors' secrets; nil when
	// Config.FactorKeys is empty.
	factorKeys *factorKeyring
	// housekeeping runs Cleanup on a schedule; nil when it is off.
	housekeeping *housekeeper
	// users remembers the users Authenticate loaded, kept true by watcher;
	// nil when there is no cache (no watcher, or UserCacheTTL below zero).
	users     *userCache
	watcher   UserWatcher
	stopWatch func(context.Context) error
}

// New checks cfg, fills in its defaults and returns a ready Authenticator,
// with its mail workers running. Every error wraps ErrConfig.
func New(cfg Config) (*Authenticator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: c, store: c.Store, templates: c.Templates.merged()}
	if a.factorKeys, err = newFactorKeyring(c.FactorKeys); err != nil {
		return nil, err
	}
	if err := a.SetKeys(c.SigningKey, c.VerificationKeys...); err != nil {
		return nil, err
	}
	a.hasher = c.PasswordHasher
	if a.hasher == nil {
		if c.BcryptCost < 4 || c.BcryptCost > 31 {
			return nil, configError("BcryptCost must be between 4 and 31")
		}
		a.hasher = BcryptHasher{Cost: c.BcryptCost}
	}
	// Logins with an unknown email verify against this hash, so that they
	// cost the same as a wrong password.
	secret, err := newSecret()
	if err != nil {
		return nil, err
	}
	if a.dummyHash, err = a.hasher.Hash(secret); err != nil {
		return nil, fmt.Errorf("authkit: new: %w", err)
	}
	a.hashSlots = make(chan struct{}, c.MaxConcurrentHashes)
	a.mail = newPostOffice(a)
	if c.Observer.MailQueue != nil {
		c.Observer.MailQueue(a.mail.queued)
	}
	if c.Housekeeping > 0 {
		a.housekeeping = a.startHousekeeping(c.Housekeeping)
	}
	if a.watcher = c.userWatcher(); a.watcher != nil && c.UserCacheTTL > 0 {
		a.users = newUserCache(c.UserCacheTTL, c.UserCacheSize, c.Now)
		a.stopWatch = a.startUserCache(a.watcher)
	}
	return a, nil
}

// Close stops the housekeeping and the watching of users, stops accepting mail and waits until the
// queued messages are delivered or ctx ends; in that case it abandons the
// rest and returns an error that says how many were lost and wraps
// ctx.Err(). The Authenticator must not be used for flows that send mail
// after Close.
func (a *Authenticator) Close(ctx context.Context) error {
	err := errors.Join(a.housekeeping.close(ctx), a.mail.close(ctx))
	if a.stopWatch != nil {
		err = errors.Join(err, a.stopWatch(ctx))
	}
	return err
}

// bookkeepingTimeout bounds the steps a flow finishes after its client
// went away.
const bookkeepingTimeout = 10 * time.Second

// detach returns a context with ctx's values but not its cancellation,
// bounded by bookkeepingTimeout, for the steps a flow must finish once it
// has succeeded (giving back a failure budget, recording a session) even
// when the client goes away meanwhile.
func (a *Authenticator) detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
}

// now returns the current time as the kit stores it: UTC, to the microsecond.
func (a *Authenticator) now() time.Time {
	return a.cfg.Now().UTC().Truncate(time.Microsecond)
}

// Tokens is what a sign-in or a refresh returns.
type Tokens struct {
	// AccessToken is the signed JWT to send as "Authorization: Bearer …".
	AccessToken string
	// ExpiresIn is how long AccessToken lives.
	ExpiresIn time.Duration
	// RefreshToken is the opaque secret that Refresh takes to issue new
	// tokens. It is valid once: every refresh returns a new one.
	RefreshToken string
	// RefreshExpiresAt is when RefreshToken stops working, and
	// RefreshExpiresIn how long that is from the issue, by the
	// Authenticator's clock (Config.Now).
	RefreshExpiresAt time.Time
	RefreshExpiresIn time.Duration
	// SessionID names the session, as in the access token's "sid" claim.
	SessionID string
	// User is the signed-in user.
	User User
	// Device is a device credential for the signed-in account, to hand to
	// the client for its next logins (Client.Device): set by every sign-in
	// (Login, Register), zero after a refresh or a password change.
	Device DeviceToken
}

// User returns the user with id, or an error wrapping ErrNotFound.
func (a *Authenticator) User(ctx context.Context, id string) (User, error) {
	u, err := a.store.UserByID(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("authkit: user: %w", err)
	}
	return u, nil
}

// SetActive enables or disables an account. Disabling ends every session of
// the user and cuts off every access token issued before, at once. It
// returns an error wrapping ErrNotFound for an unknown id.
func (a *Authenticator) SetActive(ctx context.Context, userID string, active bool, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowSetActive)
	defer func() { end(err) }()
	upd := UserUpdate{Active: &active, UpdatedAt: a.now()}
	typ := EventUserEnabled
	if !active {
		upd.BumpTokenVersion, upd.EndSessions = true, true
		typ = EventUserDisabled
	}
	if _, err := a.updateUser(ctx, userID, upd); err != nil {
		return fmt.Errorf("authkit: set active: %w", err)
	}
	a.emit(ctx, c, Event{Type: typ, UserID: userID})
	return nil
}
