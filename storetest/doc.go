// Package storetest is the conformance suite for implementations of
// authkit.Store. Every Store that ships with authkit passes it, and so should
// any Store written outside the module.
//
// An implementation adopts the suite in one line of its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) authkit.Store { return mystore.New() })
//	}
//
// Run calls newStore once for every subtest and expects a fresh, empty store
// each time; a database-backed store typically gives each call its own schema
// or database and drops it with t.Cleanup.
//
// The suite checks the whole contract documented on authkit.Store: the
// results and errors of every method (by errors.Is on authkit.ErrNotFound,
// authkit.ErrAlreadyExists and authkit.ErrConflict, never by message text),
// case-insensitive email uniqueness, that times come back equal and in UTC,
// that returned values do not alias the store's memory, that a cancelled
// context makes calls fail, and the atomicity promises under real
// concurrency: 50 goroutines at once create the same email, consume one
// token, rotate one session, rotate a session each, swap one password hash
// and bump one token version. A database-backed store should run it over a connection pool of
// at least 8 connections so those races really happen in the database.
//
// A Store that also implements authkit.FactorStore gets its contract checked
// too, in the subtests under Factor: enrolment, confirmation and deletion of
// TOTP factors, replay protection of time steps, recovery codes scoped to
// their user, DeleteUser taking both along, copies of Secret, cancelled
// contexts, and under concurrency one winner among calls that use one
// recovery code, one time step or confirm one factor, concurrent enrolments
// and replacements of recovery codes that leave exactly one of them whole,
// and a deletion of the user in the middle of it all that leaves nothing
// behind. A Store without FactorStore skips Factor and passes the suite.
//
// A Store that also implements authkit.UserWatcher runs RunUserWatcher as
// well, with a second Store over the same data, as another instance of a
// service would have: every change but a touch, through either store, is
// reported within DeliveryBound; touches and failed changes are not; 50
// concurrent updates are all reported; WatchUsers returns when its context
// ends.
//
// The suite passes times the way the Authenticator does: UTC, truncated to
// the microsecond. Ids are random version 4 UUIDs and token and refresh
// hashes are 64 lower-case hex digits, so stores may use native UUID and
// fixed-width columns; recovery code hashes are too, and TOTP secrets are
// random bytes of up to 512. Tokens and sessions are only ever created for users
// that exist, so stores may enforce foreign keys.
package storetest
