// Package testkit holds the test doubles that the tests of every authkit
// package share: a settable clock for Config.Now, a Mailbox that captures
// the messages an Authenticator sends, TokenOf to read the token out of a
// mailed link, a LogBuffer for a test's logger, and a Gate that holds
// callers until the test lets them through.
//
// # Structure, not stopwatches
//
// These helpers exist so that no test bounds elapsed wall-clock time: a
// loaded CI machine can make anything slow, so "it took less than a
// second" fails for the wrong reason. Instead a test proves what did not
// happen by holding it. To show that a request does not wait for its mail,
// send the mail through a BlockingMailer that is never opened during the
// request: if the request waited, it would never return. The helpers that
// wait (Mailbox.Next, Gate.Entered, Finish, Receive) give up only after
// Timeout, which is long enough never to fire on a slow machine and exists
// only to turn a hang into a failure that says what hung.
//
// Likewise Mailbox.None does not wait for mail that might still come: it
// reports what has been sent so far, so call it once nothing more can be
// sent, such as after the Authenticator's Close has drained its queue.
//
// Every helper takes a testing.TB, calls Helper, and is safe for
// concurrent use.
package testkit
