package authkit

import "context"

// The budgets of password guesses: what a login or a change of password
// spends before it checks a password, and gives back when it was right.

// guess is a password check that a flow has paid for: the budgets it
// spent, so that a right password can give them back.
type guess struct {
	// email is the account's normalized email: the ceiling's key.
	email string
	// network is the strict budget's key: the email and the client's
	// network (accountNetwork).
	network string
	// device is the id of the known device whose budget was spent instead
	// of the account's, or "".
	device string
}

// spendGuess takes one unit of the failure budgets that a password check
// for email by c must spend (see Limits), before the password is checked,
// and refuses with a *RateLimitError, checking nothing, when one is spent.
// It answers alike whether the account exists and whatever the password:
// a right password then gives back what it may (guessedRight). Spending
// first, rather than counting failures after the check, is what holds
// concurrent guesses to the budget: each one needs a unit before it may
// run.
func (a *Authenticator) spendGuess(ctx context.Context, c Client, email string) (guess, error) {
	l := a.cfg.Limits
	g := guess{email: email, network: a.accountNetwork(email, c.Addr)}
	if id, ok := a.knownDevice(c.Device, email); ok {
		g.device = id
		return g, a.allow(ctx, c, limitLoginFailuresDevice, l.LoginFailuresDevice, id)
	}
	// Look first, so that a request refused by one budget spends nothing
	// of the other; the Allows below are what decide under concurrency.
	if err := a.peek(ctx, c, limitLoginFailuresSustained, l.LoginFailuresSustained, g.email); err != nil {
		return g, err // the longer wait, when both budgets are spent
	}
	if err := a.peek(ctx, c, limitLoginFailures, l.LoginFailures, g.network); err != nil {
		return g, err
	}
	if err := a.allow(ctx, c, limitLoginFailures, l.LoginFailures, g.network); err != nil {
		return g, err
	}
	return g, a.allow(ctx, c, limitLoginFailuresSustained, l.LoginFailuresSustained, g.email)
}

// accountNetwork is the value the strict failure budget of email counts
// on for a client at addr: the email and the client's network
// (Limits.clientNetwork), or the email alone when there is no address.
// A normalized email holds no NUL, so the two kinds never meet.
func (a *Authenticator) accountNetwork(email, addr string) string {
	if addr == "" {
		return email
	}
	return email + "\x00" + a.cfg.Limits.clientNetwork(addr)
}

// guessedRight gives back, after a right password, what g spent that a
// right password may restore: the strict budget of the client's network
// and the known device's budget, whole. The ceiling stays spent (see
// Limits).
func (a *Authenticator) guessedRight(ctx context.Context, g guess) {
	a.resetLimit(ctx, limitLoginFailures, g.network)
	if g.device != "" {
		a.resetLimit(ctx, limitLoginFailuresDevice, g.device)
	}
}

// clearAccountBudgets restores the failure budgets of the account of email
// after its owner proved control of it by other means (a completed
// password reset): the ceiling and the strict budget of c's network. The
// strict budgets of other networks refill on their own.
func (a *Authenticator) clearAccountBudgets(ctx context.Context, c Client, email string) {
	a.resetLimit(ctx, limitLoginFailuresSustained, email)
	a.resetLimit(ctx, limitLoginFailures, a.accountNetwork(email, c.Addr))
}

// resetLimit forgets the events of the named limit for value. A failure
// is logged: it leaves a budget spent, which refills with time.
func (a *Authenticator) resetLimit(ctx context.Context, name, value string) {
	if err := a.cfg.Limiter.Reset(ctx, a.counterKey(name, value)); err != nil {
		a.cfg.Logger.WarnContext(ctx, "authkit: restore a failure budget", "limit", name, "error", err)
	}
}
