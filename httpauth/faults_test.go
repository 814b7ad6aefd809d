package httpauth_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// Injected faults: every flow driven through a failure of each Store call
// it makes in turn, on memstore and SQLite, with the invariants of
// faultenv_test.go checked after each run, and through a Mailer that
// fails or hangs. The harness is in faultenv_test.go.

// faultFlow is a flow for the fault drives.
type faultFlow struct {
	name string
	// prepare brings the account to where the flow starts, with no fault
	// armed. Every mail it causes it takes, so that no background work
	// of its own is left when the fault is armed.
	prepare func(f *faultEnv, u *faultAccount)
	// act sends the request that the fault hits; want is its status when
	// nothing fails.
	act  func(f *faultEnv, u *faultAccount) response
	want int
	// done checks, when act answered want, what the answer promised.
	done func(f *faultEnv, u *faultAccount, res response)
	// retry runs after act on a fresh env without faults, over the same
	// data, and takes the flow to its end, which must be reachable
	// whatever the fault left.
	retry func(g *faultEnv, u *faultAccount, res response, rep faults.Report)
}

// maxCalls bounds a drive, should a flow never run out of calls.
const maxCalls = 60

// driveFaults runs fl once for each N = 1, 2, …, arming a Fault of mode for the
// Nth call that counts, until a run makes fewer than N calls; so every
// call fl makes fails once. After each run it checks the answer and the
// invariants, retries without faults, and checks them again. With strict
// set, the answer must be want whatever failed: the fault hit work the
// request does not wait for. It returns how many faults it injected.
// Every run reads clock, which only moves on: the runs share the Store's
// rate-limit counters, which a clock that went back would find in the
// future.
func driveFaults(t *testing.T, raw authkit.Store, clock *testkit.Clock, fl faultFlow, mode faults.Mode, counts func(context.Context) bool, strict bool) int {
	injected := 0
	for n := 1; ; n++ {
		require.LessOrEqual(t, n, maxCalls, "%s makes more than %d calls", fl.name, maxCalls)
		var rep faults.Report
		t.Run(fmt.Sprintf("call%02d", n), func(t *testing.T) {
			f := newFaultEnv(t, raw, clock)
			u := newAccount(fmt.Sprintf("%s-%s", fl.name, mode), n)
			if fl.prepare != nil {
				fl.prepare(f, u)
			}
			f.store.Arm(faults.Fault{Call: n, Mode: mode, Counts: counts})
			res := fl.act(f, u)
			f.settle()
			rep = f.store.Disarm()
			what := fmt.Sprintf("%s, %s at call %d of %v", fl.name, mode, n, rep.Methods)
			if strict {
				assert.Equal(t, fl.want, res.status, "%s: the answer: %s", what, res.body)
			}
			assertAnswer(t, what, res, fl.want, rep)
			if res.status == http.StatusInternalServerError {
				// What the client is not told goes to the host's log.
				assert.Contains(t, f.log.String(), "httpauth: request failed", "%s: the failure is logged", what)
			}
			if res.status == fl.want && fl.done != nil {
				fl.done(f, u, res)
			}
			f.assertSound(what, u)
			f.close()

			g := newFaultEnv(t, raw, clock)
			defer g.close()
			fl.retry(g, u, res, rep)
			g.assertSound(what+", retried", u)
		})
		if rep.Injected {
			injected++
		}
		if !rep.Injected || t.Failed() {
			return injected
		}
	}
}

// TestFaultsStoreOnRequests proves that every flow served over HTTP fails
// safe when any one Store (or Limiter) call on its request path fails, is
// cancelled or loses its answer: the client gets the flow's answer or a
// generic 500 that names no table, query or driver; no credential of a
// disabled account, or from before a password change, a logout or a
// disabling, is accepted; no spent link works; and the flow then succeeds
// when retried.
func TestFaultsStoreOnRequests(t *testing.T) {
	for _, eng := range faultEngines {
		for _, fl := range requestFlows {
			t.Run(eng.name+"/"+fl.name, func(t *testing.T) {
				t.Parallel()
				raw, clock := eng.open(t), testkit.NewClock()
				for _, mode := range faults.Modes {
					t.Run(mode.String(), func(t *testing.T) {
						n := driveFaults(t, raw, clock, fl, mode, faults.Marked, false)
						t.Logf("%d faults injected", n)
					})
				}
			})
		}
	}
}

// TestFaultsStoreInMail proves that a failing Store never changes the
// answer of a request that mails a link, since the link is made off the
// request path, and that asking again then mails a link that works.
func TestFaultsStoreInMail(t *testing.T) {
	for _, eng := range faultEngines {
		for _, fl := range mailFlows {
			t.Run(eng.name+"/"+fl.name, func(t *testing.T) {
				t.Parallel()
				raw, clock := eng.open(t), testkit.NewClock()
				for _, mode := range faults.Modes {
					t.Run(mode.String(), func(t *testing.T) {
						n := driveFaults(t, raw, clock, fl, mode, faults.Unmarked, true)
						t.Logf("%d faults injected", n)
					})
				}
			})
		}
	}
}

// signedUp registers the account.
func signedUp(f *faultEnv, u *faultAccount) { f.signUp(u) }

// signedUpTwice registers the account and logs it in once more, so that
// it has two sessions.
func signedUpTwice(f *faultEnv, u *faultAccount) {
	f.signUp(u)
	f.signIn(u, firstPassword)
}

// holdWorking records the tokens of a successful answer and checks that
// they work.
func holdWorking(f *faultEnv, u *faultAccount, res response) {
	f.t.Helper()
	c := f.hold(u, res.tokens(f.t), false)
	assert.True(f.t, f.refreshAccepted(c.refresh), "the refresh token of a %d works", res.status)
	assert.True(f.t, f.accessAccepted(c.access), "the access token of a %d works", res.status)
}

// loginBody is the body of a login as the account, with password.
func loginBody(u *faultAccount, password string) map[string]string {
	return map[string]string{"email": u.email, "password": password}
}

// verifies spends a verification token and checks that the address is
// verified.
func (f *faultEnv) verifies(u *faultAccount, token string) {
	f.t.Helper()
	res := f.get("/verify-email/"+token, "")
	require.Equal(f.t, http.StatusOK, res.status, "GET /verify-email: %s", res.body)
	u.spent = append(u.spent, oneTime{token, authkit.PurposeVerifyEmail})
	cur, _ := f.user(u)
	assert.True(f.t, cur.EmailVerified, "verified after GET /verify-email")
}

// resets spends a reset token on the second password, which must work.
func (f *faultEnv) resets(u *faultAccount, token string) {
	f.t.Helper()
	res := f.post("/reset-password", map[string]string{"token": token, "password": secondPassword})
	require.Equal(f.t, http.StatusOK, res.status, "POST /reset-password: %s", res.body)
	u.spent = append(u.spent, oneTime{token, authkit.PurposeResetPassword})
}

// onlySecondPassword checks that the account logs in with the second
// password and no longer with the first.
func (f *faultEnv) onlySecondPassword(u *faultAccount) {
	f.t.Helper()
	f.signIn(u, secondPassword)
	res := f.post("/login", loginBody(u, firstPassword))
	assertProblem(f.t, res, http.StatusUnauthorized, "invalid_credentials")
}

// bearer is a request with an access token.
func (f *faultEnv) bearer(method, path, token string, body any) response {
	f.t.Helper()
	return f.do(req{method: method, path: path, bearer: token, body: body})
}

// requestFlows are the flows of the HTTP API, each driven through a
// failure of every Store call on its request path.
var requestFlows = []faultFlow{
	registerFlow,
	{
		name:    "login",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/login", loginBody(u, firstPassword))
		},
		want: http.StatusOK,
		done: holdWorking,
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			g.signIn(u, firstPassword)
		},
	},
	{
		name:    "login with a device credential",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			require.NotEmpty(f.t, u.device, "the device credential of the registration")
			return f.post("/login", map[string]string{"email": u.email, "password": firstPassword, "device_token": u.device})
		},
		want: http.StatusOK,
		done: holdWorking,
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			res := g.post("/login", map[string]string{"email": u.email, "password": firstPassword, "device_token": u.device})
			require.Equal(g.t, http.StatusOK, res.status, "POST /login with the device: %s", res.body)
		},
	},
	{
		name:    "refresh",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/refresh", map[string]string{"refresh_token": u.creds[0].refresh})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) {
			holdWorking(f, u, res)
			assert.False(f.t, f.refreshAccepted(u.creds[0].refresh), "the spent refresh token is refused")
		},
		retry: func(g *faultEnv, u *faultAccount, res response, rep faults.Report) {
			token := u.creds[len(u.creds)-1].refresh
			again := g.post("/refresh", map[string]string{"refresh_token": token})
			if again.status == http.StatusOK {
				g.hold(u, again.tokens(g.t), false)
				return
			}
			// Only a rotation that took effect, its answer lost, spends
			// the token without handing out the next one: the client
			// signs in again.
			assert.True(g.t, rep.Hit.Method == "RotateSession" && rep.Hit.Mode == faults.Lost,
				"the refresh token is refused after %v: %s", rep.Hit, again.body)
			assertProblem(g.t, again, http.StatusUnauthorized, "invalid_token")
			g.signIn(u, firstPassword)
		},
	},
	{
		name:    "logout",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/logout", map[string]string{"refresh_token": u.creds[0].refresh})
		},
		want: http.StatusNoContent,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			assert.False(f.t, f.refreshAccepted(u.creds[0].refresh), "the refresh token is refused after logout")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			res := g.post("/logout", map[string]string{"refresh_token": u.creds[0].refresh})
			require.Equal(g.t, http.StatusNoContent, res.status, "POST /logout again: %s", res.body)
			assert.False(g.t, g.refreshAccepted(u.creds[0].refresh), "the refresh token is refused after logout")
		},
	},
	{
		name:    "logout everywhere",
		prepare: signedUpTwice,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/logout-all", u.creds[1].access, nil)
		},
		want: http.StatusNoContent,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			f.noneAccepted(u, "after logout everywhere")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			token := u.creds[1].access
			if !g.accessAccepted(token) {
				token = g.signIn(u, firstPassword).access
			}
			res := g.bearer(http.MethodPost, "/logout-all", token, nil)
			require.Equal(g.t, http.StatusNoContent, res.status, "POST /logout-all again: %s", res.body)
			g.noneAccepted(u, "after logout everywhere")
		},
	},
	{
		name:    "protected host route",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.get("/api/hello", u.creds[0].access)
		},
		want: http.StatusOK,
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			res := g.get("/api/hello", u.creds[0].access)
			require.Equal(g.t, http.StatusOK, res.status, "GET /api/hello again: %s", res.body)
		},
	},
	{
		name:    "list sessions",
		prepare: signedUpTwice,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.get("/sessions", u.creds[0].access)
		},
		want: http.StatusOK,
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			res := g.get("/sessions", u.creds[0].access)
			require.Equal(g.t, http.StatusOK, res.status, "GET /sessions again: %s", res.body)
		},
	},
	{
		name:    "end a session",
		prepare: signedUpTwice,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodDelete, "/sessions/"+sessionOf(u.creds[1].refresh), u.creds[0].access, nil)
		},
		want: http.StatusNoContent,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			assert.False(f.t, f.refreshAccepted(u.creds[1].refresh), "the ended session is refused")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			res := g.bearer(http.MethodDelete, "/sessions/"+sessionOf(u.creds[1].refresh), u.creds[0].access, nil)
			if res.status != http.StatusNoContent {
				assertProblem(g.t, res, http.StatusNotFound, "not_found")
			}
			assert.False(g.t, g.refreshAccepted(u.creds[1].refresh), "the ended session is refused")
			assert.True(g.t, g.refreshAccepted(u.creds[0].refresh), "the other session stands")
		},
	},
	{
		name:    "verify email",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.get("/verify-email/"+u.verify, "")
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			u.spent = append(u.spent, oneTime{u.verify, authkit.PurposeVerifyEmail})
			cur, _ := f.user(u)
			assert.True(f.t, cur.EmailVerified, "verified after a 200")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, rep faults.Report) {
			res := g.get("/verify-email/"+u.verify, "")
			if res.status == http.StatusOK {
				u.spent = append(u.spent, oneTime{u.verify, authkit.PurposeVerifyEmail})
			} else {
				assertBurnt(g.t, rep, res, "UpdateUser")
				g.verifies(u, g.requestLink(u, "/resend-verification", authkit.MessageVerifyEmail))
			}
			cur, _ := g.user(u)
			assert.True(g.t, cur.EmailVerified, "verified in the end")
		},
	},
	resendFlow,
	forgotFlow,
	{
		name: "reset password",
		prepare: func(f *faultEnv, u *faultAccount) {
			signedUpTwice(f, u)
			u.staleReset = f.requestLink(u, "/forgot-password", authkit.MessageResetPassword)
			u.passwords = append(u.passwords, secondPassword)
		},
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/reset-password", map[string]string{"token": u.staleReset, "password": secondPassword})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			u.spent = append(u.spent, oneTime{u.staleReset, authkit.PurposeResetPassword})
			cur, _ := f.user(u)
			assert.True(f.t, hashIs(cur.PasswordHash, secondPassword), "the new password is set after a 200")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, rep faults.Report) {
			if cur, _ := g.user(u); !hashIs(cur.PasswordHash, secondPassword) {
				res := g.post("/reset-password", map[string]string{"token": u.staleReset, "password": secondPassword})
				if res.status != http.StatusOK {
					assertBurnt(g.t, rep, res, "UpdateUser")
					g.resets(u, g.requestLink(u, "/forgot-password", authkit.MessageResetPassword))
				}
			}
			g.onlySecondPassword(u)
		},
	},
	{
		name: "change password",
		prepare: func(f *faultEnv, u *faultAccount) {
			signedUpTwice(f, u)
			u.creds[1].keep = true
			u.staleReset = f.requestLink(u, "/forgot-password", authkit.MessageResetPassword)
			u.passwords = append(u.passwords, secondPassword)
		},
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/change-password", u.creds[1].access,
				map[string]string{"current_password": firstPassword, "new_password": secondPassword})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) {
			cur, _ := f.user(u)
			assert.True(f.t, hashIs(cur.PasswordHash, secondPassword), "the new password is set after a 200")
			assert.True(f.t, f.refreshAccepted(u.creds[1].refresh), "the caller's session stands")
			if access, _ := res.json(f.t)["access_token"].(string); access != "" {
				assert.True(f.t, f.accessAccepted(access), "the fresh access token works")
			}
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			if cur, _ := g.user(u); !hashIs(cur.PasswordHash, secondPassword) {
				token := u.creds[1].access
				if !g.accessAccepted(token) {
					c := g.signIn(u, firstPassword)
					u.creds[len(u.creds)-1].keep = true
					token = c.access
				}
				res := g.bearer(http.MethodPost, "/change-password", token,
					map[string]string{"current_password": firstPassword, "new_password": secondPassword})
				require.Equal(g.t, http.StatusOK, res.status, "POST /change-password again: %s", res.body)
			}
			g.onlySecondPassword(u)
		},
	},
	{
		name:    "decline registration",
		prepare: signedUpTwice,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/decline-registration", map[string]string{"token": u.verify})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			u.spent = append(u.spent, oneTime{u.verify, authkit.PurposeVerifyEmail})
			_, exists := f.user(u)
			assert.False(f.t, exists, "the account is gone after a 200")
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, rep faults.Report) {
			if _, exists := g.user(u); exists {
				res := g.post("/decline-registration", map[string]string{"token": u.verify})
				if res.status != http.StatusOK {
					assertBurnt(g.t, rep, res, "UserByID", "DeleteUser")
					token := g.requestLink(u, "/resend-verification", authkit.MessageVerifyEmail)
					res = g.post("/decline-registration", map[string]string{"token": token})
					require.Equal(g.t, http.StatusOK, res.status, "POST /decline-registration with a fresh link: %s", res.body)
				}
			}
			_, exists := g.user(u)
			require.False(g.t, exists, "the account is gone in the end")
			g.noneAccepted(u, "after the registration was declined")
			res := g.post("/register", loginBody(u, firstPassword))
			require.Equal(g.t, http.StatusCreated, res.status, "the address is free again: %s", res.body)
			g.snapshot(u)
		},
	},
}

// TestFaultsStoreInSecondFactors proves that the flows of the second
// factor fail safe when any one Store (or Limiter) call on their request
// path fails, is cancelled or loses its answer, on memstore and SQLite:
// enrolment (start and confirm), the two steps of a sign-in (with a TOTP
// code and with a recovery code), re-authentication, new recovery codes,
// removal, and a change of password of an enrolled account. Besides the
// checks of every drive, a confirmed factor always has its recovery
// codes, and no factor leaves some behind; no recovery code or TOTP step
// is accepted twice; no sign-in of an enrolled account skips the second
// factor; and a second step that failed leaves its ticket usable or
// spent, never both usable and used.
func TestFaultsStoreInSecondFactors(t *testing.T) {
	for _, eng := range faultEngines {
		for _, fl := range factorFlows {
			t.Run(eng.name+"/"+fl.name, func(t *testing.T) {
				t.Parallel()
				raw, clock := eng.open(t), testkit.NewClock()
				for _, mode := range faults.Modes {
					t.Run(mode.String(), func(t *testing.T) {
						n := driveFaults(t, raw, clock, fl, mode, faults.Marked, false)
						t.Logf("%d faults injected", n)
					})
				}
			})
		}
	}
}

// enrolledUp registers the account and enrols a TOTP factor with the
// access token of its registration, which stays recent enough for the
// sensitive routes.
func enrolledUp(f *faultEnv, u *faultAccount) {
	f.signUp(u)
	f.enrolsQuickly(u, u.creds[0].access)
}

// enrolledUpTwice registers the account, enrols a TOTP factor and signs
// in again, in two steps.
func enrolledUpTwice(f *faultEnv, u *faultAccount) {
	enrolledUp(f, u)
	f.signIn(u, firstPassword)
}

// challenged registers the account, enrols a factor and logs in with
// the password, so that a ticket waits for the second step.
func challenged(f *faultEnv, u *faultAccount) {
	enrolledUp(f, u)
	u.pending = f.ticketOf(f.post("/login", loginBody(u, firstPassword)))
}

// secondStepFlow finishes a sign-in with a TOTP code, or a recovery code.
func secondStepFlow(name string, recovery bool) faultFlow {
	return faultFlow{
		name:    name,
		prepare: challenged,
		act: func(f *faultEnv, u *faultAccount) response {
			u.code = f.secondCode(u, recovery)
			return f.secondStep(u, u.pending, u.code)
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) {
			u.secondStepDone(u.pending, u.code, recovery)
			holdWorking(f, u, res)
			assert.False(f.t, f.oneTimeAccepted(u.pending.token, purposeTicket), "the ticket is spent after a 200")
			// The code is spent too: a new ticket does not take it again.
			replay := f.secondStep(u, f.ticketOf(f.post("/login", loginBody(u, firstPassword))), u.code)
			assertProblem(f.t, replay, http.StatusUnauthorized, "invalid_credentials")
		},
		retry: func(g *faultEnv, u *faultAccount, res response, rep faults.Report) {
			if res.status == http.StatusOK {
				return
			}
			if !g.oneTimeAccepted(u.pending.token, purposeTicket) {
				// The ticket is spent only once the code is: a fault
				// before leaves it for another code.
				assert.True(g.t, hitAfter(rep, "ConsumeToken"), "the ticket is refused after %v", rep.Hit)
			}
			g.finishSignIn(u, u.pending, recovery)
		},
	}
}

// hitAfter reports whether the fault hit the first call of method, and
// took effect (its answer lost), or a later call.
func hitAfter(rep faults.Report, method string) bool {
	i := slices.Index(rep.Methods, method)
	return rep.Injected && i >= 0 && (rep.Hit.N-1 > i || rep.Hit.N-1 == i && rep.Hit.Mode == faults.Lost)
}

// factorFlows are the flows of the second factor, each driven through a
// failure of every Store call on its request path.
var factorFlows = []faultFlow{
	{
		name:    "start totp",
		prepare: signedUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/second-factor/totp", u.creds[0].access, nil)
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) { f.started(u, res) },
		retry: func(g *faultEnv, u *faultAccount, res response, _ faults.Report) {
			if res.status != http.StatusOK {
				g.startsTOTP(u, u.creds[0].access)
			}
			g.confirmsTOTP(u, u.creds[0].access)
		},
	},
	{
		name: "confirm totp",
		prepare: func(f *faultEnv, u *faultAccount) {
			f.signUp(u)
			f.putPending(u)
		},
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/second-factor/totp/confirm", u.creds[0].access, map[string]string{"code": f.nextCode(u)})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) {
			u.lastStep = u.step
			f.newCodes(u, res)
		},
		retry: func(g *faultEnv, u *faultAccount, res response, _ faults.Report) {
			fac, has := g.factor(u)
			switch {
			case res.status == http.StatusOK:
			case !has:
				// The enrolment was abandoned: the user starts again.
				g.enrols(u, u.creds[0].access)
			case fac.ConfirmedAt.IsZero():
				g.confirmsTOTP(u, u.creds[0].access)
			default:
				g.t.Errorf("a confirmation answered %d, yet the factor is on: %s", res.status, res.body)
			}
		},
	},
	{
		name:    "login with a second factor",
		prepare: enrolledUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post("/login", loginBody(u, firstPassword))
		},
		want: http.StatusUnauthorized,
		done: func(f *faultEnv, _ *faultAccount, res response) {
			tk := f.ticketOf(res)
			assert.True(f.t, f.oneTimeAccepted(tk.token, purposeTicket), "the ticket of a 401 works")
		},
		retry: func(g *faultEnv, u *faultAccount, res response, _ faults.Report) {
			if res.status == http.StatusUnauthorized {
				g.secondStepWorks(u, g.ticketOf(res), false)
				return
			}
			g.signIn(u, firstPassword)
		},
	},
	secondStepFlow("second step with a totp code", false),
	secondStepFlow("second step with a recovery code", true),
	{
		name:    "reauthenticate",
		prepare: enrolledUpTwice,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/reauthenticate", u.creds[1].access,
				map[string]string{"password": firstPassword, "code": f.nextCode(u)})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) { f.reauthenticated(u, res) },
		retry: func(g *faultEnv, u *faultAccount, res response, _ faults.Report) {
			if res.status == http.StatusOK {
				return
			}
			res = g.bearer(http.MethodPost, "/reauthenticate", u.creds[1].access,
				map[string]string{"password": firstPassword, "code": g.nextCode(u)})
			require.Equal(g.t, http.StatusOK, res.status, "POST /reauthenticate again: %s", res.body)
			g.reauthenticated(u, res)
		},
	},
	{
		name:    "regenerate recovery codes",
		prepare: enrolledUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/second-factor/recovery-codes", u.creds[0].access, nil)
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) { f.newCodes(u, res) },
		retry: func(g *faultEnv, u *faultAccount, res response, _ faults.Report) {
			if res.status == http.StatusOK {
				return
			}
			g.newCodes(u, g.regenerates(u, u.creds[0].access))
			g.finishSignIn(u, ticket{}, true) // with a code of the new set
		},
	},
	{
		name:    "disable totp",
		prepare: enrolledUp,
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodDelete, "/second-factor/totp", u.creds[0].access, nil)
		},
		want: http.StatusNoContent,
		done: func(f *faultEnv, u *faultAccount, _ response) { f.removed(u) },
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			if _, has := g.factor(u); has {
				res := g.bearer(http.MethodDelete, "/second-factor/totp", u.creds[0].access, nil)
				require.Equal(g.t, http.StatusNoContent, res.status, "DELETE /second-factor/totp again: %s", res.body)
			}
			g.removed(u)
			g.signIn(u, firstPassword) // in one step
		},
	},
	{
		name: "change password with a second factor",
		prepare: func(f *faultEnv, u *faultAccount) {
			enrolledUpTwice(f, u)
			u.creds[1].keep = true
			u.staleReset = f.requestLink(u, "/forgot-password", authkit.MessageResetPassword)
			u.passwords = append(u.passwords, secondPassword)
		},
		act: func(f *faultEnv, u *faultAccount) response {
			return f.bearer(http.MethodPost, "/change-password", u.creds[1].access,
				map[string]string{"current_password": firstPassword, "new_password": secondPassword})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, res response) {
			flowNamed(f.t, "change password").done(f, u, res)
			if _, ok := res.json(f.t)["access_token"].(string); ok {
				f.freshWithFactor(res)
			}
		},
		retry: func(g *faultEnv, u *faultAccount, res response, rep faults.Report) {
			flowNamed(g.t, "change password").retry(g, u, res, rep)
		},
	},
}

// regenerates asks for new recovery codes with access, which must work,
// and returns the answer.
func (f *faultEnv) regenerates(u *faultAccount, access string) response {
	f.t.Helper()
	res := f.bearer(http.MethodPost, "/second-factor/recovery-codes", access, nil)
	require.Equal(f.t, http.StatusOK, res.status, "POST /second-factor/recovery-codes for %s: %s", u.email, res.body)
	return res
}

// freshWithFactor checks the access token of an answer: it works, and
// says that it comes of a sign-in with the second factor. It returns the
// token's claims.
func (f *faultEnv) freshWithFactor(res response) *authkit.Claims {
	f.t.Helper()
	access, _ := res.json(f.t)["access_token"].(string)
	claims, err := f.check.VerifyAccessToken(context.Background(), access)
	require.NoError(f.t, err, "the access token of a %d", res.status)
	assert.True(f.t, f.accessAccepted(access), "the access token of a %d works", res.status)
	assert.Contains(f.t, claims.AuthMethods, authkit.MethodMFA, "the amr of the access token of a %d", res.status)
	return claims
}

// reauthenticated checks the answer of a re-authentication: its access
// token says the second factor was used, now.
func (f *faultEnv) reauthenticated(u *faultAccount, res response) {
	f.t.Helper()
	u.lastStep = u.step
	claims := f.freshWithFactor(res)
	if assert.NotNil(f.t, claims.AuthTime, "auth_time") {
		assert.True(f.t, claims.AuthTime.Equal(f.clock.Now().Truncate(time.Second)), "auth_time %v is now", claims.AuthTime)
	}
}

// mailFlow is a request for a mailed link (path) of kind: the request
// must be answered, the link it mails (if its mail went out) must work,
// older links of the kind must not, and asking again mails a link that
// use accepts. spent, if not nil, records the links the request spends.
func mailFlow(name, path string, kind authkit.MessageKind, spent func(*faultEnv, *faultAccount), use func(*faultEnv, *faultAccount, string)) faultFlow {
	purpose := authkit.PurposeVerifyEmail
	if kind == authkit.MessageResetPassword {
		purpose = authkit.PurposeResetPassword
	}
	return faultFlow{
		name: name,
		prepare: func(f *faultEnv, u *faultAccount) {
			f.signUp(u)
			u.passwords = append(u.passwords, secondPassword)
		},
		act: func(f *faultEnv, u *faultAccount) response {
			return f.post(path, map[string]string{"email": u.email})
		},
		want: http.StatusOK,
		done: func(f *faultEnv, u *faultAccount, _ response) {
			// The env has settled: a link that was made has been mailed.
			if f.mail.Count(kind) == 0 {
				return
			}
			token := f.mailed(kind)
			assert.True(f.t, f.oneTimeAccepted(token, purpose), "the mailed %s link works", kind)
			if spent != nil {
				spent(f, u)
			}
		},
		retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
			use(g, u, g.requestLink(u, path, kind))
		},
	}
}

// registerFlow signs up a new account; its verification link is mailed
// off the request path.
var registerFlow = faultFlow{
	name: "register",
	act: func(f *faultEnv, u *faultAccount) response {
		return f.post("/register", loginBody(u, firstPassword))
	},
	want: http.StatusCreated,
	done: holdWorking,
	retry: func(g *faultEnv, u *faultAccount, _ response, _ faults.Report) {
		if _, ok := g.user(u); !ok {
			res := g.post("/register", loginBody(u, firstPassword))
			require.Equal(g.t, http.StatusCreated, res.status, "POST /register again: %s", res.body)
			g.hold(u, res.tokens(g.t), false)
			g.mailed(authkit.MessageVerifyEmail) // superseded below
		}
		g.signIn(u, firstPassword)
		g.verifies(u, g.requestLink(u, "/resend-verification", authkit.MessageVerifyEmail))
	},
}

// resendFlow asks for a fresh verification link, which spends the older.
var resendFlow = mailFlow("resend verification", "/resend-verification", authkit.MessageVerifyEmail,
	func(f *faultEnv, u *faultAccount) {
		u.spent = append(u.spent, oneTime{u.verify, authkit.PurposeVerifyEmail})
	},
	func(g *faultEnv, u *faultAccount, token string) { g.verifies(u, token) })

// forgotFlow asks for a reset link.
var forgotFlow = mailFlow("forgot password", "/forgot-password", authkit.MessageResetPassword, nil,
	func(g *faultEnv, u *faultAccount, token string) {
		g.resets(u, token)
		g.onlySecondPassword(u)
	})

// mailFlows are the flows whose mail is built from the Store off the
// request path.
var mailFlows = []faultFlow{
	registerFlow,
	resendFlow,
	forgotFlow,
}

// noneAccepted checks that no credential the account was given works.
func (f *faultEnv) noneAccepted(u *faultAccount, when string) {
	f.t.Helper()
	for i, c := range u.creds {
		assert.False(f.t, f.refreshAccepted(c.refresh), "refresh token %d %s", i, when)
		assert.False(f.t, f.accessAccepted(c.access), "access token %d %s", i, when)
	}
}

// assertBurnt checks res, the refusal of a one-time link retried after a
// fault: a link is spent (atomically, so that it is single-use) before
// the steps it authorizes, so when one of those steps failed, or the
// answer to the spending was lost, the link is gone and the user asks for
// a fresh one. Any other fault must have left the link working.
func assertBurnt(t testing.TB, rep faults.Report, res response, after ...string) {
	t.Helper()
	burnt := rep.Injected && (rep.Hit.Method == "ConsumeToken" && rep.Hit.Mode == faults.Lost || slices.Contains(after, rep.Hit.Method))
	assert.True(t, burnt, "the link is refused after %v: %s", rep.Hit, res.body)
	assertProblem(t, res, http.StatusBadRequest, "invalid_token")
}

// flowNamed returns the request flow of that name.
func flowNamed(t testing.TB, name string) faultFlow {
	t.Helper()
	for _, fl := range requestFlows {
		if fl.name == name {
			return fl
		}
	}
	t.Fatalf("no flow %q", name)
	return faultFlow{}
}

// TestFaultsMailerNeverChangesTheAnswer proves that a Mailer that fails
// once, fails always or hangs changes nothing in the answer of a flow
// that mails (not its status, its body or its headers, and it leaks no
// mail error), never holds the answer back, and loses no message it could
// deliver in the end.
func TestFaultsMailerNeverChangesTheAnswer(t *testing.T) {
	mails := []struct {
		flow string
		kind authkit.MessageKind
	}{
		{"register", authkit.MessageVerifyEmail},
		{"resend verification", authkit.MessageVerifyEmail},
		{"forgot password", authkit.MessageResetPassword},
		{"reset password", authkit.MessagePasswordChanged},
		{"change password", authkit.MessagePasswordChanged},
	}
	for _, m := range mails {
		fl := flowNamed(t, m.flow)
		t.Run(m.flow, func(t *testing.T) {
			t.Parallel()
			// What the flow answers when mail works.
			f := newFaultEnv(t, memstore.New(), testkit.NewClock())
			defer f.close()
			base := newAccount(m.flow+"-baseline", 0)
			if fl.prepare != nil {
				fl.prepare(f, base)
			}
			want := fl.act(f, base)
			require.Equal(t, fl.want, want.status, "the answer with working mail: %s", want.body)
			f.mail.Next(t, m.kind)

			for i, tc := range []struct {
				name string
				arm  func(*faults.Mailer)
				// after checks the mail once the answer is in.
				after func(t *testing.T, f *faultEnv)
			}{{
				name: "the first send fails",
				arm:  func(m *faults.Mailer) { m.Arm(1, faults.MailFail) },
				after: func(t *testing.T, f *faultEnv) {
					f.mail.Next(t, m.kind) // retried, and delivered
					assert.Equal(t, 1, f.mailer.Failed(), "sends failed")
				},
			}, {
				name: "the send hangs",
				arm:  func(m *faults.Mailer) { m.Arm(1, faults.MailBlock) },
				after: func(t *testing.T, f *faultEnv) {
					held := testkit.Receive(t, f.mailer.Held(), "the held send")
					assert.Equal(t, m.kind, held.Kind, "the message held")
					f.mailer.Disarm()
					f.mail.Next(t, m.kind) // let through, and delivered
				},
			}, {
				name: "every send fails",
				arm:  func(m *faults.Mailer) { m.ArmAll(faults.MailFail) },
				after: func(t *testing.T, f *faultEnv) {
					f.settle()
					assert.Zero(t, f.mail.Count(m.kind), "no %s mail got through a mailer that always fails", m.kind)
					assert.Equal(t, 1, f.events.count(authkit.EventMailFailed, "gave_up"), "the lost message is reported")
				},
			}} {
				t.Run(tc.name, func(t *testing.T) {
					f := newFaultEnv(t, memstore.New(), testkit.NewClock())
					defer f.close()
					u := newAccount(m.flow+"-"+tc.name, i)
					if fl.prepare != nil {
						fl.prepare(f, u)
					}
					tc.arm(f.mailer)
					var got response
					// Were the answer to wait for the mail, a held send
					// would keep it until the mailer is disarmed, below.
					testkit.Finish(t, "the request", func() { got = fl.act(f, u) })
					assertSameAnswer(t, want, got)
					assert.Empty(t, leaked(got), "the answer leaks nothing of the mailer's failure")
					tc.after(t, f)
					f.mailer.Disarm()
				})
			}
		})
	}
}

// assertSameAnswer checks that got is the answer want is, but for the
// values that differ from one account to another.
func assertSameAnswer(t testing.TB, want, got response) {
	t.Helper()
	assert.Equal(t, want.status, got.status, "status; body %s", got.body)
	for _, h := range []string{"Content-Type", "Cache-Control", "Retry-After", "WWW-Authenticate"} {
		assert.Equal(t, want.header.Get(h), got.header.Get(h), "header %s", h)
	}
	assert.Equal(t, len(want.header.Values("Set-Cookie")), len(got.header.Values("Set-Cookie")), "cookies set")
	if len(want.body) == 0 {
		assert.Empty(t, got.body, "body")
		return
	}
	wantBody, gotBody := want.json(t), got.json(t)
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return out
	}
	assert.ElementsMatch(t, keys(wantBody), keys(gotBody), "members of the body %s", got.body)
	for _, k := range []string{"message", "token_type", "expires_in", "code", "detail"} {
		assert.Equal(t, wantBody[k], gotBody[k], "member %s", k)
	}
}

// TestFaultChecksCatchBrokenState proves that the invariants the drives
// check are real: each state that a half-done flow could leave, written
// straight into the Store, is reported.
func TestFaultChecksCatchBrokenState(t *testing.T) {
	hashOf := func(password string) *string {
		h, _ := quickHasher{}.Hash(password)
		return &h
	}
	no, yes := false, true
	for _, tc := range []struct {
		name string
		// breaks writes the broken state behind the kit's back.
		breaks func(f *faultEnv, u *faultAccount)
		want   string
	}{{
		name:   "a user without a password hash",
		breaks: func(f *faultEnv, u *faultAccount) { f.write(u, authkit.UserUpdate{PasswordHash: new(string)}) },
		want:   "has no password hash",
	}, {
		name: "a hash of a password nobody gave",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{PasswordHash: hashOf("not-a-password"), BumpTokenVersion: true, EndSessions: true})
		},
		want: "a hash of no password it was given",
	}, {
		name: "disabled, its sessions left",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{Active: &no, BumpTokenVersion: true})
		},
		want: "disabled user keeps 2 sessions",
	}, {
		name: "disabled, then enabled, its sessions left",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{Active: &no})
			f.write(u, authkit.UserUpdate{Active: &yes})
		},
		want: "", // nothing moved: the sessions rightly stand
	}, {
		name:   "logged out everywhere, its sessions left",
		breaks: func(f *faultEnv, u *faultAccount) { f.write(u, authkit.UserUpdate{BumpTokenVersion: true}) },
		want:   "session 0 from before token version 1 is still accepted",
	}, {
		name: "a reset that set the password and nothing else",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{PasswordHash: hashOf(secondPassword)})
		},
		want: "the password changed but the token version stayed 0",
	}, {
		name: "a reset that set the password and cut off access tokens, its sessions left",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{PasswordHash: hashOf(secondPassword), BumpTokenVersion: true})
		},
		want: "session 0 from before token version 1 is still accepted",
	}, {
		name: "a password changed, a reset link mailed before it left",
		breaks: func(f *faultEnv, u *faultAccount) {
			f.write(u, authkit.UserUpdate{PasswordHash: hashOf(secondPassword), BumpTokenVersion: true, EndSessions: true})
		},
		want: "a reset link mailed before the password changed is still accepted",
	}, {
		name: "a spent link accepted again",
		breaks: func(_ *faultEnv, u *faultAccount) {
			u.spent = append(u.spent, oneTime{u.verify, authkit.PurposeVerifyEmail})
		},
		want: "a spent verify_email token is accepted again",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFaultEnv(t, memstore.New(), testkit.NewClock())
			defer f.close()
			u := newAccount("broken", 0)
			signedUpTwice(f, u)
			u.staleReset = f.requestLink(u, "/forgot-password", authkit.MessageResetPassword)
			u.passwords = append(u.passwords, secondPassword)
			require.Empty(t, f.violations(u), "the sound state")
			tc.breaks(f, u)
			got := f.violations(u)
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, strings.Join(got, "\n"), tc.want, "the violations reported")
		})
	}

	// The states of second factors, on an account that enrolled, signed
	// in with its factor and then logged in again, whose ticket waits.
	for _, tc := range []struct {
		name   string
		breaks func(f *faultEnv, u *faultAccount)
		want   string
	}{{
		name: "a confirmed factor without its recovery codes",
		breaks: func(f *faultEnv, u *faultAccount) {
			require.NoError(t, f.factors().ReplaceRecoveryCodes(context.Background(), u.id, nil, f.clock.Now()))
		},
		want: "a confirmed factor has 0 recovery codes left, of a set of 10 of which the account tried 1",
	}, {
		name: "a factor removed, its recovery codes left",
		breaks: func(f *faultEnv, u *faultAccount) {
			require.NoError(t, f.factors().DeleteTOTP(context.Background(), u.id))
			f.putCodes(u)
		},
		want: "no factor, yet 9 recovery codes are left",
	}, {
		name: "a spent recovery code accepted again",
		breaks: func(_ *faultEnv, u *faultAccount) {
			u.voidCodes = append(u.voidCodes, u.recovery[0])
		},
		want: "a spent recovery code is accepted again",
	}, {
		name: "a TOTP step accepted again",
		breaks: func(f *faultEnv, u *faultAccount) {
			ctx := context.Background()
			fac, _ := f.factor(u)
			require.NoError(t, f.factors().DeleteTOTP(ctx, u.id))
			require.NoError(t, f.factors().PutTOTP(ctx, fac))
			require.NoError(t, f.factors().ConfirmTOTP(ctx, u.id, fac.ConfirmedAt, fac.LastStep-1))
			f.putCodes(u)
		},
		want: "was accepted, yet the factor's last step is",
	}, {
		name:   "a sign-in that skipped the second factor",
		breaks: func(f *faultEnv, u *faultAccount) { f.putSession(u, authkit.MethodPassword) },
		want:   "a session begun after the factor was confirmed lacks the second factor (amr [pwd])",
	}, {
		name: "a second step that signed in, its ticket left",
		breaks: func(f *faultEnv, u *faultAccount) {
			u.tickets = append(u.tickets, u.pending)
			f.clock.Advance(30 * time.Second)
			f.putSession(u, authkit.MethodPassword, authkit.MethodOTP, authkit.MethodMFA)
		},
		want: "a ticket is still accepted after a sign-in with the second factor that followed it",
	}, {
		name:   "a ticket that never signed in, left",
		breaks: func(_ *faultEnv, u *faultAccount) { u.tickets = append(u.tickets, u.pending) },
		want:   "", // a second step that failed before it spent anything
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFaultEnv(t, memstore.New(), testkit.NewClock())
			defer f.close()
			u := newAccount("broken-factor", 0)
			enrolledUpTwice(f, u)
			u.pending = f.ticketOf(f.post("/login", loginBody(u, firstPassword)))
			require.Empty(t, f.violations(u), "the sound state")
			tc.breaks(f, u)
			got := f.violations(u)
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, strings.Join(got, "\n"), tc.want, "the violations reported")
		})
	}

	t.Run("an answer that leaks", func(t *testing.T) {
		err := &faults.Error{Method: "UserByID"}
		for _, res := range []response{
			{status: http.StatusInternalServerError, body: []byte(`{"detail":"` + err.Error() + `"}`)},
			{status: http.StatusInternalServerError, header: http.Header{"X-Error": {"sqlstore: user by id: context canceled"}}},
		} {
			assert.NotEmpty(t, leaked(res), "leaked(%s %s)", res.header, res.body)
		}
	})
}

// putCodes stores the recovery codes the account holds as its whole set,
// behind the kit's back.
func (f *faultEnv) putCodes(u *faultAccount) {
	f.t.Helper()
	hashes := make([]string, len(u.recovery))
	for i, code := range u.recovery {
		hashes[i] = recoveryHash(code)
	}
	require.NoError(f.t, f.factors().ReplaceRecoveryCodes(context.Background(), u.id, hashes, f.clock.Now()), "raw ReplaceRecoveryCodes")
}

// putSession stores a session of the account begun now with methods,
// behind the kit's back.
func (f *faultEnv) putSession(u *faultAccount, methods ...string) {
	f.t.Helper()
	now := f.clock.Now()
	s := authkit.Session{
		ID: "00000000-0000-4000-8000-000000000001", UserID: u.id, RefreshHash: strings.Repeat("0", 64),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), AuthMethods: methods, AuthTime: now,
	}
	require.NoError(f.t, f.raw.CreateSession(context.Background(), s), "raw CreateSession")
}

// write applies upd to the account's user in the raw Store, behind the
// kit's back.
func (f *faultEnv) write(u *faultAccount, upd authkit.UserUpdate) {
	f.t.Helper()
	_, err := f.raw.UpdateUser(context.Background(), u.id, upd)
	require.NoError(f.t, err, "raw UpdateUser")
}
