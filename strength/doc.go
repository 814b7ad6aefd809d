// Package strength refuses passwords that are easy to guess by the
// strength estimate of zxcvbn (github.com/trustelem/zxcvbn, a Go port of
// Dropbox's zxcvbn 4.4.2): it finds the patterns an attacker tries first
// (common passwords, names, English words, keyboard walks, repeats,
// sequences, dates, l33t spellings, the user's own details) and scores
// the guesses they leave on a scale of 0 to 4.
//
// It is opt-in, and a package of its own, because of what zxcvbn costs:
// its dictionaries are built when the program starts, in every program
// that imports this package, whether or not it ever checks a password.
// Measured with GODEBUG=inittrace=1 on a 2-core machine: 15 to 25 ms of
// init (more on a slower or busier one) and 11.5 MB allocated, 8 MB of it
// still live after init; the binary grows by about 2.5 MB. A check then
// takes about 0.5 ms. The root package's
// default policy (authkit.DefaultPasswordPolicy) costs nothing at init:
// it searches its list as embedded.
//
// # Quick start
//
//	cfg.PasswordPolicy = authkit.PasswordPolicies(
//		authkit.DefaultPasswordPolicy,
//		strength.Policy{MinScore: 3}.Check,
//	)
//
// A refusal has the code authkit.CodePasswordTooWeak and a message that
// says what made the password weak, such as "This is a very common
// password. Add another word or two. Uncommon words are better.": the
// port of zxcvbn gives no feedback of its own, so Check words the longest
// pattern it found as the original zxcvbn does.
//
// NIST SP 800-63B asks for no composition rules, and a strength estimate
// is not one: it never asks for a digit or a symbol, only for something
// hard to guess.
package strength
