package authkit

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// EventType names a security event. The names follow the OWASP Application
// Logging Vocabulary (authn_*, user_*, session_*) where it has one.
type EventType string

// The events the kit reports through Config.OnEvent.
const (
	EventUserCreated            EventType = "user_created"
	EventUserCreateFail         EventType = "user_create_fail"
	EventLoginSuccess           EventType = "authn_login_success"
	EventLoginFail              EventType = "authn_login_fail"
	EventEmailVerified          EventType = "authn_email_verified"
	EventVerificationRequested  EventType = "authn_verification_requested"
	EventPasswordResetRequested EventType = "authn_password_reset_requested"
	EventPasswordReset          EventType = "authn_password_reset"
	EventPasswordChange         EventType = "authn_password_change"
	EventPasswordChangeFail     EventType = "authn_password_change_fail"
	EventTokenInvalid           EventType = "authn_token_invalid" // #nosec G101 -- an event name, not a credential
	EventTokenReuse             EventType = "authn_token_reuse"   // #nosec G101 -- an event name, not a credential
	EventSessionCreated         EventType = "session_created"
	EventSessionRenewed         EventType = "session_renewed"
	EventSessionEnded           EventType = "session_ended"
	EventLogoutAll              EventType = "session_ended_all"
	EventUserDisabled           EventType = "user_disabled"
	EventUserEnabled            EventType = "user_enabled"
	EventUserDeleted            EventType = "user_deleted"
	EventMailFailed             EventType = "sys_mail_failed"
	EventRateLimited            EventType = "excess_rate_limit_exceeded"
	EventSecondFactorAdded      EventType = "authn_second_factor_added"
	EventSecondFactorRemoved    EventType = "authn_second_factor_removed"
	EventRecoveryCodeUsed       EventType = "authn_recovery_code_used"
	EventReauthenticated        EventType = "authn_reauthenticated"
)

// Event is one security-relevant outcome. It never carries a password, a
// token, a link or a hash.
type Event struct {
	Type EventType
	// Time is when it happened (Config.Now), UTC.
	Time time.Time
	// UserID is the user concerned, when known.
	UserID string
	// SessionID is the session concerned, when there is one.
	SessionID string
	// ClientAddr and UserAgent describe the client that caused it, when it
	// came from a request.
	ClientAddr string
	UserAgent  string
	// Reason is a short machine-readable cause for failures, such as
	// "unknown_email", "bad_password", "disabled", "expired".
	Reason string
	// Mail is the kind of message concerned, for EventMailFailed and the
	// *_requested events.
	Mail MessageKind
	// Recipient is the address of the message concerned, for
	// EventMailFailed only.
	Recipient string
}

// Client describes who made a request, for rate limits, events and
// sessions. The httpauth package fills it from the HTTP request; callers
// of the flows may leave it empty. Every field is the client's to choose:
// the kit cleans Addr and UserAgent (valid UTF-8, no control characters,
// bounded length) before they reach a Session or an Event, and Device
// reaches neither.
type Client struct {
	// Addr is the client's IP address. The per-address limits, and the
	// account's strict failure budget, count on its network (see
	// Limits.IPv6Prefix).
	Addr string
	// UserAgent is the client's User-Agent header.
	UserAgent string
	// Device is the device credential the client shows, as NewDeviceToken
	// issued it after an earlier sign-in (httpauth takes it from the login
	// body's device_token, else from the authkit_device cookie). Login and
	// ChangePassword read it: when it is a valid, unexpired credential of
	// the account concerned, the attempt spends the device's budget
	// (Limits.LoginFailuresDevice) instead of the account's, so that
	// guesses made elsewhere do not hold the device back. Anything else,
	// a credential of another account or deployment or an expired, forged
	// or malformed one, is ignored alike: the account's budgets apply, as
	// with none. Other flows ignore it.
	Device string
}

// Bounds of the Client fields as the kit keeps them.
const (
	maxUserAgentBytes  = 512
	maxClientAddrBytes = 64
)

// cleaned returns c fit to store and to report: each field valid UTF-8
// (invalid bytes become U+FFFD), without control characters (NUL, line
// breaks, …, which some databases refuse and some logs mistake for
// structure), and cut to its bound without splitting a character.
func (c Client) cleaned() Client {
	return Client{Addr: cleanText(c.Addr, maxClientAddrBytes), UserAgent: cleanText(c.UserAgent, maxUserAgentBytes)}
}

// cleanText is the cleaning of cleaned, for one field of at most n bytes.
func cleanText(s string, n int) string {
	clean := func(s string) bool {
		for _, r := range s {
			if r == utf8.RuneError || unicode.IsControl(r) {
				return false
			}
		}
		return true
	}
	if !clean(s) {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return truncate(s, n)
}

// emit reports an event to Config.OnEvent with the time and client filled in.
func (a *Authenticator) emit(ctx context.Context, c Client, e Event) {
	if a.cfg.OnEvent == nil {
		return
	}
	e.Time = a.now()
	c = c.cleaned()
	e.ClientAddr = c.Addr
	e.UserAgent = c.UserAgent
	a.cfg.OnEvent(ctx, e)
}
