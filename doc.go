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
//   - Access tokens pin their algorithm and key id, require exp, iss and aud,
//     and carry a token version: a password reset or change, logging out
//     everywhere, or disabling the account cuts off every token issued
//     before, wherever the user is loaded (Authenticator.CurrentUser).
//   - Refresh tokens rotate on every use; a spent one (however many
//     rotations ago) replayed after a short grace ends the whole session.
//   - Links in emails are built from Config.BaseURL, never from a request.
//   - Events (Config.OnEvent), logs and errors never carry a password, a
//     token, a link or a hash.
package authkit
