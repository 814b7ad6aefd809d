// Package authkittest helps the tests of services that embed authkit: it
// builds an Authenticator that is quick to run and easy to look into, and
// hands out access tokens for the handlers under test.
//
// New builds a Kit: an Authenticator on a fresh memstore, with cheap
// password hashing, every rate limit off, a fixed secret and BaseURL, and
// its mail kept in an Outbox, closed when the test ends. TokenFor returns
// a bearer token for a user, registering and verifying the user as
// needed:
//
//	func TestProfile(t *testing.T) {
//		kit := authkittest.New(t)
//		api, err := httpauth.New(httpauth.Config{Authenticator: kit.Auth})
//		if err != nil {
//			t.Fatal(err)
//		}
//		req := httptest.NewRequest(http.MethodGet, "/profile", nil)
//		req.Header.Set("Authorization", "Bearer "+kit.TokenFor(t, "alice@example.com"))
//		rec := httptest.NewRecorder()
//		api.RequireUser(http.HandlerFunc(profile)).ServeHTTP(rec, req)
//		if rec.Code != http.StatusOK {
//			t.Errorf("GET /profile: status %d, want 200", rec.Code)
//		}
//	}
//
// The mail the kit sends (verification and reset links, notices) arrives
// in Kit.Outbox after the flow that queued it has returned; Outbox.Next
// waits for the next message of a kind, and each Mail carries its Link
// and the Token in it:
//
//	kit.Auth.ForgotPassword(ctx, "alice@example.com", authkit.Client{})
//	mail := kit.Outbox.Next(t, authkit.MessageResetPassword)
//	err := kit.Auth.ResetPassword(ctx, mail.Token, "violet kettle orbit 47", authkit.Client{})
//
// WithConfig changes any setting of the Authenticator, such as
// RequireVerifiedEmail or a fixed clock (Config.Now).
//
// The kit keeps the password policy of production (Config.PasswordPolicy
// nil: authkit.DefaultPasswordPolicy), so that a service's tests see the
// refusals its users will: a test that registers "password123" fails as
// sign-up would. Use passwords such as "violet kettle orbit 47", or set
// the policy with WithConfig (authkit.NoPasswordPolicy turns it off)
// where a test is about something else. TokenFor registers its users
// with a long random password, which the policy accepts (a policy that
// calls a service, such as the breach package's, is called then too).
//
// # Security
//
// Everything here is for tests only. The Authenticator that New builds
// signs its tokens with Secret, which is published in this package, so
// anyone can forge them; it hashes passwords at the least bcrypt cost; and
// it limits nothing (authkit.NoLimits). Never build a service's
// production Authenticator with it.
package authkittest
