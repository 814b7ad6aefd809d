// Package authkit gives a Go service complete email and password
// authentication: registration, login with short-lived JWT access tokens and
// rotating refresh tokens, email verification, forgotten and changed
// passwords, logout from one device or all of them.
//
// The package holds the domain: the Authenticator and its flows, the Store
// and Mailer interfaces it runs on, and the errors it returns. Subpackages
// bring the outside world: httpauth (net/http handlers and middleware),
// memstore (an in-memory Store), sqlstore (PostgreSQL, MySQL/MariaDB and
// SQLite), smtpmail (a Mailer over SMTP) and storetest (the conformance
// suite every Store passes).
//
// # Quick start
//
//	a, err := authkit.New(authkit.Config{
//		Store:   store,                 // memstore.New(), or a sqlstore
//		Mailer:  mailer,                // smtpmail.New(…), or authkit.LogMailer(logger)
//		Secret:  secret,                // ≥ 32 random bytes
//		BaseURL: "https://app.example.com",
//	})
//	if err != nil { … }
//	defer a.Close(ctx) // delivers the mail still queued
//
// Mount httpauth.New(httpauth.Config{Authenticator: a}) under a prefix of
// your mux and wrap your own handlers with its RequireUser middleware.
//
// # Checking a request
//
// Authenticator.Authenticate is the one answer to "is this access token good
// now, and whose is it": signature and claims, the user active, the token
// version current (a password reset or change, a logout everywhere or a
// disabling cuts every older token off at once), and, with
// Config.CheckSession, the session live. httpauth's RequireUser and
// LoadUser are thin wrappers over it; a gRPC interceptor or a WebSocket
// upgrade calls it the same way. VerifyAccessToken checks the token alone,
// without the Store, and so cannot see any of those changes.
//
// # How the package is laid out: one sign-in pipeline
//
// Every way of signing in proves who the user is in a file of its own and
// then hands the user, and the methods that proved it, to one internal
// step (signin.go) that no method copies:
//
//	password.go (Login)     ─┐
//	register.go (Register)  ─┤  proof{user, methods: ["pwd"]}
//	(later: totp, passkey,  ─┤
//	 emailed code, provider) ┘
//	                           │
//	                           ▼
//	signIn: account checks (active; verified when required)
//	        → second factor, when enrolled and not yet given
//	        → session, recording the methods and the time (amr, auth_time)
//	        → tokens
//	        → confirm the account did not change meanwhile
//	        → EventLoginSuccess
//
// A new way of signing in is a new file that checks its proof, reports its
// own failures and ends in signIn. The other files hold one concern each:
// access.go (Authenticate), session.go (refresh, logout, sessions),
// recovery.go (forgotten passwords), emailverification.go, validate.go
// (input rules, reported as FieldCodes that the edge words),
// passwordpolicy.go and policydefault.go (the rules for new passwords
// beyond their length), hasher.go
// (password hashing and its bound), token.go and keys.go (access tokens and
// their keys), postoffice.go (mail off the request path), limit.go and
// limiter.go (rate limits), guess.go (the budgets of password guesses),
// device.go (device credentials, which keep an owner's known
// devices out of the account's failure budgets) and store.go (the Store
// contract).
//
// # Security
//
//   - Verification, reset and refresh tokens carry 256 random bits; the Store
//     only ever sees their SHA-256. They are spent atomically, once.
//   - Forgot-password and resend-verification answer the same, at once, for
//     any email: the lookup and the mail happen off the request path. Login
//     with an unknown email costs the same bcrypt work as a wrong password,
//     and a disabled or unverified account is revealed only after the right
//     password.
//   - Passwords: bcrypt, cost 12 by default, 8 characters to 72 bytes
//     (refused beyond, never truncated), rehashed on login when the cost
//     changes; hashing is bounded so a login flood cannot take every CPU.
//   - New passwords pass a policy (Config.PasswordPolicy) in every flow
//     that sets one, after the flow's proof and before anything is spent:
//     by default, DefaultPasswordPolicy refuses common passwords, the
//     user's own details and trivial patterns, with no composition rules
//     (NIST SP 800-63B §3.1.1.2). The strength and breach subpackages add a
//     zxcvbn estimate and a k-anonymous check against breached passwords.
//   - Access tokens (RFC 9068: typ at+jwt, jti, client_id) have one
//     encoding, refuse crit, pin their algorithm and key id, and require
//     exp, iat, iss and aud; iss and aud default to Config.BaseURL, so that
//     deployments never accept each other's tokens. They carry a token
//     version: a password reset or change, logging out everywhere, or
//     disabling the account cuts off every token issued before, wherever
//     the user is loaded (Authenticator.Authenticate).
//   - Guessing is bounded per account and client network, and to 100
//     checked passwords a day per account (NIST SP 800-63B §5.2.2). A
//     device that signed in before (NewDeviceToken, Client.Device) has a
//     budget of its own, so whoever merely knows an address cannot lock its
//     owner out; a completed reset clears the account's budgets.
//   - Refresh tokens rotate on every use; a spent one (however many
//     rotations ago) replayed after a short grace ends the whole session.
//   - Links in emails are built from Config.BaseURL, never from a request.
//   - Events (Config.OnEvent), logs and errors never carry a password, a
//     token, a link or a hash.
package authkit
