// Package bench measures authkit's middleware against its peers: a minimal
// golang-jwt/jwt middleware, go-chi/jwtauth and auth0's go-jwt-middleware,
// in process, over loopback, and in the reference server. It is a module
// of its own, so that the peers never become dependencies of authkit's
// importers. BENCHMARKS.md in the repository root says how to run it and
// what it measured.
package bench
