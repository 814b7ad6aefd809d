package authkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// A second factor: TOTP (RFC 6238) with recovery codes. Enrolment is
// StartTOTP then ConfirmTOTP; from then on Login answers with a
// *SecondFactorChallenge instead of tokens, and LoginSecondFactor finishes
// the sign-in with a code. Both ways end in signIn, like every sign-in.

// The RFC 8176 "amr" values a second factor adds to MethodPassword.
const (
	// MethodOTP ("otp") is a one-time code: a TOTP code or a recovery
	// code.
	MethodOTP = "otp"
	// MethodMFA ("mfa") says that more than one factor was used.
	MethodMFA = "mfa"
)

// TOTP parameters: those every authenticator app supports (RFC 6238's
// defaults, as Google Authenticator reads them).
const (
	totpPeriod     = 30 // seconds
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20 // bytes: 160 bits, RFC 4226's recommendation
	// totpSkew is how many steps either side of now a code may be from,
	// for clocks that drift.
	totpSkew = 1
)

// Second-step sign-in: how long a ticket works, and how many codes it
// may try.
const (
	secondFactorTicketTTL = 5 * time.Minute
	secondFactorAttempts  = 5
)

// Recovery codes: how many, and how long (base32 characters, 5 bits each:
// 60 bits per code).
const (
	recoveryCodeCount = 10
	recoveryCodeChars = 12
)

// purposeSecondFactor is the purpose of the ticket of a sign-in waiting for
// its second factor.
const purposeSecondFactor TokenPurpose = "second_factor"

// limitSecondFactorTicket counts the codes a ticket has tried.
const limitSecondFactorTicket = "second_factor_ticket"

// Errors of the second factor.
var (
	// ErrSecondFactorRequired means the password was right but the
	// account has a second factor: the error is a *SecondFactorChallenge
	// that carries the ticket to finish with LoginSecondFactor.
	ErrSecondFactorRequired = errors.New("authkit: second factor required")
	// ErrReauthenticationRequired means a sensitive change needs a sign-in
	// more recent than Config.ReauthenticationWindow: Reauthenticate
	// gives a fresh access token.
	ErrReauthenticationRequired = errors.New("authkit: recent authentication required")
	// ErrSecondFactorUnavailable means second factors are off: the Store
	// does not implement FactorStore, or Config.FactorKeys is empty.
	ErrSecondFactorUnavailable = errors.New("authkit: second factors are not available")
)

// SecondFactorChallenge is the error Login (and any other first step of a
// sign-in) returns when the account has a second factor: the password was
// right, and nothing else is revealed. Finish the sign-in with
// LoginSecondFactor(Ticket, code) within ExpiresIn; the ticket is good
// for one sign-in and a few codes. It unwraps to ErrSecondFactorRequired.
type SecondFactorChallenge struct {
	// Ticket is the secret that binds the second step to this password
	// check.
	Ticket string
	// ExpiresIn is how long Ticket works.
	ExpiresIn time.Duration
	// Methods are the kinds of code the account can give: "totp" and
	// "recovery_code".
	Methods []string
}

// Error returns ErrSecondFactorRequired's message.
func (c *SecondFactorChallenge) Error() string { return ErrSecondFactorRequired.Error() }

// Unwrap returns ErrSecondFactorRequired.
func (c *SecondFactorChallenge) Unwrap() error { return ErrSecondFactorRequired }

// TOTPEnrolment is what an authenticator app needs to start making codes:
// show QRCode, or Secret for typing.
type TOTPEnrolment struct {
	// Secret is the shared secret in base32, for typing into an app.
	Secret string
	// URI is the otpauth:// URI of the secret, which QRCode encodes.
	URI string
	// QRCode is a PNG image of URI as a data: URL, for an <img> element.
	QRCode string
}

// factors returns the Store's FactorStore when second factors are on.
func (a *Authenticator) factors() (FactorStore, error) {
	fs, ok := a.store.(FactorStore)
	if !ok || a.factorKeys == nil {
		return nil, ErrSecondFactorUnavailable
	}
	return fs, nil
}

// StartTOTP begins enrolling a TOTP second factor for the user that claims
// (an access token's verified claims) names: it stores a new secret,
// encrypted, as pending, and returns it for an authenticator app. Nothing
// changes for sign-in until ConfirmTOTP proves the app has it. It needs a
// recent authentication (ErrReauthenticationRequired), returns ErrConflict
// when the user already has a confirmed factor (remove it first), and
// ErrSecondFactorUnavailable when second factors are off.
func (a *Authenticator) StartTOTP(ctx context.Context, claims *Claims) (_ TOTPEnrolment, err error) {
	ctx, end := a.observe(ctx, FlowStartTOTP)
	defer func() { end(err) }()
	fs, err := a.factors()
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := a.requireRecent(claims); err != nil {
		return TOTPEnrolment{}, err
	}
	u, err := a.store.UserByID(ctx, claims.UserID)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("authkit: start totp: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: a.cfg.AppName, AccountName: u.Email,
		Period: totpPeriod, SecretSize: totpSecretSize, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("authkit: start totp: %w", err)
	}
	sealed, keyID, err := a.factorKeys.seal(u.ID, []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := fs.PutTOTP(ctx, TOTPFactor{UserID: u.ID, Secret: sealed, KeyID: keyID, CreatedAt: a.now()}); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("authkit: start totp: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("authkit: start totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, fmt.Errorf("authkit: start totp: qr code: %w", err)
	}
	return TOTPEnrolment{
		Secret: key.Secret(),
		URI:    key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// ConfirmTOTP makes the pending TOTP factor of the user active once code
// shows that the app makes the right codes, and returns the user's new
// recovery codes: show them once, they are stored only hashed. A wrong
// code is a *ValidationError with CodeWrongCode on "code"; no pending
// factor is ErrNotFound. The user gets a notice mail. When the Store fails
// on the way, the enrolment is abandoned (the factor removed), never left
// on without recovery codes: the user starts again with StartTOTP.
func (a *Authenticator) ConfirmTOTP(ctx context.Context, userID, code string, c Client) (_ []string, err error) {
	ctx, end := a.observe(ctx, FlowConfirmTOTP)
	defer func() { end(err) }()
	fs, err := a.factors()
	if err != nil {
		return nil, err
	}
	f, err := fs.TOTP(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("authkit: confirm totp: %w", err)
	}
	if !f.ConfirmedAt.IsZero() {
		return nil, fmt.Errorf("authkit: confirm totp: %w", ErrNotFound)
	}
	now := a.now()
	step, ok, err := a.matchTOTP(f, code, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fieldError("code", CodeWrongCode)
	}
	if err := fs.ConfirmTOTP(ctx, userID, now, step); err != nil {
		if !errors.Is(err, ErrNotFound) {
			a.abandonTOTP(ctx, fs, userID)
		}
		return nil, fmt.Errorf("authkit: confirm totp: %w", err)
	}
	codes, err := a.replaceRecoveryCodes(ctx, fs, userID, now)
	if err != nil {
		a.abandonTOTP(ctx, fs, userID)
		return nil, err
	}
	a.emit(ctx, c, Event{Type: EventSecondFactorAdded, UserID: userID})
	if u, err := a.store.UserByID(ctx, userID); err == nil {
		a.queueNoticeOf(u, MessageSecondFactorAdded, a.templates.SecondFactorAdded)
	}
	return codes, nil
}

// abandonTOTP removes the factor of an enrolment that failed once the
// factor may have been confirmed (a confirmation whose answer was lost
// took effect): a factor on without recovery codes, whose user was told
// that enrolment failed, could lock them out. The user starts again.
func (a *Authenticator) abandonTOTP(ctx context.Context, fs FactorStore, userID string) {
	ctx, cancel := a.detach(ctx)
	defer cancel()
	if err := fs.DeleteTOTP(ctx, userID); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "authkit: confirm totp: abandon the enrolment", "user_id", userID, "error", err)
	}
}

// RegenerateRecoveryCodes replaces the recovery codes of the user that
// claims names with new ones, spending the old set, and returns them. It
// needs a recent authentication and a confirmed factor (ErrNotFound).
func (a *Authenticator) RegenerateRecoveryCodes(ctx context.Context, claims *Claims) (_ []string, err error) {
	ctx, end := a.observe(ctx, FlowRegenerateRecoveryCodes)
	defer func() { end(err) }()
	fs, err := a.factors()
	if err != nil {
		return nil, err
	}
	if err := a.requireRecent(claims); err != nil {
		return nil, err
	}
	if _, err := a.confirmedTOTP(ctx, fs, claims.UserID); err != nil {
		return nil, err
	}
	return a.replaceRecoveryCodes(ctx, fs, claims.UserID, a.now())
}

// DisableTOTP removes the second factor (and recovery codes) of the user
// that claims names, at the user's own request. It needs a recent
// authentication; the user gets a notice mail.
func (a *Authenticator) DisableTOTP(ctx context.Context, claims *Claims, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowDisableTOTP)
	defer func() { end(err) }()
	if _, err := a.factors(); err != nil {
		return err
	}
	if err := a.requireRecent(claims); err != nil {
		return err
	}
	return a.RemoveSecondFactor(ctx, claims.UserID, c)
}

// RemoveSecondFactor removes the user's second factor and recovery codes,
// for an operator helping a user who lost both: it checks nothing but
// that the user exists, so call it only after proving who asks by other
// means. The user gets a notice mail.
func (a *Authenticator) RemoveSecondFactor(ctx context.Context, userID string, c Client) (err error) {
	ctx, end := a.observe(ctx, FlowRemoveSecondFactor)
	defer func() { end(err) }()
	fs, ok := a.store.(FactorStore)
	if !ok {
		return ErrSecondFactorUnavailable
	}
	u, err := a.store.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("authkit: remove second factor: %w", err)
	}
	if err := fs.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("authkit: remove second factor: %w", err)
	}
	a.emit(ctx, c, Event{Type: EventSecondFactorRemoved, UserID: userID})
	a.queueNoticeOf(u, MessageSecondFactorRemoved, a.templates.SecondFactorRemoved)
	return nil
}

// SecondFactorStatus says which second factor a user has.
type SecondFactorStatus struct {
	// TOTP is set when the user has a confirmed TOTP factor.
	TOTP bool
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int
}

// SecondFactor returns the user's second factor status, or
// ErrSecondFactorUnavailable when second factors are off.
func (a *Authenticator) SecondFactor(ctx context.Context, userID string) (SecondFactorStatus, error) {
	fs, err := a.factors()
	if err != nil {
		return SecondFactorStatus{}, err
	}
	f, err := fs.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && f.ConfirmedAt.IsZero()) {
		return SecondFactorStatus{}, nil
	}
	if err != nil {
		return SecondFactorStatus{}, fmt.Errorf("authkit: second factor: %w", err)
	}
	left, err := fs.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return SecondFactorStatus{}, fmt.Errorf("authkit: second factor: %w", err)
	}
	return SecondFactorStatus{TOTP: true, RecoveryCodesLeft: left}, nil
}

// secondFactorDue stops a sign-in whose proof lacks the second factor the
// account has confirmed: it returns a *SecondFactorChallenge with a new
// ticket for the second step. It fails closed: a Store that cannot say
// whether there is a factor stops the sign-in.
func (a *Authenticator) secondFactorDue(ctx context.Context, u User, methods []string) error {
	fs, ok := a.store.(FactorStore)
	if !ok || slices.Contains(methods, MethodOTP) {
		return nil
	}
	f, err := fs.TOTP(ctx, u.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("authkit: sign in: second factor: %w", err)
	case f.ConfirmedAt.IsZero():
		return nil
	}
	secret, err := newSecret()
	if err != nil {
		return err
	}
	// The ticket names the token version it was issued under, inside what
	// its hash covers: a password reset or change, or a logout everywhere,
	// between the two steps voids it.
	ticket := secret + "." + strconv.FormatInt(u.TokenVersion, 10)
	now := a.now()
	t := OneTimeToken{Hash: hashSecret(ticket), UserID: u.ID, Purpose: purposeSecondFactor, CreatedAt: now, ExpiresAt: now.Add(secondFactorTicketTTL)}
	if err := a.store.CreateToken(ctx, t); err != nil {
		return fmt.Errorf("authkit: sign in: second factor ticket: %w", err)
	}
	return &SecondFactorChallenge{Ticket: ticket, ExpiresIn: secondFactorTicketTTL, Methods: []string{"totp", "recovery_code"}}
}

// LoginSecondFactor finishes a sign-in that Login answered with a
// *SecondFactorChallenge: ticket is its Ticket, code a TOTP code of the
// user's app or one of their recovery codes. A right code signs the user
// in (amr "pwd", "otp", "mfa") and spends the ticket and, once and for
// all, the code: a TOTP code is accepted at most once, a recovery code
// only once (and the user gets a notice mail). A wrong code is
// ErrInvalidCredentials and spends, like a wrong password, a unit of the
// account's failure budgets (Limits); a ticket tries at most 5 codes. A
// ticket that is unknown, spent, or voided by a change of password since
// is ErrInvalidToken; an old one ErrTokenExpired.
func (a *Authenticator) LoginSecondFactor(ctx context.Context, ticket, code string, c Client) (_ Tokens, err error) {
	ctx, end := a.observe(ctx, FlowLoginSecondFactor)
	defer func() { end(err) }()
	fs, ok := a.store.(FactorStore)
	if !ok {
		return Tokens{}, ErrSecondFactorUnavailable
	}
	secret, version, found := strings.Cut(ticket, ".")
	ver, err := strconv.ParseInt(version, 10, 64)
	if !found || err != nil || secret == "" || len(ticket) > 128 {
		return Tokens{}, ErrInvalidToken
	}
	hash := hashSecret(ticket)
	t, err := a.store.Token(ctx, hash)
	switch {
	case errors.Is(err, ErrNotFound):
		return Tokens{}, ErrInvalidToken
	case err != nil:
		return Tokens{}, fmt.Errorf("authkit: second factor: %w", err)
	case t.Purpose != purposeSecondFactor || !t.UsedAt.IsZero():
		return Tokens{}, ErrInvalidToken
	case !a.now().Before(t.ExpiresAt):
		return Tokens{}, ErrTokenExpired
	}
	u, err := a.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return Tokens{}, ErrInvalidToken
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: second factor: %w", err)
	}
	if u.TokenVersion != ver {
		return Tokens{}, ErrInvalidToken
	}
	ticketBudget := Limit{Burst: secondFactorAttempts, Every: secondFactorTicketTTL}
	if err := a.allow(ctx, c, limitSecondFactorTicket, ticketBudget, hash); err != nil {
		return Tokens{}, err
	}
	g, err := a.spendGuess(ctx, c, NormalizeEmail(u.Email))
	if err != nil {
		return Tokens{}, err
	}
	recovery, err := a.useCode(ctx, fs, u, code)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			a.emit(ctx, c, Event{Type: EventLoginFail, UserID: u.ID, Reason: "bad_code"})
		}
		return Tokens{}, err
	}
	// The code was right: finish even if the client goes away.
	ctx, cancel := a.detach(ctx)
	defer cancel()
	a.guessedRight(ctx, g)
	if _, err := a.store.ConsumeToken(ctx, hash, purposeSecondFactor, a.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Tokens{}, ErrInvalidToken // another code won the race
		}
		return Tokens{}, fmt.Errorf("authkit: second factor: %w", err)
	}
	if recovery {
		a.emit(ctx, c, Event{Type: EventRecoveryCodeUsed, UserID: u.ID})
		a.queueNoticeOf(u, MessageRecoveryCodeUsed, a.templates.RecoveryCodeUsed)
	}
	return a.signIn(ctx, proof{user: u, methods: []string{MethodPassword, MethodOTP, MethodMFA}}, c)
}

// useCode accepts code for u, spending it: a TOTP code of a step not used
// before, or an unused recovery code (recovery set). Anything else is
// ErrInvalidCredentials.
func (a *Authenticator) useCode(ctx context.Context, fs FactorStore, u User, code string) (recovery bool, err error) {
	code = strings.TrimSpace(code)
	if len(code) == totpDigits.Length() {
		f, err := a.confirmedTOTP(ctx, fs, u.ID)
		if err != nil {
			return false, err
		}
		step, ok, err := a.matchTOTP(f, code, a.now())
		if err != nil {
			return false, err
		}
		if !ok {
			return false, ErrInvalidCredentials
		}
		switch err := fs.UseTOTPStep(ctx, u.ID, step); {
		case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			return false, ErrInvalidCredentials // a replay, or the factor went
		case err != nil:
			return false, fmt.Errorf("authkit: second factor: %w", err)
		}
		return false, nil
	}
	normalized, ok := normalizeRecoveryCode(code)
	if !ok {
		return false, ErrInvalidCredentials
	}
	switch err := fs.UseRecoveryCode(ctx, u.ID, hashSecret(normalized), a.now()); {
	case errors.Is(err, ErrNotFound):
		return false, ErrInvalidCredentials
	case err != nil:
		return false, fmt.Errorf("authkit: second factor: %w", err)
	}
	return true, nil
}

// confirmedTOTP returns the user's confirmed factor, or ErrNotFound.
func (a *Authenticator) confirmedTOTP(ctx context.Context, fs FactorStore, userID string) (TOTPFactor, error) {
	f, err := fs.TOTP(ctx, userID)
	if err == nil && f.ConfirmedAt.IsZero() {
		err = ErrNotFound
	}
	if err != nil {
		return TOTPFactor{}, fmt.Errorf("authkit: second factor: %w", err)
	}
	return f, nil
}

// matchTOTP reports whether code is f's code for a step within totpSkew
// of now, and which step. Steps at or before f.LastStep, already used,
// never match. Every candidate is computed and compared in constant time.
func (a *Authenticator) matchTOTP(f TOTPFactor, code string, now time.Time) (step int64, ok bool, err error) {
	if a.factorKeys == nil {
		return 0, false, ErrSecondFactorUnavailable
	}
	secret, err := a.factorKeys.open(f.UserID, f.Secret, f.KeyID)
	if err != nil {
		return 0, false, err
	}
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	current := now.Unix() / totpPeriod
	for s := current - totpSkew; s <= current+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(s*totpPeriod, 0), opts)
		if err != nil {
			return 0, false, fmt.Errorf("authkit: totp: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > f.LastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// replaceRecoveryCodes makes a new set of recovery codes for the user,
// stores their hashes in place of the old set, and returns them.
func (a *Authenticator) replaceRecoveryCodes(ctx context.Context, fs FactorStore, userID string, now time.Time) ([]string, error) {
	codes := make([]string, recoveryCodeCount)
	hashes := make([]string, recoveryCodeCount)
	for i := range codes {
		raw := make([]byte, recoveryCodeChars*5/8)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("authkit: random: %w", err)
		}
		plain := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw))[:recoveryCodeChars]
		hashes[i] = hashSecret(plain)
		codes[i] = plain[:recoveryCodeChars/2] + "-" + plain[recoveryCodeChars/2:]
	}
	if err := fs.ReplaceRecoveryCodes(ctx, userID, hashes, now); err != nil {
		return nil, fmt.Errorf("authkit: recovery codes: %w", err)
	}
	return codes, nil
}

// normalizeRecoveryCode takes a recovery code as typed (any case, with or
// without its dash and spaces) to the form that was hashed.
func normalizeRecoveryCode(code string) (string, bool) {
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) != recoveryCodeChars {
		return "", false
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return "", false
		}
	}
	return code, true
}

// requireRecent checks that claims, an access token's, come from an
// authentication within Config.ReauthenticationWindow (their auth_time),
// else ErrReauthenticationRequired.
func (a *Authenticator) requireRecent(claims *Claims) error {
	if claims == nil || claims.AuthTime == nil {
		return ErrReauthenticationRequired
	}
	return a.recent(claims.AuthTime.Time)
}

// recent checks that authTime is within Config.ReauthenticationWindow,
// else ErrReauthenticationRequired.
func (a *Authenticator) recent(authTime time.Time) error {
	if authTime.IsZero() || a.now().Sub(authTime) > a.cfg.ReauthenticationWindow {
		return ErrReauthenticationRequired
	}
	return nil
}

// recentIfSecondFactor requires a recent authentication (authTime) of a
// user who has a confirmed second factor: a stolen session must not
// change what guards the account.
func (a *Authenticator) recentIfSecondFactor(ctx context.Context, userID string, authTime time.Time) error {
	fs, ok := a.store.(FactorStore)
	if !ok {
		return nil
	}
	switch _, err := a.confirmedTOTP(ctx, fs, userID); {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return a.recent(authTime)
}

// Reauthenticate proves again, before a sensitive change, that the caller
// (claims, its access token's) is the account's owner: the password, and a
// code of the second factor when the account has one. It returns a fresh
// access token for the caller's session whose auth_time is now, which
// the sensitive changes accept for Config.ReauthenticationWindow; the
// session's refresh tokens keep its first sign-in's. A wrong password is a
// *ValidationError with CodeWrongPassword on "password", a wrong or
// missing code CodeWrongCode on "code"; both spend the failure budgets as
// a login does. A session that ended is ErrInvalidToken.
func (a *Authenticator) Reauthenticate(ctx context.Context, claims *Claims, password, code string, c Client) (_ Tokens, err error) {
	ctx, end := a.observe(ctx, FlowReauthenticate)
	defer func() { end(err) }()
	if password == "" {
		return Tokens{}, fieldError("password", CodeRequired)
	}
	u, err := a.store.UserByID(ctx, claims.UserID)
	if err != nil {
		return Tokens{}, fmt.Errorf("authkit: reauthenticate: %w", err)
	}
	if err := a.accountUsable(u); err != nil {
		return Tokens{}, err
	}
	s, err := a.liveSession(ctx, u.ID, claims.SessionID)
	if err != nil {
		return Tokens{}, err
	}
	g, err := a.spendGuess(ctx, c, NormalizeEmail(u.Email))
	if err != nil {
		return Tokens{}, err
	}
	ok, err := a.verifyPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrBusy) {
		return Tokens{}, err
	}
	if !ok || err != nil {
		return Tokens{}, fieldError("password", CodeWrongPassword)
	}
	methods := []string{MethodPassword}
	if fs, has := a.store.(FactorStore); has {
		switch _, err := a.confirmedTOTP(ctx, fs, u.ID); {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return Tokens{}, err
		default:
			recovery, err := a.useCode(ctx, fs, u, code)
			if errors.Is(err, ErrInvalidCredentials) {
				return Tokens{}, fieldError("code", CodeWrongCode)
			}
			if err != nil {
				return Tokens{}, err
			}
			if recovery {
				a.emit(ctx, c, Event{Type: EventRecoveryCodeUsed, UserID: u.ID})
				a.queueNoticeOf(u, MessageRecoveryCodeUsed, a.templates.RecoveryCodeUsed)
			}
			methods = []string{MethodPassword, MethodOTP, MethodMFA}
		}
	}
	a.guessedRight(ctx, g)
	now := a.now()
	s.AuthMethods, s.AuthTime = methods, now
	custom, err := a.customClaims(ctx, u, s)
	if err != nil {
		return Tokens{}, err
	}
	t := Tokens{SessionID: s.ID, User: u}
	if t.AccessToken, err = a.accessFor(u, s, custom, now, &t); err != nil {
		return Tokens{}, err
	}
	a.emit(ctx, c, Event{Type: EventReauthenticated, UserID: u.ID, SessionID: s.ID})
	return t, nil
}
