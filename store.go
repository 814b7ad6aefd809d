package authkit

import (
	"context"
	"time"
)

// User is an account as the Store keeps it.
type User struct {
	// ID is the user's identifier, a random UUID (version 4) in text form.
	ID string
	// Email is the normalized address: trimmed, lower-cased, NFC, with the
	// domain in its ASCII (IDNA) form (see NormalizeEmail). Stores compare
	// it case-insensitively as well.
	Email string
	// DisplayName is the name shown to people; the local part of the email
	// when none was given at registration.
	DisplayName string
	// PasswordHash is the encoded hash from the PasswordHasher (bcrypt's
	// modular crypt format by default). It is never marshaled to JSON, so a
	// host that writes a User out does not publish it.
	PasswordHash string `json:"-"`
	// Active is false for a disabled account, which can neither log in nor
	// use tokens issued before it was disabled.
	Active bool
	// EmailVerified is true once the user proved they receive mail at Email.
	EmailVerified bool
	// TokenVersion is copied into every access token. Raising it makes every
	// access token issued before invalid wherever the user is loaded.
	TokenVersion int64
	// CreatedAt and UpdatedAt are UTC.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserUpdate is a change to one user that Store.UpdateUser applies
// atomically: either all of it is written, or none of it. Nil fields are
// left as they are.
type UserUpdate struct {
	// PasswordHash, when set, replaces the stored hash.
	PasswordHash *string
	// IfPasswordHash, when non-empty, makes the whole update conditional on
	// the stored hash being exactly this value (a compare-and-swap). If it is
	// not, nothing is written and UpdateUser returns ErrConflict.
	IfPasswordHash string
	// DisplayName, when set, replaces the display name.
	DisplayName *string
	// Active, when set, enables or disables the account.
	Active *bool
	// EmailVerified, when set, replaces the verified flag.
	EmailVerified *bool
	// BumpTokenVersion adds one to TokenVersion.
	BumpTokenVersion bool
	// EndSessions deletes every session of the user except KeepSession (when
	// non-empty), in the same atomic step as the rest of the update.
	EndSessions bool
	// KeepSession names the one session EndSessions spares.
	KeepSession string
	// UpdatedAt is written to the user's UpdatedAt.
	UpdatedAt time.Time
}

// TokenPurpose says what a one-time token is for. A token is only ever
// accepted for the purpose it was made for. Purposes are Store plumbing:
// the flows choose them, and a Store keeps and compares them as opaque
// strings (the kit uses others of its own, unexported).
type TokenPurpose string

// The purposes of the one-time tokens that the kit mails, exported for
// Store implementations and their tests.
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposeResetPassword TokenPurpose = "reset_password"
)

// OneTimeToken is a single-use token as stored: only the SHA-256 of the
// secret the user receives is kept.
type OneTimeToken struct {
	// Hash is the lower-case hex SHA-256 of the token the user holds.
	Hash    string
	UserID  string
	Purpose TokenPurpose
	// CreatedAt and ExpiresAt are UTC. The Authenticator, not the Store,
	// decides what expiry means.
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is the zero time until the token is consumed.
	UsedAt time.Time
}

// Session is one signed-in device: the server side of a refresh token.
type Session struct {
	// ID is a random UUID; access tokens carry it as the "sid" claim.
	ID     string
	UserID string
	// RefreshHash is the lower-case hex SHA-256 of the refresh secret that
	// is valid now.
	RefreshHash string
	// PreviousHash is the hash of the refresh secret spent by the last
	// rotation, kept to recognize its reuse; empty before the first rotation.
	PreviousHash string
	// RotatedAt is when PreviousHash was spent; zero before the first rotation.
	RotatedAt time.Time
	// CreatedAt, LastUsedAt and ExpiresAt are UTC. ExpiresAt is when the
	// current refresh secret stops working.
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	// UserAgent and ClientAddr describe the client that signed in.
	UserAgent  string
	ClientAddr string
	// AuthMethods say how the user proved who they are when the session
	// began, as RFC 8176 "amr" values ("pwd", "otp", …) in the order they
	// were used; AuthTime is when (the "auth_time" of OpenID Connect).
	// Refresh keeps both. A Store keeps AuthMethods as given, in order;
	// nil and empty are alike.
	AuthMethods []string
	AuthTime    time.Time
}

// Store keeps users, one-time tokens and sessions. It is persistence only:
// it applies no policy, decides no expiry and normalizes nothing. Every method
// must be safe for concurrent use, including from several processes sharing
// one database, and must honour ctx. Methods take and return values, never
// pointers into the Store's own memory.
//
// Times are passed in UTC, truncated to the microsecond; a Store returns
// them equal (time.Equal) and in UTC, and a zero time (UsedAt, RotatedAt)
// comes back zero.
//
// The storetest package holds the conformance suite that every
// implementation must pass.
type Store interface {
	// CreateUser inserts u. It returns ErrAlreadyExists if a user with the
	// same ID, or with an email equal to u.Email ignoring case, exists. Under
	// concurrency exactly one of several creations of the same email succeeds.
	CreateUser(ctx context.Context, u User) error

	// UserByID returns the user with id, or ErrNotFound.
	UserByID(ctx context.Context, id string) (User, error)

	// UserByEmail returns the user whose email equals email ignoring case,
	// or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)

	// DeleteUser deletes the user with id and, in the same atomic step,
	// every one-time token and session of theirs (and, in a FactorStore,
	// their TOTP factor and recovery codes), so that nothing of the
	// account is left to use. Its email is free again at once. It returns
	// ErrNotFound if there is no such user; of several concurrent
	// deletions of one user exactly one succeeds.
	DeleteUser(ctx context.Context, id string) error

	// UpdateUser applies upd to the user with id atomically and returns the
	// user as it is afterwards. It returns ErrNotFound if there is no such
	// user, and ErrConflict if upd.IfPasswordHash is set and does not match.
	UpdateUser(ctx context.Context, id string, upd UserUpdate) (User, error)

	// CreateToken inserts t. It returns ErrAlreadyExists if a token with the
	// same hash exists.
	CreateToken(ctx context.Context, t OneTimeToken) error

	// ConsumeToken marks the unused token with hash and purpose as used at
	// now (never the zero time) and returns it (with UsedAt set). Of several concurrent calls for one
	// token exactly one succeeds; the others, and any call for a token that is
	// unknown, already used or of another purpose, get ErrNotFound. Expiry is
	// not checked.
	ConsumeToken(ctx context.Context, hash string, purpose TokenPurpose, now time.Time) (OneTimeToken, error)

	// Token returns the token with hash, used or not, or ErrNotFound.
	Token(ctx context.Context, hash string) (OneTimeToken, error)

	// DeleteUserTokens deletes every token of the user with the purpose,
	// used or not. It is not an error if there are none.
	DeleteUserTokens(ctx context.Context, userID string, purpose TokenPurpose) error

	// DeleteExpiredTokens deletes every token that expired before before and
	// returns how many it deleted.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error)

	// CreateSession inserts s. It returns ErrAlreadyExists if a session with
	// the same ID exists.
	CreateSession(ctx context.Context, s Session) error

	// Session returns the session with id, or ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)

	// UserSessions returns every session of the user, oldest first (ties
	// in CreatedAt by ID); an empty slice when there are none.
	UserSessions(ctx context.Context, userID string) ([]Session, error)

	// RotateSession replaces the refresh secret of session id, as one atomic
	// compare-and-swap: if the stored RefreshHash equals oldHash, it moves it
	// to PreviousHash, stores newHash, sets RotatedAt and LastUsedAt to now
	// and ExpiresAt to expires, and returns the session as it is afterwards.
	// It returns ErrNotFound if there is no such session and ErrConflict if
	// the stored hash differs, so of several concurrent rotations from one
	// hash exactly one succeeds.
	RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (Session, error)

	// DeleteSession deletes session id if it belongs to userID. It returns
	// ErrNotFound if there is no such session of that user.
	DeleteSession(ctx context.Context, userID, id string) error

	// DeleteExpiredSessions deletes every session whose ExpiresAt is before
	// now and, when idleBefore is not zero, every session last used before
	// idleBefore. It returns how many it deleted.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error)
}

// Second factors: TOTP (RFC 6238) and recovery codes.

// FactorStore is the storage of second factors: a Store that also
// implements it lets users enrol TOTP and recovery codes. It is optional,
// so that a Store written before it keeps compiling; the storetest suite
// runs its tests on every Store that implements it. Its methods keep the
// promises of Store: safe for concurrent use (also from several processes
// sharing one database), honouring ctx, values in and out (Secret is
// copied both ways), times in UTC to the microsecond. Store.DeleteUser
// deletes the user's factor and recovery codes in the same atomic step as
// the rest of the account.
type FactorStore interface {
	// PutTOTP stores f as the user's TOTP factor, pending (f.ConfirmedAt
	// zero): it replaces a pending one, and fails with ErrConflict when
	// the user already has a confirmed one. ErrNotFound when the user does
	// not exist. The factor is stored pending whatever f.ConfirmedAt and
	// f.LastStep hold: it comes back with ConfirmedAt zero and LastStep 0
	// until ConfirmTOTP.
	PutTOTP(ctx context.Context, f TOTPFactor) error

	// TOTP returns the user's TOTP factor, pending or confirmed, or
	// ErrNotFound.
	TOTP(ctx context.Context, userID string) (TOTPFactor, error)

	// ConfirmTOTP marks the user's pending factor confirmed at `at`, with
	// step as its last used time step; ErrNotFound when there is no
	// pending factor (none, or already confirmed).
	ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error

	// UseTOTPStep records that the code of time step `step` was accepted:
	// atomically, only if step is greater than the factor's LastStep (a
	// compare-and-swap), else ErrConflict (a replay, or a race lost).
	// ErrNotFound when the user has no confirmed factor.
	UseTOTPStep(ctx context.Context, userID string, step int64) error

	// DeleteTOTP removes the user's TOTP factor (pending or confirmed) and
	// all their recovery codes; no error when there was none.
	DeleteTOTP(ctx context.Context, userID string) error

	// ReplaceRecoveryCodes atomically replaces all of the user's recovery
	// codes (used or not) with new ones, given as hashes, created at `at`.
	// ErrNotFound when the user does not exist.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error

	// UseRecoveryCode marks the user's unused recovery code with this hash
	// used at `at`, atomically: of concurrent calls with one code exactly
	// one succeeds; the others, and a used or unknown code, get
	// ErrNotFound.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error

	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// TOTPFactor is a user's TOTP second factor as stored. The Store keeps
// Secret as opaque bytes: the Authenticator encrypts it (AES-GCM) before it
// gets here, under the key KeyID names.
type TOTPFactor struct {
	// UserID is the ID of the user the factor belongs to.
	UserID string
	// Secret is the ciphertext of the TOTP seed; at most
	// MaxTOTPSecretBytes (see CheckTOTPFactor).
	Secret []byte
	// KeyID names the key that encrypted Secret; at most
	// MaxTOTPKeyIDBytes.
	KeyID string
	// CreatedAt is when the factor was enrolled, UTC.
	CreatedAt time.Time
	// ConfirmedAt is when the user first proved they hold the seed, UTC;
	// zero while pending.
	ConfirmedAt time.Time
	// LastStep is the last accepted time step; 0 before any.
	LastStep int64
}
