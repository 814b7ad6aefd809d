// Package authpages serves the browser pages of every authkit flow, to be
// mounted beside the httpauth API: a landing page, sign up, sign in, forgot
// password, reset password and verify email (the pages the emailed links
// open), and an account page with the profile, a change of password,
// two-step sign-in, the signed-in devices and signing out, here or
// everywhere.
//
// Each page is a small server-rendered HTML document with one shared
// stylesheet and one shared script, embedded in the binary. The script
// talks to the API on the same origin with fetch; nothing is loaded from
// anywhere else.
//
// # Mounting
//
// The pages need the API in cookie mode (httpauth.Config.Cookies), where
// login and register keep the refresh token in an HttpOnly cookie and
// refresh and logout read it from there:
//
//	api, err := httpauth.New(httpauth.Config{
//		Authenticator: auth,
//		Cookies:       &httpauth.CookieConfig{},
//	})
//	if err != nil { … }
//	pages, err := authpages.New(authpages.Config{
//		APIPrefix:         "/api/auth",
//		AppName:           "Example",
//		Authenticator:     auth, // for its password rules
//		ReturnURLs:        []string{"/app/"},
//	})
//	if err != nil { … }
//	mux := http.NewServeMux()
//	mux.Handle("/api/auth/", http.StripPrefix("/api/auth", api))
//	mux.Handle("/", pages) // or under a prefix: see Config.Prefix
//
// Mounted at the root, the pages answer at /sign-in, /sign-up,
// /forgot-password, /reset-password, /verify-email, /account and /, which
// are where authkit's emailed links point by default
// (authkit.Config.EmailVerificationPath and ResetPasswordPath). A mount at
// "/" also answers every path the host serves nothing more specific at,
// with the pages' 404 page; mount the pages under a Config.Prefix, or
// route each path, to keep the rest of the origin to the host.
//
// To send a visitor who is not signed in to sign in and back, link to
// SignInURL(returnTo), with returnTo allowed by Config.ReturnURLs.
//
// # Two-step sign-in
//
// When the Authenticator has second factors (authkit.Config.FactorKeys on
// a Store that implements authkit.FactorStore), the account page offers
// to set up an authenticator app: it shows the QR code and the key to
// type, turns the factor on once a code from the app is right, and then
// shows the ten recovery codes, once. With the factor on, it shows how
// many recovery codes are left and offers new ones, or turning it off.
// The sign-in page then asks, after the password, for a code on the same
// page: one from the app or a recovery code. Changes the API allows only
// after a recent sign-in (adding or removing the factor, new recovery
// codes, a change of password with a factor) ask for the password, and a
// code, in a dialog, and then go ahead.
//
// # Security
//
//   - Every response carries a strict Content-Security-Policy
//     (ContentSecurityPolicy): the pages' own script and stylesheet only,
//     fetches to the same origin only, no inline script or style, no
//     framing. Referrer-Policy: no-referrer keeps the tokens of emailed
//     links out of Referer headers, and the script removes them from the
//     address bar as soon as the page loads. Pages are Cache-Control:
//     no-store.
//   - The access token lives in the script's memory only, never in
//     localStorage, sessionStorage or a readable cookie, so that it dies
//     with the page; the account page gets a fresh one from POST
//     {api}/refresh, which reads the HttpOnly refresh cookie. Every fetch
//     is same-origin (credentials: "same-origin") with a JSON body.
//   - Nothing of an emailed link is spent by opening it: the verify-email
//     page asks "Did you create an account?" and calls the API only when
//     the person clicks Confirm (or "No, I did not sign up", which deletes
//     the account someone else registered with the address). Mail
//     scanners that open links, scripts and all, click nothing.
//   - Sign-in sends the user on only to a path of Config.ReturnURLs;
//     anything else (another host, "//host", a backslash, "javascript:")
//     falls back to the account page, so the sign-in page is no open
//     redirect.
//   - The ticket of a two-step sign-in, the secret of a new authenticator
//     app and the recovery codes live in the page only while they are
//     needed (never in storage, cookies or the URL), and the password
//     field is emptied once the code step begins.
//   - Text from the API or a user (a display name, a device's user agent)
//     is only ever inserted as text, never as markup.
//   - Theme values are checked to a plain CSS colour before they reach the
//     stylesheet; the logo must be a same-origin path.
//
// # Accessibility
//
// Every field has a label and the autocomplete token password managers
// expect (username and current-password to sign in; email and
// new-password to sign up; one-time-code for codes, whose fields offer a
// digits keyboard and switch to letters for a recovery code); errors of the API's problem details are shown
// under the field they concern (its "fields" member), tied to it with
// aria-describedby and aria-invalid, and announced through role=alert
// regions; success messages through role=status. The pages work at 375
// CSS pixels wide. The tests run axe-core on every page in Chromium.
//
// # Password rules
//
// The pages check a new password's length (the Authenticator's
// PasswordRules, or Config.MinPasswordLength) before they send it,
// so that the message appears at once; the API checks again and has the
// last word.
package authpages
