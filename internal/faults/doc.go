// Package faults injects failures into the two things an Authenticator
// depends on, so that tests can prove every flow fails safe: a Store that
// fails its Nth call, and a Mailer that fails or holds its Nth message.
//
// Wrap a Store with Wrap: over an authkit.FactorStore (memstore and
// sqlstore are) it returns a FactorStore, whose second-factor calls count
// and fail like the others; over a Store without second factors, a Store,
// which an Authenticator finds without them too.
//
// # Driving a flow through every fault
//
// A test arms the Store with a Fault for call N, runs the flow, disarms it
// and reads the Report: whether call N was reached, which method it was,
// and how many calls the flow made. It does so for N = 1, 2, 3, … until a
// flow makes fewer than N calls, so that every call the flow makes fails
// once. After each run the test checks the data against the Store the
// wrapper wraps, which no fault touches.
//
// Which calls count is the Fault's to say (Fault.Counts): a flow's calls
// on the request path run in a fixed order, while the kit's background
// work (building mail) runs beside them on its own goroutines. Mark the
// request's context, and count Marked calls for the first or Unmarked ones
// for the second, and the Nth call is the same call in every run.
//
// # How a call fails
//
// Mode Fail returns an *Error at once, without calling the wrapped Store,
// as a database that cannot be reached. Its message reads like a driver's
// and names a table, a query and drivers (see Leaks), none of which may
// ever reach an HTTP client. Mode Cancel calls the wrapped Store with a
// context already cancelled, as when a client hangs up during the call.
// Mode Lost calls the wrapped Store with the caller's context, so that the
// call takes effect, and then reports context.DeadlineExceeded, as a
// driver does when the deadline passes while it waits for the answer to a
// statement that has already run: the caller cannot tell whether it
// happened. A cancellation in the middle of a transaction rolls it back,
// which for a transactional Store is Fail; Lost is the case a rollback
// cannot cover.
//
// Nothing here is safe to use outside tests.
package faults
