package authotel

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/authkit/authkit"
)

// WrapStore returns a Store that makes each call to s a span named
// "authkit.store.<Method>", a child of the span in the call's context.
// The result implements every optional interface of the kit that s
// implements, authkit.FactorStore and authkit.Limiter, and no other, so
// that an Authenticator finds the same features on it as on s; a Store
// that is an authkit.UserWatcher should be set as Config.UserWatcher too
// (Instrument does so). Spans carry
// the method's name and, for a contract error, its kind; never an
// argument or a result (emails, hashes, IDs). Instrument calls it; call it
// yourself only to trace a Store without the rest. Only the tracer
// provider of opts is used.
func WrapStore(s authkit.Store, opts ...Option) authkit.Store {
	o := newOptions(opts)
	return wrapStore(s, o.tp.Tracer(ScopeName))
}

// wrapStore picks the wrapper that keeps s's optional interfaces.
func wrapStore(s authkit.Store, t trace.Tracer) authkit.Store {
	base := &store{next: s, tracer: t}
	fs, isFactor := s.(authkit.FactorStore)
	l, isLimiter := s.(authkit.Limiter)
	switch {
	case isFactor && isLimiter:
		return &factorLimiterStore{base, &factors{base, fs}, &limiter{l, t}}
	case isFactor:
		return &factorStore{base, &factors{base, fs}}
	case isLimiter:
		return &limiterStore{base, &limiter{l, t}}
	}
	return base
}

// The wrappers, one per combination of optional interfaces.
type (
	factorStore struct {
		*store
		*factors
	}
	limiterStore struct {
		*store
		*limiter
	}
	factorLimiterStore struct {
		*store
		*factors
		*limiter
	}
)

var (
	_ authkit.Store       = (*store)(nil)
	_ authkit.FactorStore = (*factorStore)(nil)
	_ authkit.Limiter     = (*limiterStore)(nil)
	_ authkit.FactorStore = (*factorLimiterStore)(nil)
	_ authkit.Limiter     = (*factorLimiterStore)(nil)
	_ authkit.Limiter     = (*limiter)(nil)
)

// store makes each call of next a span.
type store struct {
	next   authkit.Store
	tracer trace.Tracer
}

// Unwrap returns the Store the wrapper calls.
func (s *store) Unwrap() authkit.Store { return s.next }

// storeSpanPrefix starts the name of every Store call's span.
const storeSpanPrefix = "authkit.store."

// storeCall runs f in a span of the name, "authkit.store.<Method>".
func storeCall[T any](ctx context.Context, t trace.Tracer, name string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(keyStoreOp.String(strings.TrimPrefix(name, storeSpanPrefix)))
	}
	v, err := f(ctx)
	endStoreSpan(span, err)
	return v, err
}

// storeExec is storeCall for a call that returns only an error.
func storeExec(ctx context.Context, t trace.Tracer, name string, f func(context.Context) error) error {
	_, err := storeCall(ctx, t, name, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// contractErrors are the answers of the Store contract that are not
// failures of the Store.
var contractErrors = []struct {
	err  error
	name string
}{
	{authkit.ErrNotFound, "not_found"},
	{authkit.ErrAlreadyExists, "already_exists"},
	{authkit.ErrConflict, "conflict"},
}

// endStoreSpan records how a Store call ended and ends its span: a
// contract answer as an attribute, any other error as status Error, never
// with the error's text, which could quote a query's arguments.
func endStoreSpan(span trace.Span, err error) {
	if err != nil {
		result := ""
		for _, c := range contractErrors {
			if errors.Is(err, c.err) {
				result = c.name
				break
			}
		}
		if result != "" {
			span.SetAttributes(keyStoreResult.String(result))
		} else {
			span.SetStatus(codes.Error, Outcome(err))
		}
	}
	span.End()
}

// CreateUser implements authkit.Store.
func (s *store) CreateUser(ctx context.Context, u authkit.User) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"CreateUser", func(ctx context.Context) error { return s.next.CreateUser(ctx, u) })
}

// UserByID implements authkit.Store.
func (s *store) UserByID(ctx context.Context, id string) (authkit.User, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"UserByID", func(ctx context.Context) (authkit.User, error) { return s.next.UserByID(ctx, id) })
}

// UserByEmail implements authkit.Store.
func (s *store) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"UserByEmail", func(ctx context.Context) (authkit.User, error) { return s.next.UserByEmail(ctx, email) })
}

// DeleteUser implements authkit.Store.
func (s *store) DeleteUser(ctx context.Context, id string) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"DeleteUser", func(ctx context.Context) error { return s.next.DeleteUser(ctx, id) })
}

// UpdateUser implements authkit.Store.
func (s *store) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"UpdateUser", func(ctx context.Context) (authkit.User, error) { return s.next.UpdateUser(ctx, id, upd) })
}

// CreateToken implements authkit.Store.
func (s *store) CreateToken(ctx context.Context, t authkit.OneTimeToken) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"CreateToken", func(ctx context.Context) error { return s.next.CreateToken(ctx, t) })
}

// ConsumeToken implements authkit.Store.
func (s *store) ConsumeToken(ctx context.Context, hash string, purpose authkit.TokenPurpose, now time.Time) (authkit.OneTimeToken, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"ConsumeToken", func(ctx context.Context) (authkit.OneTimeToken, error) {
		return s.next.ConsumeToken(ctx, hash, purpose, now)
	})
}

// Token implements authkit.Store.
func (s *store) Token(ctx context.Context, hash string) (authkit.OneTimeToken, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"Token", func(ctx context.Context) (authkit.OneTimeToken, error) { return s.next.Token(ctx, hash) })
}

// DeleteUserTokens implements authkit.Store.
func (s *store) DeleteUserTokens(ctx context.Context, userID string, purpose authkit.TokenPurpose) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"DeleteUserTokens", func(ctx context.Context) error { return s.next.DeleteUserTokens(ctx, userID, purpose) })
}

// DeleteExpiredTokens implements authkit.Store.
func (s *store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"DeleteExpiredTokens", func(ctx context.Context) (int64, error) { return s.next.DeleteExpiredTokens(ctx, before) })
}

// CreateSession implements authkit.Store.
func (s *store) CreateSession(ctx context.Context, sess authkit.Session) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"CreateSession", func(ctx context.Context) error { return s.next.CreateSession(ctx, sess) })
}

// Session implements authkit.Store.
func (s *store) Session(ctx context.Context, id string) (authkit.Session, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"Session", func(ctx context.Context) (authkit.Session, error) { return s.next.Session(ctx, id) })
}

// UserSessions implements authkit.Store.
func (s *store) UserSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"UserSessions", func(ctx context.Context) ([]authkit.Session, error) { return s.next.UserSessions(ctx, userID) })
}

// RotateSession implements authkit.Store.
func (s *store) RotateSession(ctx context.Context, id, oldHash, newHash string, now, expires time.Time) (authkit.Session, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"RotateSession", func(ctx context.Context) (authkit.Session, error) {
		return s.next.RotateSession(ctx, id, oldHash, newHash, now, expires)
	})
}

// DeleteSession implements authkit.Store.
func (s *store) DeleteSession(ctx context.Context, userID, id string) error {
	return storeExec(ctx, s.tracer, storeSpanPrefix+"DeleteSession", func(ctx context.Context) error { return s.next.DeleteSession(ctx, userID, id) })
}

// DeleteExpiredSessions implements authkit.Store.
func (s *store) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	return storeCall(ctx, s.tracer, storeSpanPrefix+"DeleteExpiredSessions", func(ctx context.Context) (int64, error) {
		return s.next.DeleteExpiredSessions(ctx, now, idleBefore)
	})
}

// factors makes each call of next, a FactorStore, a span.
type factors struct {
	s    *store
	next authkit.FactorStore
}

// PutTOTP implements authkit.FactorStore.
func (f *factors) PutTOTP(ctx context.Context, v authkit.TOTPFactor) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"PutTOTP", func(ctx context.Context) error { return f.next.PutTOTP(ctx, v) })
}

// TOTP implements authkit.FactorStore.
func (f *factors) TOTP(ctx context.Context, userID string) (authkit.TOTPFactor, error) {
	return storeCall(ctx, f.s.tracer, storeSpanPrefix+"TOTP", func(ctx context.Context) (authkit.TOTPFactor, error) { return f.next.TOTP(ctx, userID) })
}

// ConfirmTOTP implements authkit.FactorStore.
func (f *factors) ConfirmTOTP(ctx context.Context, userID string, at time.Time, step int64) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"ConfirmTOTP", func(ctx context.Context) error { return f.next.ConfirmTOTP(ctx, userID, at, step) })
}

// UseTOTPStep implements authkit.FactorStore.
func (f *factors) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"UseTOTPStep", func(ctx context.Context) error { return f.next.UseTOTPStep(ctx, userID, step) })
}

// DeleteTOTP implements authkit.FactorStore.
func (f *factors) DeleteTOTP(ctx context.Context, userID string) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"DeleteTOTP", func(ctx context.Context) error { return f.next.DeleteTOTP(ctx, userID) })
}

// ReplaceRecoveryCodes implements authkit.FactorStore.
func (f *factors) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"ReplaceRecoveryCodes", func(ctx context.Context) error {
		return f.next.ReplaceRecoveryCodes(ctx, userID, hashes, at)
	})
}

// UseRecoveryCode implements authkit.FactorStore.
func (f *factors) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	return storeExec(ctx, f.s.tracer, storeSpanPrefix+"UseRecoveryCode", func(ctx context.Context) error { return f.next.UseRecoveryCode(ctx, userID, hash, at) })
}

// RecoveryCodesLeft implements authkit.FactorStore.
func (f *factors) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return storeCall(ctx, f.s.tracer, storeSpanPrefix+"RecoveryCodesLeft", func(ctx context.Context) (int, error) { return f.next.RecoveryCodesLeft(ctx, userID) })
}

// limiter makes each call of next a span named "authkit.limiter.<Method>",
// without the key, which names an address or an account.
type limiter struct {
	next   authkit.Limiter
	tracer trace.Tracer
}

// limiterSpanPrefix starts the name of every Limiter call's span.
const limiterSpanPrefix = "authkit.limiter."

// limiterCall runs f in a span of the name, "authkit.limiter.<Method>".
func limiterCall[T any](ctx context.Context, t trace.Tracer, name string, f func(context.Context) (T, error)) (T, error) {
	ctx, span := t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(keyLimiterOp.String(strings.TrimPrefix(name, limiterSpanPrefix)))
	}
	v, err := f(ctx)
	if err != nil {
		span.SetStatus(codes.Error, Outcome(err))
	}
	span.End()
	return v, err
}

// decision is what Allow and Peek answer.
type decision struct {
	ok    bool
	retry time.Duration
}

// keyAllowed is the attribute that says whether a limiter allowed.
var keyAllowed = attribute.Key("authkit.limiter.allowed")

// decide runs Allow or Peek in a span that says whether it allowed.
func (l *limiter) decide(ctx context.Context, name string, f func(context.Context) (bool, time.Duration, error)) (bool, time.Duration, error) {
	d, err := limiterCall(ctx, l.tracer, name, func(ctx context.Context) (decision, error) {
		ok, retry, err := f(ctx)
		if span := trace.SpanFromContext(ctx); err == nil && span.IsRecording() {
			span.SetAttributes(keyAllowed.Bool(ok))
		}
		return decision{ok, retry}, err
	})
	return d.ok, d.retry, err
}

// Allow implements authkit.Limiter.
func (l *limiter) Allow(ctx context.Context, key string, lim authkit.Limit, now time.Time) (bool, time.Duration, error) {
	return l.decide(ctx, limiterSpanPrefix+"Allow", func(ctx context.Context) (bool, time.Duration, error) { return l.next.Allow(ctx, key, lim, now) })
}

// Peek implements authkit.Limiter.
func (l *limiter) Peek(ctx context.Context, key string, lim authkit.Limit, now time.Time) (bool, time.Duration, error) {
	return l.decide(ctx, limiterSpanPrefix+"Peek", func(ctx context.Context) (bool, time.Duration, error) { return l.next.Peek(ctx, key, lim, now) })
}

// Reset implements authkit.Limiter.
func (l *limiter) Reset(ctx context.Context, key string) error {
	_, err := limiterCall(ctx, l.tracer, limiterSpanPrefix+"Reset", func(ctx context.Context) (struct{}, error) { return struct{}{}, l.next.Reset(ctx, key) })
	return err
}

// DeleteStale implements authkit.Limiter.
func (l *limiter) DeleteStale(ctx context.Context, now time.Time) (int64, error) {
	return limiterCall(ctx, l.tracer, limiterSpanPrefix+"DeleteStale", func(ctx context.Context) (int64, error) { return l.next.DeleteStale(ctx, now) })
}
