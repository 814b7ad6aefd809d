package testkit

import (
	"testing"
	"time"
)

// Timeout is how long the helpers that wait for something (Mailbox.Next,
// Gate.Entered, Finish, Receive) give it before they fail the test. It is
// a watchdog that turns a hang into a failure naming what hung, never a
// bound on how fast the code must be: generous enough that a loaded
// machine running the tests under -race does not reach it.
const Timeout = 30 * time.Second

// Finish runs f on its own goroutine and waits for it to return. If f has
// not returned within Timeout it fails t, saying that what hung, and
// leaves f running. Use it around a call that would block forever if the
// behaviour under test broke (a request that waits for a held mailer, say),
// so that the breakage fails the test rather than the test binary's
// -timeout. f runs on another goroutine, so it should report with assert,
// or hand its results back through variables it captures: t.FailNow (as
// require calls it) would end only f.
func Finish(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s hung: still running after %s", what, Timeout)
	}
}

// Receive waits for a value from ch and returns it. It fails t, saying
// that what never came, if none arrives within Timeout or ch is closed.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(Timeout)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-timer.C:
		t.Fatalf("%s hung: nothing within %s", what, Timeout)
	}
	var zero T
	return zero
}
