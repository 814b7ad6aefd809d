package httpauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/authkit/authkit"
)

// Problem codes: the machine-readable "code" member of every error body.
const (
	codeInvalidInput         = "invalid_input"
	codeEmailTaken           = "email_taken"
	codeInvalidCredentials   = "invalid_credentials" // #nosec G101 -- a problem code, not a credential
	codeAccountDisabled      = "account_disabled"
	codeEmailNotVerified     = "email_not_verified"
	codeInvalidToken         = "invalid_token"
	codeTokenExpired         = "token_expired"
	codeUnauthorized         = "unauthorized"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeBodyTooLarge         = "body_too_large"
	codeUnavailable          = "unavailable"
	codeRateLimited          = "rate_limited"
	codeCrossOrigin          = "cross_origin"
	codeSecondFactor         = "second_factor_required"
	codeReauthenticate       = "reauthentication_required"
	codeInsufficientAuth     = "insufficient_authentication"
	codeConflict             = "conflict"
	codeInternal             = "internal"
)

// Details: the human-readable "detail" member, in the seed design's words
// where it has them.
const (
	detailInvalidInput       = "Invalid input."
	detailEmailTaken         = "Email already registered"
	detailInvalidCredentials = "Invalid email or password"
	detailAccountDisabled    = "User account is disabled"
	detailEmailNotVerified   = "Email address is not verified"
	detailNoCredentials      = "Authentication credentials were not provided."
	detailBadBearer          = "Invalid or expired token" // #nosec G101 -- a message, not a credential
	detailInactiveUser       = "User not found or inactive"
	detailBadReset           = "Invalid or expired reset token"
	detailBadVerification    = "Invalid verification token"
	detailExpiredVerify      = "Verification token expired"
	detailBadRefresh         = "Invalid or expired refresh token"
	detailBadToken           = "Invalid or expired token" // #nosec G101 -- a message, not a credential
	detailNotFound           = "Not found."
	detailCrossOrigin        = "Cross-origin request refused."
	detailSecondFactor       = "Enter a code from your authenticator app to finish signing in."
	detailReauthenticate     = "Confirm your password to continue."
	detailInsufficientAuth   = "This needs a sign-in with a second factor."
	detailConflict           = "This conflicts with the account's current state."
	detailMethodNotAllowed   = "Method not allowed."
	detailMediaType          = "Request body must be JSON (Content-Type: application/json)."
	detailTooLarge           = "Request body is too large."
	detailUnavailable        = "The service is busy; try again shortly."
	detailRateLimited        = "Too many requests; try again later."
	detailInternal           = "An internal error occurred."
)

// retryAfterBusy is the Retry-After, in seconds, sent with 503 unavailable.
const retryAfterBusy = "1"

// problem is an RFC 9457 problem detail about to be written, with the
// headers that go with it.
type problem struct {
	status int
	code   string
	detail string
	fields map[string][]string
	// challenge is the WWW-Authenticate value of a 401.
	challenge string
	// retryAfter is the Retry-After value, in seconds.
	retryAfter string
	// secondStep is the second step a sign-in awaits (code
	// second_factor_required).
	secondStep *authkit.SecondFactorChallenge
}

// problemBody is the JSON form of a problem.
type problemBody struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Fields map[string][]string `json:"fields,omitempty"`
	// The second step of a sign-in (code second_factor_required).
	Ticket    string   `json:"ticket,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	ExpiresIn int64    `json:"expires_in,omitempty"`
}

// tokenUse says which kind of token an endpoint takes, since the seed design
// words invalid and expired tokens differently for each.
type tokenUse int

const (
	useNone tokenUse = iota
	useBearer
	useRefresh
	useReset
	useVerify
	useTicket // the ticket of a sign-in's second step
)

// problemError is an error that is already worded as a problem: one found
// in the request itself (its media type, size or JSON) before any flow
// ran, or an answer an endpoint words on its own.
type problemError struct{ p problem }

func (e *problemError) Error() string { return "httpauth: " + e.p.code }

// Bearer challenges (RFC 6750, section 3).
const (
	challengeBearer       = "Bearer"
	challengeInvalidToken = `Bearer error="invalid_token"` // #nosec G101 -- an RFC 6750 challenge, not a credential
)

// errCrossOrigin refuses a state-changing request that a browser made from
// another origin than the API's and than every trusted one (cookie mode).
var errCrossOrigin = &problemError{problem{status: http.StatusForbidden, code: codeCrossOrigin, detail: detailCrossOrigin}}

// errNoCredentials means a bearer route was called without a bearer token.
var errNoCredentials = errors.New("httpauth: no bearer token")

// badBearer is the problem of a bearer token that was given but refused.
func badBearer(detail string) problem {
	return problem{status: http.StatusUnauthorized, code: codeUnauthorized, detail: detail, challenge: challengeInvalidToken}
}

// classify is the one table from errors to problems. It reports false for an
// error it does not know, which becomes a 500 with a generic detail.
func classify(err error, use tokenUse) (problem, bool) {
	var (
		worded  *problemError
		invalid *authkit.ValidationError
		tooBig  *http.MaxBytesError
		limited *authkit.RateLimitError
	)
	var second *authkit.SecondFactorChallenge
	switch {
	case errors.As(err, &worded):
		return worded.p, true
	case errors.As(err, &second):
		return problem{status: http.StatusUnauthorized, code: codeSecondFactor, detail: detailSecondFactor, challenge: challengeBearer, secondStep: second}, true
	case errors.Is(err, authkit.ErrReauthenticationRequired):
		return problem{status: http.StatusForbidden, code: codeReauthenticate, detail: detailReauthenticate}, true
	case errors.Is(err, authkit.ErrSecondFactorUnavailable):
		return problem{status: http.StatusNotFound, code: codeNotFound, detail: detailNotFound}, true
	case errors.Is(err, authkit.ErrConflict):
		return problem{status: http.StatusConflict, code: codeConflict, detail: detailConflict}, true
	case errors.Is(err, errNoCredentials):
		return problem{status: http.StatusUnauthorized, code: codeUnauthorized, detail: detailNoCredentials, challenge: challengeBearer}, true
	case errors.As(err, &limited):
		return problem{status: http.StatusTooManyRequests, code: codeRateLimited, detail: detailRateLimited, retryAfter: retryAfterSeconds(limited.RetryAfter)}, true
	case errors.As(err, &tooBig):
		return problem{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge, detail: detailTooLarge}, true
	case errors.As(err, &invalid):
		return problem{status: http.StatusBadRequest, code: codeInvalidInput, detail: detailInvalidInput, fields: fieldMessages(invalid)}, true
	case errors.Is(err, authkit.ErrInvalidInput):
		return problem{status: http.StatusBadRequest, code: codeInvalidInput, detail: detailInvalidInput}, true
	case errors.Is(err, authkit.ErrEmailTaken):
		return problem{status: http.StatusBadRequest, code: codeEmailTaken, detail: detailEmailTaken}, true
	case errors.Is(err, authkit.ErrInvalidCredentials):
		return problem{status: http.StatusUnauthorized, code: codeInvalidCredentials, detail: detailInvalidCredentials, challenge: challengeBearer}, true
	case errors.Is(err, authkit.ErrAccountDisabled):
		if use == useBearer {
			return badBearer(detailInactiveUser), true
		}
		return problem{status: http.StatusForbidden, code: codeAccountDisabled, detail: detailAccountDisabled}, true
	case errors.Is(err, authkit.ErrEmailNotVerified):
		return problem{status: http.StatusForbidden, code: codeEmailNotVerified, detail: detailEmailNotVerified}, true
	case errors.Is(err, authkit.ErrTokenExpired):
		return tokenProblem(use, codeTokenExpired), true
	case errors.Is(err, authkit.ErrInvalidToken):
		return tokenProblem(use, codeInvalidToken), true
	case errors.Is(err, authkit.ErrNotFound):
		return problem{status: http.StatusNotFound, code: codeNotFound, detail: detailNotFound}, true
	case errors.Is(err, authkit.ErrBusy):
		return problem{status: http.StatusServiceUnavailable, code: codeUnavailable, detail: detailUnavailable, retryAfter: retryAfterBusy}, true
	}
	return problem{status: http.StatusInternalServerError, code: codeInternal, detail: detailInternal}, false
}

// retryAfterSeconds writes a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// tokenProblem words an invalid (code invalid_token) or expired (code
// token_expired) token for the endpoint that took it.
func tokenProblem(use tokenUse, code string) problem {
	switch use {
	case useBearer:
		return badBearer(detailBadBearer)
	case useRefresh:
		return problem{status: http.StatusUnauthorized, code: code, detail: detailBadRefresh, challenge: challengeBearer}
	case useReset:
		return problem{status: http.StatusBadRequest, code: code, detail: detailBadReset}
	case useTicket:
		return problem{status: http.StatusUnauthorized, code: code, detail: detailBadToken, challenge: challengeBearer}
	case useVerify:
		detail := detailBadVerification
		if code == codeTokenExpired {
			detail = detailExpiredVerify
		}
		return problem{status: http.StatusBadRequest, code: code, detail: detail}
	}
	return problem{status: http.StatusBadRequest, code: code, detail: detailBadToken}
}

// fail answers err as a problem. Errors the table does not know are logged
// with the endpoint's name and answered with a generic 500: their text never
// reaches the client.
//
// A request whose client went away (its context was cancelled) and whose
// flow failed for that reason is no internal error: it is logged at Debug
// and answered 499, the status proxies use for a closed request, which no
// client will read but access logs and metrics will.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, endpoint string, use tokenUse, err error) {
	p, known := classify(err, use)
	if !known {
		if errors.Is(r.Context().Err(), context.Canceled) && errors.Is(err, context.Canceled) {
			h.log.Log(r.Context(), slog.LevelDebug, "httpauth: client went away", "endpoint", endpoint, "method", r.Method)
			w.WriteHeader(statusClientClosedRequest)
			return
		}
		h.log.Log(r.Context(), slog.LevelError, "httpauth: request failed", "endpoint", endpoint, "method", r.Method, "error", err)
	}
	writeProblem(w, p)
}

// statusClientClosedRequest is the status of a request whose client went
// away before its answer (nginx's 499).
const statusClientClosedRequest = 499

// writeProblem writes p as application/problem+json. Its "type" is always
// "about:blank" and its "title" the status text: "code" is what names the
// problem.
func writeProblem(w http.ResponseWriter, p problem) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if p.challenge != "" {
		hdr.Set("WWW-Authenticate", p.challenge)
	}
	if p.retryAfter != "" {
		hdr.Set("Retry-After", p.retryAfter)
	}
	b := problemBody{
		Type:   "about:blank",
		Title:  http.StatusText(p.status),
		Status: p.status,
		Detail: p.detail,
		Code:   p.code,
		Fields: p.fields,
	}
	if s := p.secondStep; s != nil {
		b.Ticket, b.Methods, b.ExpiresIn = s.Ticket, s.Methods, seconds(s.ExpiresIn)
	}
	body, _ := json.Marshal(b)
	w.WriteHeader(p.status)
	_, _ = w.Write(append(body, '\n'))
}
