// Package authotel reports what an authkit.Authenticator does to
// OpenTelemetry: a span for every flow (Login, Refresh, Authenticate, …)
// with a child span for every Store call made inside it, and metrics of
// security events, sign-in latency, the password hashing queue and the
// mail queue.
//
// It is the only package of the kit that imports OpenTelemetry: the root
// package and httpauth know nothing of it, and a host that does not import
// authotel compiles none of it.
//
// # Quick start
//
// Switch it on with one line, before authkit.New:
//
//	cfg = authotel.Instrument(cfg)
//	a, err := authkit.New(cfg)
//
// Instrument uses the global providers (otel.GetMeterProvider and
// otel.GetTracerProvider) unless WithMeterProvider or WithTracerProvider
// names others. It wraps Config.Store (and Config.Limiter, when set) so
// that every call is a span, keeping every optional interface of the Store
// (authkit.FactorStore, authkit.Limiter); it chains Config.OnEvent, so the
// host's own hook still receives every event; and it fills
// Config.Observer, chaining an Observer the host set before.
//
// # Spans
//
//   - "authkit.<flow>", such as "authkit.login" or "authkit.refresh", one
//     per flow (see authkit.Flow), with the attributes authkit.flow and
//     authkit.outcome. A flow that fails has status Error, described by
//     its outcome; a login that asks for the second factor does not fail.
//     Security events become span events named "authkit.event"; a wait
//     for a hashing slot becomes a span event "authkit.hash.wait".
//   - "authkit.store.<Method>", such as "authkit.store.UserByEmail", one
//     per Store call, child of the flow's span, with the attribute
//     authkit.store.operation and, when the call answers a contract error,
//     authkit.store.result ("not_found", "already_exists", "conflict"). Any
//     other error sets status Error.
//   - "authkit.limiter.<Method>", one per call of a wrapped Limiter.
//
// # Metrics
//
//   - authkit.events (counter, {event}): security events, by
//     authkit.event.type and, where the event has one, authkit.event.reason.
//   - authkit.flow.duration (histogram, s): how long each flow took, by
//     authkit.flow and authkit.outcome.
//   - authkit.signin.duration (histogram, s): how long a sign-in took, by
//     authkit.signin.method ("password", "second_factor", "reauthenticate")
//     and authkit.outcome.
//   - authkit.hash.wait (histogram, s): how long a flow waited for a
//     password hashing slot, by authkit.outcome ("ok" or "busy").
//   - authkit.hash.rejections (counter, {rejection}): requests refused
//     with authkit.ErrBusy because no hashing slot came free in time.
//   - authkit.mail.queue.depth (gauge, {message}): messages waiting for
//     delivery.
//   - authkit.mail.failures (counter, {message}): messages given up, by
//     authkit.mail.kind and authkit.mail.reason ("queue_full", "gave_up",
//     …).
//
// Outcomes are short stable words: "ok", "invalid_credentials",
// "second_factor_required", "rate_limited", "busy", "invalid_token",
// "token_expired", "invalid_input", … and "error" for anything else.
//
// # Personal data
//
// No span, span event or metric carries an email address, a user or
// session ID, a client address, a token, a password or a hash, nor the
// text of an error (which could quote any of them): only flow and method
// names, outcomes, event types and reasons. Attribute values that come
// from events are cut to a bounded shape, so the number of series stays
// bounded.
package authotel
