// Package memstore is an in-memory authkit.Store for tests, examples and
// single-process experiments.
//
// It keeps everything in maps behind one read-write mutex, so it is safe for
// concurrent use, and it passes the same conformance suite (package
// storetest) as the SQL stores: emails are unique ignoring case, one-time
// tokens are spent once, refresh rotation is a compare-and-swap. It keeps
// second factors as well (authkit.FactorStore): TOTP factors and recovery
// codes, with the SQL Store's limits on their sizes. Values are copied on
// the way in and on the way out, so a caller can never reach into the
// store's memory.
//
// Nothing is persisted: the data lives as long as the *Store value.
//
// # Quick start
//
//	a, err := authkit.New(authkit.Config{
//		Store: memstore.New(),
//		// …
//	})
//
// # Security
//
// The store keeps what the Authenticator gives it: password hashes, the
// SHA-256 of tokens, hashes of recovery codes and encrypted TOTP secrets,
// never the secrets themselves. It is not meant for
// production use: a restart forgets every account, and several processes
// cannot share it.
package memstore
