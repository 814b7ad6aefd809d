// Package authpages serves the browser pages of every authkit flow, to be
// mounted beside the httpauth API: a landing page, sign up, sign in, forgot
// password, reset password and verify email (the pages the emailed links
// open), and an account page with the profile, a change of password, the
// signed-in devices and signing out, here or everywhere.
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
//   - Text from the API or a user (a display name, a device's user agent)
//     is only ever inserted as text, never as markup.
//   - Theme values are checked to a plain CSS colour before they reach the
//     stylesheet; the logo must be a same-origin path.
//
// # Accessibility
//
// Every field has a label and the autocomplete token password managers
// expect (username and current-password to sign in; email and
// new-password to sign up); errors of the API's problem details are shown
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
