// Package breach refuses passwords that have appeared in data breaches,
// as NIST SP 800-63B section 3.1.1.2 asks, by the k-anonymity range
// protocol of Pwned Passwords: only the first five hex digits of the
// password's SHA-1 leave the process, and the service answers with the
// suffixes of every breached password that shares them (some 800 to 1,000,
// padded with fake ones when asked), among which the Checker looks for the
// password's own.
//
// It is a package of its own because it calls a service over the network,
// which not every host wants on its sign-up path; the root package's
// default policy (authkit.DefaultPasswordPolicy) checks a local list
// instead.
//
// # Quick start
//
//	checker, err := breach.New(breach.Config{})
//	if err != nil { … }
//	cfg.PasswordPolicy = authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, checker.Policy)
//
// # Failures
//
// When the service cannot answer (down, slow, an error status, an answer
// not in the protocol's form or too large), the check fails closed by
// default: the flow fails with an error wrapping ErrUnavailable, which
// wraps authkit.ErrBusy, so httpauth answers 503 unavailable and the user
// may retry; nothing is set unchecked. Config.FailOpen accepts the password
// instead (and logs the failure), trading the check for availability.
//
// # Security
//
// The prefix alone narrows the password to one of about a million hash
// buckets: the service, or whoever it is, learns nothing it can use to
// sign in, but it does learn that a password of that bucket is being set
// now, by the host's address. Use https (the default), keep padding on
// (Config.NoPadding false) so that the size of the answer does not say
// how many suffixes the bucket holds, and point BaseURL at a mirror of
// the corpus of your own if even the prefix must not leave your network.
package breach
