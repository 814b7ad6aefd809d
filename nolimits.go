package authkit

// NoLimits is a Limits with every rate limit switched off (each Limit's
// Off is set); the network prefixes keep their defaults. It is for tests
// and benchmarks, where a run of wrong passwords or a burst of
// registrations from one address must not turn into a *RateLimitError:
//
//	cfg.Limits = authkit.NoLimits
//
// The bound on the codes tried against one second-factor ticket is not a
// Limits field and stays on.
//
// Never use it in production: with it, nothing bounds how fast anyone
// guesses passwords or makes the service send mail. It is a variable only
// because Go has no constant structs; do not modify it.
var NoLimits = Limits{
	LoginFailures:          Limit{Off: true},
	LoginFailuresSustained: Limit{Off: true},
	LoginFailuresDevice:    Limit{Off: true},
	LoginAddr:              Limit{Off: true},
	RegisterAddr:           Limit{Off: true},
	MailAddr:               Limit{Off: true},
	MailEmail:              Limit{Off: true},
	TokenAddr:              Limit{Off: true},
}
