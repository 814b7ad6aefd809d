package httpauth

import (
	"net/http"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

// The endpoints of the second factor (TOTP and recovery codes), and of
// re-authentication before sensitive changes.

type secondFactorRequest struct {
	Ticket string `json:"ticket"`
	Code   string `json:"code"`
	// DeviceToken is as in loginRequest.
	DeviceToken string `json:"device_token"`
}

// LoginSecondFactor serves POST /login/second-factor: {ticket, code,
// device_token?}, device_token as in Login. A login whose password was
// right for an account with a second factor answers 401
// second_factor_required with {ticket, methods, expires_in} instead of
// tokens; this call, with that ticket and a code of the user's
// authenticator app or a recovery code, answers 200 with the token
// response of Login. A wrong code is a 401 invalid_credentials (a ticket
// tries at most 5); a spent, unknown or voided ticket a 401 invalid_token,
// an old one token_expired.
func (h *Handler) LoginSecondFactor(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "LoginSecondFactor", use: useTicket}, func(in *secondFactorRequest, _ *principal) error {
		if err := required("ticket", in.Ticket); err != nil {
			return err
		}
		if err := required("code", in.Code); err != nil {
			return err
		}
		c := h.client(r)
		c.Device = deviceOf(r, in.DeviceToken)
		t, err := h.auth.LoginSecondFactor(r.Context(), in.Ticket, in.Code, c)
		if err != nil {
			return err
		}
		h.signedIn(w, r, http.StatusOK, t)
		return nil
	})
}

type reauthenticateRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// accessResponse is the body of an answer that gives a fresh access token
// for the caller's session.
type accessResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// Reauthenticate serves POST /reauthenticate (bearer): {password, code?},
// code when the account has a second factor. It answers 200
// {access_token, token_type, expires_in}: an access token for the
// caller's session whose auth_time is now, which the sensitive routes
// (those that answer 403 reauthentication_required) accept for
// authkit.Config.ReauthenticationWindow. A wrong password or code is a 400
// invalid_input with a message on the field.
func (h *Handler) Reauthenticate(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Reauthenticate", use: useBearer, bearer: true}, func(in *reauthenticateRequest, p *principal) error {
		t, err := h.auth.Reauthenticate(r.Context(), p.claims, in.Password, in.Code, h.client(r))
		if err != nil {
			return err
		}
		h.keepAccessToken(w, r, t)
		writeJSON(w, http.StatusOK, accessResponse{t.AccessToken, "bearer", seconds(t.ExpiresIn)})
		return nil
	})
}

// secondFactorResponse is the body of GET /second-factor.
type secondFactorResponse struct {
	TOTP              bool `json:"totp"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

// SecondFactor serves GET /second-factor (bearer): 200 {totp,
// recovery_codes_left}; 404 when the deployment has no second factors.
func (h *Handler) SecondFactor(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "SecondFactor", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		s, err := h.auth.SecondFactor(r.Context(), p.user.ID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, secondFactorResponse{s.TOTP, s.RecoveryCodesLeft})
		return nil
	})
}

// totpEnrolmentResponse is the body of POST /second-factor/totp.
type totpEnrolmentResponse struct {
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QRCode string `json:"qr_code"`
}

// StartTOTP serves POST /second-factor/totp (bearer, recent sign-in): it
// begins enrolling an authenticator app and answers 200 {secret, uri,
// qr_code}, qr_code a PNG data: URL of uri. Nothing changes for sign-in
// until ConfirmTOTP. A sign-in older than the re-authentication window is
// a 403 reauthentication_required; an account that already has a factor
// a 409 conflict; a deployment without second factors a 404.
func (h *Handler) StartTOTP(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "StartTOTP", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		e, err := h.auth.StartTOTP(r.Context(), p.claims)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, totpEnrolmentResponse{e.Secret, e.URI, e.QRCode})
		return nil
	})
}

type codeRequest struct {
	Code string `json:"code"`
}

// recoveryCodesResponse is the body of an answer with new recovery codes.
type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// ConfirmTOTP serves POST /second-factor/totp/confirm (bearer): {code}, a
// code the app makes now. It switches the factor on and answers 200
// {recovery_codes}: show them once, they are stored only hashed. A wrong
// code is a 400 invalid_input; no enrolment under way a 404.
func (h *Handler) ConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "ConfirmTOTP", use: useBearer, bearer: true}, func(in *codeRequest, p *principal) error {
		if err := required("code", in.Code); err != nil {
			return err
		}
		codes, err := h.auth.ConfirmTOTP(r.Context(), p.user.ID, in.Code, h.client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, recoveryCodesResponse{codes})
		return nil
	})
}

// DisableTOTP serves DELETE /second-factor/totp (bearer, recent sign-in):
// it removes the factor and the recovery codes and answers 204.
func (h *Handler) DisableTOTP(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "DisableTOTP", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		if err := h.auth.DisableTOTP(r.Context(), p.claims, h.client(r)); err != nil {
			return err
		}
		writeNoContent(w)
		return nil
	})
}

// RegenerateRecoveryCodes serves POST /second-factor/recovery-codes
// (bearer, recent sign-in): it spends the old recovery codes and answers
// 200 {recovery_codes} with a new set.
func (h *Handler) RegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "RegenerateRecoveryCodes", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		codes, err := h.auth.RegenerateRecoveryCodes(r.Context(), p.claims)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, recoveryCodesResponse{codes})
		return nil
	})
}

// authTime returns the auth_time of claims, or the zero time.
func authTime(c *authkit.Claims) time.Time {
	if c == nil || c.AuthTime == nil {
		return time.Time{}
	}
	return c.AuthTime.Time
}

// RequireAuthMethods returns middleware for routes that need a stronger
// sign-in than a password: after RequireUser's checks (which it makes
// itself, so it may wrap a handler alone), it lets a request through only
// when its access token's amr holds every one of methods, such as
// authkit.MethodMFA, else it answers 403 insufficient_authentication. The
// user then signs in again with the second factor, or calls
// /reauthenticate.
func (h *Handler) RequireAuthMethods(methods ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return h.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := ClaimsFrom(r.Context())
			for _, m := range methods {
				if !slices.Contains(claims.AuthMethods, m) {
					writeProblem(w, problem{status: http.StatusForbidden, code: codeInsufficientAuth, detail: detailInsufficientAuth})
					return
				}
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// RequireSecondFactor is RequireAuthMethods(authkit.MethodMFA): routes
// behind it need a sign-in that used a second factor.
func (h *Handler) RequireSecondFactor(next http.Handler) http.Handler {
	return h.RequireAuthMethods(authkit.MethodMFA)(next)
}
