package httpauth

import (
	"net/http"
	"time"

	"github.com/authkit/authkit"
)

// Messages of successful responses, in the seed design's words.
const (
	msgResetSent            = "If an account exists, a password reset link has been sent."
	msgPasswordReset        = "Password reset successfully."
	msgPasswordChanged      = "Password changed successfully."
	msgEmailVerified        = "Email verified successfully."
	msgAlreadyVerified      = "Email already verified."
	msgVerificationSent     = "If an account exists and is not yet verified, a verification link has been sent."
	msgRegistrationDeclined = "The account was deleted. You can now register with this address."
	msgVerifyToLogIn        = "Account created. Please verify your email before logging in."
	msgCheckEmail           = "Check your email to finish signing up."
)

// tokenResponse is the body of a successful register, login or refresh.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"` // none in cookie mode
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	DisplayName  string `json:"display_name"`
	// DeviceToken is the client's new device credential, after a register
	// or login only (a refresh proves no password): API clients keep it
	// and send it back as the login body's device_token; browsers get it
	// in the DeviceCookie too.
	DeviceToken string `json:"device_token,omitempty"`
}

func newTokenResponse(t authkit.Tokens) tokenResponse {
	return tokenResponse{
		AccessToken:  t.AccessToken,
		TokenType:    "bearer",
		ExpiresIn:    seconds(t.ExpiresIn),
		RefreshToken: t.RefreshToken,
		UserID:       t.User.ID,
		Email:        t.User.Email,
		DisplayName:  t.User.DisplayName,
	}
}

// seconds rounds d down to whole seconds.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// timestamp formats t as RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type messageResponse struct {
	Message string `json:"message"`
}

// required is a *authkit.ValidationError when value, the field's, is
// empty; else nil.
func required(field, value string) error {
	if value != "" {
		return nil
	}
	v := &authkit.ValidationError{}
	v.Add(field, authkit.FieldError{Code: authkit.CodeRequired})
	return v
}

// endpoint describes an API endpoint to serve.
type endpoint struct {
	// name names the endpoint in logs.
	name string
	// use is the kind of token it takes, which words its token errors.
	use tokenUse
	// bearer says that it needs a signed-in user.
	bearer bool
}

// noBody is the input of endpoints that read no body.
type noBody struct{}

// serve is every endpoint's frame: it finds the signed-in user when e
// needs one, decodes the JSON body into an In (unless In is noBody), and
// runs fn, which writes the answer. Any error on the way, fn's included,
// is answered here, and only here, as a problem (Handler.fail).
func serve[In any](h *Handler, w http.ResponseWriter, r *http.Request, e endpoint, fn func(in *In, p *principal) error) {
	// No browser may take a JSON answer for a script or a page.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	err := func() error {
		if err := h.checkOrigin(r); err != nil {
			return err
		}
		var p *principal
		if e.bearer {
			var err error
			if p, err = h.principal(r); err != nil {
				return err
			}
		}
		var in In
		if _, skip := any(&in).(*noBody); !skip {
			if err := h.decode(w, r, &in); err != nil {
				return err
			}
		}
		return fn(&in, p)
	}()
	if err != nil {
		h.fail(w, r, e.name, e.use, err)
	}
}

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// Register serves POST /register: {email, password, display_name?}. It
// creates the account, queues the verification email and answers 201 with
// a token response {access_token, token_type, expires_in, refresh_token,
// user_id, email, display_name, device_token}, and sets the DeviceCookie
// (see Login). When the Authenticator requires a verified email
// (Config.RequireVerifiedEmail), nobody is signed in yet and the 201 body
// is {message, user_id, email, display_name} instead, with no device
// credential. With authkit.Config.RegisterQuietly, new and taken addresses
// alike get 201 {message, email, display_name} and nobody is signed in.
// Bad input is a 400 invalid_input with per-field messages; a registered
// email a 400 email_taken (unless RegisterQuietly).
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Register"}, func(in *registerRequest, _ *principal) error {
		reg, err := h.auth.Register(r.Context(), authkit.Registration{Email: in.Email, Password: in.Password, DisplayName: in.DisplayName}, h.client(r))
		if err != nil {
			return err
		}
		if !reg.SignedIn {
			// A quiet registration (authkit.Config.RegisterQuietly) has no
			// user id to give, taken address or not.
			msg := msgVerifyToLogIn
			if reg.User.ID == "" {
				msg = msgCheckEmail
			}
			writeJSON(w, http.StatusCreated, struct {
				Message     string `json:"message"`
				UserID      string `json:"user_id,omitempty"`
				Email       string `json:"email"`
				DisplayName string `json:"display_name"`
			}{msg, reg.User.ID, reg.User.Email, reg.User.DisplayName})
			return nil
		}
		h.signedIn(w, r, http.StatusCreated, reg.Tokens)
		return nil
	})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// DeviceToken is the device credential of an earlier sign-in, if the
	// client kept one; else the DeviceCookie is read.
	DeviceToken string `json:"device_token"`
}

// Login serves POST /login: {email, password, device_token?}. It answers
// 200 with a token response {access_token, token_type, expires_in,
// refresh_token, user_id, email, display_name, device_token}. A wrong
// email or password is a 401 invalid_credentials, the same for both; a
// disabled account (403 account_disabled) or an unverified one when
// verification is required (403 email_not_verified) is revealed only after
// the right password. Too many attempts on the account are a 429
// rate_limited with Retry-After, before any password is checked.
//
// device_token is a device credential: the one the last token response
// of a register or login gave. A login that shows one for the same
// account (in the body, or else in the DeviceCookie, which every
// successful login and register sets) is held to that device's own
// budget of attempts, so that guesses made elsewhere at the account's
// password do not throttle it (authkit.Limits). A credential that is
// missing, expired, forged or of another account is ignored, the same as
// none. Each successful login answers with a fresh one.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Login"}, func(in *loginRequest, _ *principal) error {
		c := h.client(r)
		c.Device = deviceOf(r, in.DeviceToken)
		t, err := h.auth.Login(r.Context(), in.Email, in.Password, c)
		if err != nil {
			return err
		}
		h.signedIn(w, r, http.StatusOK, t)
		return nil
	})
}

// signedIn answers a sign-in with status and the token response of t,
// keeping its tokens (cookie mode) and its device credential.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, status int, t authkit.Tokens) {
	resp := h.keepTokens(w, r, t)
	resp.DeviceToken = h.rememberDevice(w, r, t)
	writeJSON(w, status, resp)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// Refresh serves POST /refresh: {refresh_token}. It spends the refresh
// token and answers 200 with a token response holding a new access token
// and a new refresh token for the same session. In cookie mode
// (Config.Cookies) the body may be empty: the RefreshCookie holds the
// token, and gets the new one. A spent, unknown or
// malformed refresh token is a 401 invalid_token (a spent one replayed
// after the grace period also ends the session); an expired session a 401
// token_expired; a disabled account a 403 account_disabled.
func (h *Handler) Refresh(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Refresh", use: useRefresh}, func(in *refreshRequest, _ *principal) error {
		token := h.refreshTokenOf(r, in.RefreshToken)
		if err := required("refresh_token", token); err != nil {
			return err
		}
		t, err := h.auth.Refresh(r.Context(), token, h.client(r))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, h.keepTokens(w, r, t))
		return nil
	})
}

// Logout serves POST /logout: {refresh_token}, or in cookie mode an empty
// body and the RefreshCookie, which it deletes. It ends the refresh token's
// session and answers 204, also when the token is unknown or its session
// already ended: logout is idempotent and reveals nothing. Access tokens of
// the session keep working until they expire unless
// authkit.Config.CheckSession is set.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Logout", use: useRefresh}, func(in *refreshRequest, _ *principal) error {
		token := h.refreshTokenOf(r, in.RefreshToken)
		if err := required("refresh_token", token); err != nil {
			return err
		}
		if err := h.auth.Logout(r.Context(), token, h.client(r)); err != nil {
			return err
		}
		h.forgetTokens(w, r)
		writeNoContent(w)
		return nil
	})
}

// LogoutAll serves POST /logout-all (bearer). It ends every session of the
// user and cuts off every access token issued before, the caller's
// included, and answers 204.
func (h *Handler) LogoutAll(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "LogoutAll", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		if err := h.auth.LogoutAll(r.Context(), p.user.ID, h.client(r)); err != nil {
			return err
		}
		h.forgetTokens(w, r)
		writeNoContent(w)
		return nil
	})
}

// meResponse is the body of GET /me.
type meResponse struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	DisplayName   string `json:"display_name"`
	EmailVerified bool   `json:"email_verified"`
	CreatedAt     string `json:"created_at"`
}

// Me serves GET /me (bearer): 200 {user_id, email, display_name,
// email_verified, created_at}, created_at in RFC 3339.
func (h *Handler) Me(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Me", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		writeJSON(w, http.StatusOK, meResponse{
			UserID:        p.user.ID,
			Email:         p.user.Email,
			DisplayName:   p.user.DisplayName,
			EmailVerified: p.user.EmailVerified,
			CreatedAt:     timestamp(p.user.CreatedAt),
		})
		return nil
	})
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
	// DeviceToken is as in loginRequest.
	DeviceToken string `json:"device_token"`
}

// passwordChangedResponse is the body of POST /change-password.
type passwordChangedResponse struct {
	Message     string `json:"message"`
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type,omitempty"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
}

// ChangePassword serves POST /change-password (bearer): {current_password,
// new_password, device_token?}. It sets the new password, ends every other
// session of the user and cuts off every access token issued before, the
// caller's included; so it answers 200 {message, access_token, token_type,
// expires_in} with a fresh access token for the caller's session, whose
// refresh token stays valid. A wrong current password or a new password
// that breaks the policy is a 400 invalid_input with per-field messages.
// Current passwords spend the same budget of attempts as logins (a 429
// rate_limited when it is spent); a device credential, in device_token or
// the DeviceCookie, counts as it does for Login.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "ChangePassword", use: useBearer, bearer: true}, func(in *changePasswordRequest, p *principal) error {
		c := h.client(r)
		c.Device = deviceOf(r, in.DeviceToken)
		t, err := h.auth.ChangePassword(r.Context(), authkit.PasswordChange{
			UserID:          p.user.ID,
			SessionID:       p.claims.SessionID,
			AuthTime:        authTime(p.claims),
			CurrentPassword: in.CurrentPassword,
			NewPassword:     in.NewPassword,
		}, c)
		if err != nil {
			return err
		}
		resp := passwordChangedResponse{Message: msgPasswordChanged}
		h.keepAccessToken(w, r, t)
		if t.AccessToken != "" {
			resp.AccessToken, resp.TokenType, resp.ExpiresIn = t.AccessToken, "bearer", seconds(t.ExpiresIn)
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}

type emailRequest struct {
	Email string `json:"email"`
}

// ForgotPassword serves POST /forgot-password: {email}. It answers 200 with
// the same message at once whether or not the account exists; the reset
// link, if any, is mailed off the request path. Only a malformed email is
// an error (400 invalid_input).
func (h *Handler) ForgotPassword(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "ForgotPassword"}, func(in *emailRequest, _ *principal) error {
		if err := h.auth.ForgotPassword(r.Context(), in.Email, h.client(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messageResponse{msgResetSent})
		return nil
	})
}

type resetPasswordRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// ResetPassword serves POST /reset-password: {token, password}. It spends
// the reset token, sets the password, ends every session of the user and
// cuts off every access token issued before, and answers 200. A bad token
// is a 400 with code invalid_token or token_expired; a password that breaks
// the policy a 400 invalid_input (the token is not spent then).
func (h *Handler) ResetPassword(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "ResetPassword", use: useReset}, func(in *resetPasswordRequest, _ *principal) error {
		if err := h.auth.ResetPassword(r.Context(), in.Token, in.Password, h.client(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messageResponse{msgPasswordReset})
		return nil
	})
}

type verifyEmailRequest struct {
	Token string `json:"token"`
}

// VerifyEmail serves GET /verify-email/{token} and POST /verify-email
// {token}. It spends the verification token, marks the email verified and
// answers 200; a link opened again after it worked answers 200 "Email
// already verified.". A bad token is a 400 with code invalid_token or
// token_expired. Called directly, it takes the token from the path value
// "token" when there is one, else from the JSON body.
func (h *Handler) VerifyEmail(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "VerifyEmail", use: useVerify}, func(_ *noBody, _ *principal) error {
		token := r.PathValue("token")
		if token == "" {
			var in verifyEmailRequest
			if err := h.decode(w, r, &in); err != nil {
				return err
			}
			if err := required("token", in.Token); err != nil {
				return err
			}
			token = in.Token
		}
		already, err := h.auth.VerifyEmail(r.Context(), token, h.client(r))
		if err != nil {
			return err
		}
		msg := msgEmailVerified
		if already {
			msg = msgAlreadyVerified
		}
		writeJSON(w, http.StatusOK, messageResponse{msg})
		return nil
	})
}

// DeclineRegistration serves POST /decline-registration: {token}, the
// verification token of an account its address's owner did not create.
// It deletes the account, still unverified, with its sessions, and answers
// 200 {message}; the owner can then register the address. A bad token, or
// the token of an account already verified, is a 400 invalid_token (or
// token_expired).
func (h *Handler) DeclineRegistration(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "DeclineRegistration", use: useVerify}, func(in *verifyEmailRequest, _ *principal) error {
		if err := required("token", in.Token); err != nil {
			return err
		}
		if err := h.auth.DeclineRegistration(r.Context(), in.Token, h.client(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messageResponse{msgRegistrationDeclined})
		return nil
	})
}

// ResendVerification serves POST /resend-verification: {email}. It answers
// 200 with the same message at once whatever the account's existence or
// state; a fresh link is mailed off the request path to an unverified
// account. Only a malformed email is an error (400 invalid_input).
func (h *Handler) ResendVerification(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "ResendVerification"}, func(in *emailRequest, _ *principal) error {
		if err := h.auth.ResendVerification(r.Context(), in.Email, h.client(r)); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, messageResponse{msgVerificationSent})
		return nil
	})
}

// sessionResponse is one entry of GET /sessions.
type sessionResponse struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at"`
	ExpiresAt  string `json:"expires_at"`
	UserAgent  string `json:"user_agent"`
	ClientAddr string `json:"client_addr"`
	Current    bool   `json:"current"`
}

type sessionsResponse struct {
	Sessions []sessionResponse `json:"sessions"`
}

// Sessions serves GET /sessions (bearer): 200 {"sessions": [{id,
// created_at, last_used_at, expires_at, user_agent, client_addr, current}]},
// the caller's live sessions, oldest first; current marks the one the
// access token belongs to. No other user's session is ever listed.
func (h *Handler) Sessions(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "Sessions", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		all, err := h.auth.Sessions(r.Context(), p.user.ID)
		if err != nil {
			return err
		}
		resp := sessionsResponse{Sessions: make([]sessionResponse, 0, len(all))}
		for _, s := range all {
			resp.Sessions = append(resp.Sessions, sessionResponse{
				ID:         s.ID,
				CreatedAt:  timestamp(s.CreatedAt),
				LastUsedAt: timestamp(s.LastUsedAt),
				ExpiresAt:  timestamp(s.ExpiresAt),
				UserAgent:  s.UserAgent,
				ClientAddr: s.ClientAddr,
				Current:    s.ID == p.claims.SessionID,
			})
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}

// EndSession serves DELETE /sessions/{id} (bearer). It ends one of the
// caller's sessions (its refresh token stops working) and answers 204. A
// session that is unknown or belongs to another user is a 404 not_found,
// alike, and is never touched. Called directly, it takes the id from the
// path value "id".
func (h *Handler) EndSession(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "EndSession", use: useBearer, bearer: true}, func(_ *noBody, p *principal) error {
		id := r.PathValue("id")
		if id == "" {
			return authkit.ErrNotFound
		}
		if err := h.auth.EndSession(r.Context(), p.user.ID, id, h.client(r)); err != nil {
			return err
		}
		writeNoContent(w)
		return nil
	})
}
