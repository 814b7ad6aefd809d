package authkit

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
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
}

// New checks cfg, fills in its defaults and returns a ready Authenticator,
// with its mail workers running. Every error wraps ErrConfig.
func New(cfg Config) (*Authenticator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: c, store: c.Store, templates: c.Templates.merged()}
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
	return a, nil
}

// Close stops accepting mail and waits until the queued messages are
// delivered or ctx ends; in that case it abandons the rest and returns an
// error that says how many were lost and wraps ctx.Err(). The Authenticator
// must not be used for flows that send mail after Close.
func (a *Authenticator) Close(ctx context.Context) error {
	return a.mail.close(ctx)
}

// now returns the current time as the kit stores it: UTC, to the microsecond.
func (a *Authenticator) now() time.Time {
	return a.cfg.Now().UTC().Truncate(time.Microsecond)
}

// Tokens is what a successful register, login or refresh returns.
type Tokens struct {
	// AccessToken is the signed JWT to send as "Authorization: Bearer …".
	AccessToken string
	// ExpiresIn is how long AccessToken lives.
	ExpiresIn time.Duration
	// RefreshToken is the opaque secret that Refresh takes to issue new
	// tokens. It is valid once: every refresh returns a new one.
	RefreshToken string
	// RefreshExpiresAt is when RefreshToken stops working.
	RefreshExpiresAt time.Time
	// SessionID names the session, as in the access token's "sid" claim.
	SessionID string
	// User is the signed-in user.
	User User
}

// Registration is the input of Register.
type Registration struct {
	Email    string
	Password string
	// DisplayName is optional; if empty, the part of Email before the "@".
	DisplayName string
}

// Messages of input validation, in the seed design's (Django REST
// Framework's) wording.
const (
	msgInvalidEmail = "Enter a valid email address."
	msgTooLong255   = "Ensure this field has no more than 255 characters."
)

const (
	maxEmailLength       = 254
	maxDisplayNameLength = 255
)

// checkEmail validates an already normalized email.
func checkEmail(v *ValidationError, field, email string) {
	switch {
	case email == "":
		v.add(field, msgRequired)
	case !validEmail(email):
		v.add(field, msgInvalidEmail)
	}
}

// validEmail accepts a bare addr-spec with a dotted domain, as a sign-up
// form would: no display name, no comments, no white space.
func validEmail(email string) bool {
	if len(email) > maxEmailLength || strings.ContainsAny(email, " \t\r\n<>()\",;\\") {
		return false
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// Register creates an account, queues the verification email and signs the
// new user in. It returns a *ValidationError (wrapping ErrInvalidInput) for
// bad input and ErrEmailTaken if the normalized email is registered.
//
// With Config.RequireVerifiedEmail set, nobody is signed in: the returned
// Tokens hold only User (no access token, no refresh token, no session),
// and the user logs in once the emailed link has verified the address.
func (a *Authenticator) Register(ctx context.Context, r Registration, c Client) (Tokens, error) {
	email := NormalizeEmail(r.Email)
	name := strings.TrimSpace(r.DisplayName)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	a.checkPassword(v, "password", r.Password)
	checkDisplayName(v, "display_name", name)
	if err := v.err(); err != nil {
		return Tokens{}, err
	}
	if err := a.allow(ctx, c, limitRegisterAddr, a.cfg.Limits.RegisterAddr, c.Addr); err != nil {
		return Tokens{}, err
	}
	if name == "" {
		name = email[:strings.LastIndexByte(email, '@')]
	}
	hash, err := a.hashPassword(ctx, r.Password)
	if err != nil {
		return Tokens{}, err
	}
	id, err := newID()
	if err != nil {
		return Tokens{}, err
	}
	now := a.now()
	u := User{ID: id, Email: email, DisplayName: name, PasswordHash: hash, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := a.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrAlreadyExists) {
			return Tokens{}, ErrEmailTaken
		}
		return Tokens{}, fmt.Errorf("authkit: register: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventUserCreated, UserID: u.ID})
	a.queueLink(a.verificationMail(), a.byID(u.ID))
	if a.cfg.RequireVerifiedEmail {
		return Tokens{User: u}, nil
	}
	return a.startSession(ctx, u, c)
}

// msgDisplayNameControl refuses a display name with control characters.
const msgDisplayNameControl = "Display name must not contain control characters."

// checkDisplayName validates a trimmed display name: at most 255
// characters of valid UTF-8, and none that controls how text is laid out
// (C0 and C1 controls, line and paragraph separators, bidirectional
// overrides and isolates), which could forge lines in emails and logs or
// disguise the name where it is shown.
func checkDisplayName(v *ValidationError, field, name string) {
	if utf8.RuneCountInString(name) > maxDisplayNameLength || !utf8.ValidString(name) {
		v.add(field, msgTooLong255)
		return
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
			(r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') {
			v.add(field, msgDisplayNameControl)
			return
		}
	}
}

// Login checks an email and password and starts a session. Whatever the
// account's state, a wrong password returns ErrInvalidCredentials, and an
// unknown email costs the same password work as a wrong password. Only
// after the right password does it reveal ErrAccountDisabled or
// ErrEmailNotVerified.
func (a *Authenticator) Login(ctx context.Context, email, password string, c Client) (Tokens, error) {
	email = NormalizeEmail(email)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	switch {
	case password == "":
		v.add("password", msgRequired)
	case len(password) > MaxPasswordBytes:
		v.add("password", msgPasswordTooLong)
	}
	if err := v.err(); err != nil {
		return Tokens{}, err
	}
	if err := a.allow(ctx, c, limitLoginAddr, a.cfg.Limits.LoginAddr, c.Addr); err != nil {
		return Tokens{}, err
	}
	// One unit of the account's failure budgets is spent before any
	// password is checked, alike whether the account exists; a right
	// password gives it back. A spent budget refuses here.
	if err := a.spendLoginFailure(ctx, c, email); err != nil {
		return Tokens{}, err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		// Spend the same work as a wrong password, then fail alike.
		if _, err := a.verifyPassword(ctx, a.dummyHash, password); errors.Is(err, ErrBusy) {
			return Tokens{}, err
		}
		a.emit(ctx, c, Event{Type: EventLoginFail, Reason: "unknown_email"})
		return Tokens{}, ErrInvalidCredentials
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: login: %w", err)
	}
	ok, err := a.verifyPassword(ctx, u.PasswordHash, password)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return Tokens{}, err
		}
		a.cfg.Logger.ErrorContext(ctx, "authkit: login: unusable password hash", "user_id", u.ID, "error", err)
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "corrupt_hash"})
		return Tokens{}, ErrInvalidCredentials
	}
	if !ok {
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "bad_password"})
		return Tokens{}, ErrInvalidCredentials
	}
	a.clearLoginFailures(ctx, email)
	if !u.Active {
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "disabled"})
		return Tokens{}, ErrAccountDisabled
	}
	if a.cfg.RequireVerifiedEmail && !u.EmailVerified {
		a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "email_not_verified"})
		return Tokens{}, ErrEmailNotVerified
	}
	t, err := a.startSession(ctx, u, c)
	if err != nil {
		return Tokens{}, err
	}
	if err := a.confirmLogin(ctx, u, t.SessionID, c); err != nil {
		return Tokens{}, err
	}
	// Rehash only now: the check above must not take our own new hash for
	// a change of password.
	if a.hasher.NeedsRehash(u.PasswordHash) {
		a.rehash(ctx, u, password)
	}
	a.emit(ctx, c, Event{Type: EventLoginSuccess, UserID: u.ID, SessionID: t.SessionID})
	return t, nil
}

// confirmLogin makes sure that the account did not change under a login
// between its password check (against checked, the user as read then) and
// the creation of session sid. A password reset or change, a disabling or
// a logout everywhere each raise the token version in the same atomic step
// in which they end the user's sessions, so one that landed before the
// session was created shows here, and one that landed after it ended the
// session already. When the account changed, confirmLogin ends the session
// and returns ErrInvalidCredentials: the password checked may be the old
// one.
//
// The check is a write (a compare-and-swap on the password hash that
// writes only UpdatedAt), not a read: in a database, a write to the user's
// row waits for a change still in flight in another transaction and then
// sees it, where a read would see the row as it was and miss a change
// whose ending of sessions ran before this session was inserted.
func (a *Authenticator) confirmLogin(ctx context.Context, checked User, sid string, c Client) error {
	cur, err := a.store.UpdateUser(ctx, checked.ID, UserUpdate{IfPasswordHash: checked.PasswordHash, UpdatedAt: a.now()})
	if errors.Is(err, ErrConflict) {
		// The hash changed. A rehash by a concurrent login keeps the token
		// version; every other write of a hash raises it.
		cur, err = a.store.UserByID(ctx, checked.ID)
	}
	if err == nil && cur.Active && cur.TokenVersion == checked.TokenVersion {
		return nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("authkit: login: %w", err)
	} else {
		err = ErrInvalidCredentials
	}
	if derr := a.store.DeleteSession(ctx, checked.ID, sid); derr != nil && !errors.Is(derr, ErrNotFound) {
		a.cfg.Logger.ErrorContext(ctx, "authkit: login: end session of a changed account", "user_id", checked.ID, "error", derr)
		return fmt.Errorf("authkit: login: end session: %w", derr)
	}
	a.emit(ctx, c, Event{Type: EventLoginFail, UserID: checked.ID, SessionID: sid, Reason: "account_changed"})
	return err
}

// rehash replaces u's hash by one of the configured cost, unless the
// password changed meanwhile. A failure only leaves the old hash in place.
func (a *Authenticator) rehash(ctx context.Context, u User, password string) {
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		return
	}
	_, err = a.store.UpdateUser(ctx, u.ID, UserUpdate{PasswordHash: &hash, IfPasswordHash: u.PasswordHash, UpdatedAt: a.now()})
	if err != nil && !errors.Is(err, ErrConflict) {
		a.cfg.Logger.WarnContext(ctx, "authkit: rehash password", "user_id", u.ID, "error", err)
	}
}

// CurrentUser loads the user that verified access-token claims name and
// checks that the token still stands: the account is active and the token
// version is current. It returns ErrInvalidToken when the user is gone or
// the token was cut off (password reset or change, logout everywhere),
// ErrAccountDisabled for a disabled account, and, when
// Config.RequireVerifiedEmail is set, ErrEmailNotVerified for an address
// not yet verified.
func (a *Authenticator) CurrentUser(ctx context.Context, claims *Claims) (User, error) {
	u, err := a.store.UserByID(ctx, claims.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return User{}, ErrInvalidToken
	case err != nil:
		return User{}, fmt.Errorf("authkit: current user: %w", err)
	case !u.Active:
		return User{}, ErrAccountDisabled
	case u.TokenVersion != claims.TokenVersion:
		return User{}, ErrInvalidToken
	case a.cfg.RequireVerifiedEmail && !u.EmailVerified:
		return User{}, ErrEmailNotVerified
	}
	return u, nil
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
func (a *Authenticator) SetActive(ctx context.Context, userID string, active bool, c Client) error {
	upd := UserUpdate{Active: &active, UpdatedAt: a.now()}
	typ := EventUserEnabled
	if !active {
		upd.BumpTokenVersion, upd.EndSessions = true, true
		typ = EventUserDisabled
	}
	if _, err := a.store.UpdateUser(ctx, userID, upd); err != nil {
		return fmt.Errorf("authkit: set active: %w", err)
	}
	a.emit(ctx, c, Event{Type: typ, UserID: userID})
	return nil
}

// link builds an email link from Config.BaseURL, never from a request.
func (a *Authenticator) link(path, token string) string {
	return a.cfg.BaseURL + path + "?token=" + url.QueryEscape(token)
}

// newOneTimeToken stores a fresh token for the user and returns the secret
// to mail.
func (a *Authenticator) newOneTimeToken(ctx context.Context, userID string, p TokenPurpose, ttl time.Duration) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	now := a.now()
	t := OneTimeToken{Hash: hashSecret(secret), UserID: userID, Purpose: p, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return "", fmt.Errorf("authkit: create %s token: %w", p, err)
	}
	return secret, nil
}

// linkMail describes a message that carries a one-time link.
type linkMail struct {
	kind    MessageKind
	purpose TokenPurpose
	ttl     time.Duration
	path    string
	tmpl    *MailTemplate
	// wants reports whether the user should get the message at all.
	wants func(User) bool
}

// verificationMail is sent to active accounts not yet verified.
func (a *Authenticator) verificationMail() linkMail {
	return linkMail{MessageVerifyEmail, PurposeVerifyEmail, a.cfg.VerificationTTL, a.cfg.VerifyEmailPath, a.templates.VerifyEmail,
		func(u User) bool { return u.Active && !u.EmailVerified }}
}

// resetMail is sent to active accounts, as the seed design does.
func (a *Authenticator) resetMail() linkMail {
	return linkMail{MessageResetPassword, PurposeResetPassword, a.cfg.ResetTTL, a.cfg.ResetPasswordPath, a.templates.ResetPassword,
		func(u User) bool { return u.Active }}
}

// queueLink queues lm for the user that find returns. Off the request path,
// a worker finds the user, spends their older tokens of the purpose, stores
// a new one and renders the message; nothing is sent when there is no such
// user or lm.wants refuses them.
func (a *Authenticator) queueLink(lm linkMail, find func(ctx context.Context) (User, error)) {
	a.mail.post(mailJob{kind: lm.kind, build: func(ctx context.Context) (Message, bool, error) {
		u, err := find(ctx)
		if errors.Is(err, ErrNotFound) {
			return Message{}, false, nil
		}
		if err != nil || !lm.wants(u) {
			return Message{}, false, err
		}
		if err := a.store.DeleteUserTokens(ctx, u.ID, lm.purpose); err != nil {
			return Message{}, false, err
		}
		secret, err := a.newOneTimeToken(ctx, u.ID, lm.purpose, lm.ttl)
		if err != nil {
			return Message{}, false, err
		}
		return lm.tmpl.render(lm.kind, a.mailData(u, a.link(lm.path, secret), lm.ttl))
	}})
}

// byID and byEmail are the finders queueLink takes.
func (a *Authenticator) byID(id string) func(context.Context) (User, error) {
	return func(ctx context.Context) (User, error) { return a.store.UserByID(ctx, id) }
}

func (a *Authenticator) byEmail(email string) func(context.Context) (User, error) {
	return func(ctx context.Context) (User, error) { return a.store.UserByEmail(ctx, email) }
}

func (a *Authenticator) mailData(u User, link string, ttl time.Duration) MailData {
	return MailData{AppName: a.cfg.AppName, Email: u.Email, DisplayName: u.DisplayName, Link: link, ExpiresIn: humanDuration(ttl)}
}

// humanDuration says d in words: "24 hours", "1 hour", "30 minutes".
func humanDuration(d time.Duration) string {
	unit, n := "minute", int64(d/time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// ResendVerification queues a fresh verification link for an unverified
// account, spending the older links. It answers the same, at once, whether
// or not the account exists and whatever its state; the lookup happens off
// the request path. Only malformed input is an error.
func (a *Authenticator) ResendVerification(ctx context.Context, email string, c Client) error {
	email = NormalizeEmail(email)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	if err := v.err(); err != nil {
		return err
	}
	if send, err := a.mailBudget(ctx, c, limitResendEmail, email); !send {
		return err
	}
	a.emit(ctx, c, Event{Type: EventVerificationRequested, Mail: MessageVerifyEmail})
	a.queueLink(a.verificationMail(), a.byEmail(email))
	return nil
}

// VerifyEmail spends a verification token and marks the address verified.
// A token that was already spent on an address that is now verified is not
// an error: alreadyVerified is true, so a link opened twice (by a mail
// scanner first, say) still answers success. Otherwise it returns
// ErrInvalidToken or ErrTokenExpired.
func (a *Authenticator) VerifyEmail(ctx context.Context, token string, c Client) (alreadyVerified bool, err error) {
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return false, err
	}
	if token == "" || len(token) > 512 {
		return false, ErrInvalidToken
	}
	hash := hashSecret(token)
	now := a.now()
	t, err := a.store.ConsumeToken(ctx, hash, PurposeVerifyEmail, now)
	if errors.Is(err, ErrNotFound) {
		if a.spentOnVerified(ctx, hash) {
			return true, nil
		}
		a.emit(ctx, c, Event{Type: EventTokenInvalid, Reason: "verify_email"})
		return false, ErrInvalidToken
	}
	if err != nil {
		return false, fmt.Errorf("authkit: verify email: %w", err)
	}
	if now.After(t.ExpiresAt) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: t.UserID, Reason: "expired"})
		return false, ErrTokenExpired
	}
	verified := true
	if _, err := a.store.UpdateUser(ctx, t.UserID, UserUpdate{EmailVerified: &verified, UpdatedAt: now}); err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, ErrInvalidToken
		}
		return false, fmt.Errorf("authkit: verify email: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventEmailVerified, UserID: t.UserID})
	return false, nil
}

// spentOnVerified reports whether hash names a verification token that was
// used and whose user is verified now.
func (a *Authenticator) spentOnVerified(ctx context.Context, hash string) bool {
	t, err := a.store.Token(ctx, hash)
	if err != nil || t.Purpose != PurposeVerifyEmail || t.UsedAt.IsZero() {
		return false
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	return err == nil && u.EmailVerified
}

// ForgotPassword queues a password reset link for an active account,
// spending older reset links. It answers the same, at once, whether or not
// the account exists; the lookup happens off the request path. Only
// malformed input is an error.
func (a *Authenticator) ForgotPassword(ctx context.Context, email string, c Client) error {
	email = NormalizeEmail(email)
	v := &ValidationError{}
	checkEmail(v, "email", email)
	if err := v.err(); err != nil {
		return err
	}
	if send, err := a.mailBudget(ctx, c, limitForgotEmail, email); !send {
		return err
	}
	a.emit(ctx, c, Event{Type: EventPasswordResetRequested, Mail: MessageResetPassword})
	a.queueLink(a.resetMail(), a.byEmail(email))
	return nil
}

// ResetPassword spends a reset token and sets a new password. In one atomic
// step it also marks the email verified (the mail proved it), ends every
// session of the user and cuts off every access token issued before. It
// signs nobody in. It returns a *ValidationError for a password that breaks
// the policy (the token is not spent then), and ErrInvalidToken or
// ErrTokenExpired for a bad token.
func (a *Authenticator) ResetPassword(ctx context.Context, token, password string, c Client) error {
	v := &ValidationError{}
	if token == "" {
		v.add("token", msgRequired)
	}
	a.checkPassword(v, "password", password)
	if err := v.err(); err != nil {
		return err
	}
	if err := a.allow(ctx, c, limitTokenAddr, a.cfg.Limits.TokenAddr, c.Addr); err != nil {
		return err
	}
	if len(token) > 512 {
		return ErrInvalidToken
	}
	hash := hashSecret(token)
	now := a.now()
	// Look before hashing, so that bogus tokens cost no password work; the
	// token is spent atomically below.
	if t, err := a.store.Token(ctx, hash); err != nil || t.Purpose != PurposeResetPassword || !t.UsedAt.IsZero() {
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("authkit: reset password: %w", err)
		}
		a.emit(ctx, c, Event{Type: EventTokenInvalid, Reason: "reset_password"})
		return ErrInvalidToken
	}
	newHash, err := a.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	t, err := a.store.ConsumeToken(ctx, hash, PurposeResetPassword, now)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: reset password: %w", err)
	}
	if now.After(t.ExpiresAt) {
		a.emit(ctx, c, Event{Type: EventTokenInvalid, UserID: t.UserID, Reason: "expired"})
		return ErrTokenExpired
	}
	verified := true
	u, err := a.store.UpdateUser(ctx, t.UserID, UserUpdate{
		PasswordHash: &newHash, EmailVerified: &verified,
		BumpTokenVersion: true, EndSessions: true, UpdatedAt: now,
	})
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("authkit: reset password: %w", err)
	}
	if err := a.store.DeleteUserTokens(ctx, u.ID, PurposeResetPassword); err != nil {
		a.cfg.Logger.WarnContext(ctx, "authkit: reset password: delete spare tokens", "user_id", u.ID, "error", err)
	}
	a.emit(ctx, c, Event{Type: EventPasswordReset, UserID: u.ID})
	a.queueNotice(u)
	return nil
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	// UserID is the signed-in user.
	UserID string
	// SessionID is the caller's session, which survives the change; every
	// other session ends. Empty ends them all.
	SessionID       string
	CurrentPassword string
	NewPassword     string
}

// msgWrongCurrentPassword is the message for a wrong current password.
const msgWrongCurrentPassword = "Current password is incorrect."

// ChangePassword checks the current password and sets a new one. In one
// atomic step it ends every other session of the user and cuts off every
// access token issued before, including the caller's: when SessionID is
// given and that session still stands, the returned Tokens hold a fresh
// access token for it (and no refresh token: the session's stays valid).
// A wrong current password is a *ValidationError on "current_password".
//
// Wrong current passwords spend the same per-account failure budgets as
// failed logins (Config.Limits.LoginFailures and LoginFailuresDaily), so a
// stolen access token cannot be used to guess the password; when they are
// spent, ChangePassword returns a *RateLimitError without checking it. A
// disabled account gets ErrAccountDisabled.
func (a *Authenticator) ChangePassword(ctx context.Context, pc PasswordChange, c Client) (Tokens, error) {
	v := &ValidationError{}
	if pc.CurrentPassword == "" {
		v.add("current_password", msgRequired)
	}
	a.checkPassword(v, "new_password", pc.NewPassword)
	if err := v.err(); err != nil {
		return Tokens{}, err
	}
	u, err := a.store.UserByID(ctx, pc.UserID)
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: change password: %w", err)
	}
	if !u.Active {
		return Tokens{}, ErrAccountDisabled
	}
	if err := a.spendLoginFailure(ctx, c, u.Email); err != nil {
		return Tokens{}, err
	}
	ok, err := a.verifyPassword(ctx, u.PasswordHash, pc.CurrentPassword)
	if errors.Is(err, ErrBusy) {
		return Tokens{}, err
	}
	if !ok || err != nil {
		a.emit(ctx, c, Event{Type: EventPasswordChangeFail, UserID: u.ID, SessionID: pc.SessionID, Reason: "bad_password"})
		return Tokens{}, fieldError("current_password", msgWrongCurrentPassword)
	}
	a.clearLoginFailures(ctx, u.Email)
	newHash, err := a.hashPassword(ctx, pc.NewPassword)
	if err != nil {
		return Tokens{}, err
	}
	now := a.now()
	u, err = a.store.UpdateUser(ctx, u.ID, UserUpdate{
		PasswordHash: &newHash, IfPasswordHash: u.PasswordHash,
		BumpTokenVersion: true, EndSessions: true, KeepSession: pc.SessionID, UpdatedAt: now,
	})
	if errors.Is(err, ErrConflict) {
		// The password changed since it was checked: the one given is no
		// longer the current one.
		return Tokens{}, fieldError("current_password", msgWrongCurrentPassword)
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: change password: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventPasswordChange, UserID: u.ID, SessionID: pc.SessionID})
	a.queueNotice(u)
	t := Tokens{User: u}
	if pc.SessionID != "" && a.sessionStands(ctx, u.ID, pc.SessionID) {
		t.SessionID = pc.SessionID
		if t.AccessToken, err = a.accessFor(u, pc.SessionID, now, &t); err != nil {
			return Tokens{}, err
		}
	}
	return t, nil
}

// sessionStands reports whether the user still has session sid, so that no
// access token is issued for a session that ended meanwhile (by a logout
// everywhere that raced a password change, say). A store error counts as
// no.
func (a *Authenticator) sessionStands(ctx context.Context, userID, sid string) bool {
	s, err := a.store.Session(ctx, sid)
	return err == nil && s.UserID == userID && a.sessionLive(s, a.now())
}

// queueNotice queues the password-changed notice to u.
func (a *Authenticator) queueNotice(u User) {
	a.mail.post(mailJob{kind: MessagePasswordChanged, build: func(context.Context) (Message, bool, error) {
		return a.templates.PasswordChanged.render(MessagePasswordChanged, a.mailData(u, "", 0))
	}})
}
