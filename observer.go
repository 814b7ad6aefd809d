package authkit

import (
	"context"
	"time"
)

// Flow names one of the Authenticator's operations as an Observer sees it.
// The names are stable, lower-case words fit for span names and metric
// attributes.
type Flow string

// The flows an Observer sees, one per Authenticator method of the same name.
const (
	FlowRegister                Flow = "register"
	FlowLogin                   Flow = "login"
	FlowLoginSecondFactor       Flow = "login_second_factor"
	FlowReauthenticate          Flow = "reauthenticate"
	FlowRefresh                 Flow = "refresh"
	FlowLogout                  Flow = "logout"
	FlowLogoutAll               Flow = "logout_all"
	FlowEndSession              Flow = "end_session"
	FlowAuthenticate            Flow = "authenticate"
	FlowChangePassword          Flow = "change_password"
	FlowForgotPassword          Flow = "forgot_password"
	FlowResetPassword           Flow = "reset_password"
	FlowVerifyEmail             Flow = "verify_email"
	FlowResendVerification      Flow = "resend_verification"
	FlowDeclineRegistration     Flow = "decline_registration"
	FlowStartTOTP               Flow = "start_totp"
	FlowConfirmTOTP             Flow = "confirm_totp"
	FlowDisableTOTP             Flow = "disable_totp"
	FlowRemoveSecondFactor      Flow = "remove_second_factor"
	FlowRegenerateRecoveryCodes Flow = "regenerate_recovery_codes"
	FlowSetActive               Flow = "set_active"
	FlowCleanup                 Flow = "cleanup"
)

// Observer lets a host watch the kit at work, for tracing and metrics: the
// flows as they start and end, the wait for a password hashing slot, and
// the mail queue. Security events are not here: they go to
// Config.OnEvent, which an observing adapter chains with the host's own.
// The authotel package fills an Observer from OpenTelemetry.
//
// Every field is optional. A nil field costs the kit a nil check and
// nothing more, and the zero Observer observes nothing. The funcs are
// called synchronously, on the request path and from many goroutines at
// once: they must be fast, must not block, and must be safe for
// concurrent use. They receive no personal data: no email, password,
// token or hash.
type Observer struct {
	// Flow, if not nil, is called as a flow starts. The flow then runs
	// with the context Flow returns, so that a span it carries is the
	// parent of everything the flow does, Store calls included, and calls
	// end exactly once as it returns, with the error it returns (nil on
	// success). Flow must return a non-nil context and a non-nil end. A
	// flow may run inside another (DisableTOTP ends in
	// RemoveSecondFactor), and the housekeeping's Cleanup runs with
	// Flow too.
	Flow func(ctx context.Context, f Flow) (context.Context, func(err error))

	// HashWait, if not nil, is called each time a flow asks for a
	// password hashing slot (see Config.MaxConcurrentHashes), once it has
	// one or has given up: waited is how long it waited, zero when a slot
	// was free at once, and err is nil or the error the flow then
	// returns, which wraps ErrBusy.
	HashWait func(ctx context.Context, waited time.Duration, err error)

	// MailQueue, if not nil, is called once by New with a function that
	// reports how many messages wait in the mail queue now (at most
	// Config.MailQueueSize, plus the security notices that found it
	// full). That function is safe for concurrent use and cheap, for an
	// observable gauge to call when it is read. Messages given up are
	// reported as EventMailFailed.
	MailQueue func(queued func() int)
}

// observe starts flow f for the Observer, if it watches flows. The flow
// runs with the returned context and calls the returned func as it ends,
// with its error.
func (a *Authenticator) observe(ctx context.Context, f Flow) (context.Context, func(error)) {
	if a.cfg.Observer.Flow == nil {
		return ctx, endNothing
	}
	return a.cfg.Observer.Flow(ctx, f)
}

// endNothing is the end of a flow nobody observes.
func endNothing(error) {}

// observeHashWait reports a wait for a hashing slot to the Observer.
func (a *Authenticator) observeHashWait(ctx context.Context, started time.Time, err error) {
	if a.cfg.Observer.HashWait == nil {
		return
	}
	var waited time.Duration
	if !started.IsZero() {
		waited = time.Since(started)
	}
	a.cfg.Observer.HashWait(ctx, waited, err)
}

// queued reports how many messages wait for delivery.
func (p *postOffice) queued() int {
	p.noticeMu.Lock()
	n := len(p.notices)
	p.noticeMu.Unlock()
	return len(p.jobs) + n
}
