package authotel

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/authkit/authkit"
)

// ScopeName is the instrumentation scope of authotel's tracer and meter.
const ScopeName = "github.com/authkit/authkit/authotel"

// Attribute keys of authotel's spans and metrics.
const (
	keyFlow         = attribute.Key("authkit.flow")
	keyOutcome      = attribute.Key("authkit.outcome")
	keyMethod       = attribute.Key("authkit.signin.method")
	keyEventType    = attribute.Key("authkit.event.type")
	keyEventReason  = attribute.Key("authkit.event.reason")
	keyMailKind     = attribute.Key("authkit.mail.kind")
	keyMailReason   = attribute.Key("authkit.mail.reason")
	keyStoreOp      = attribute.Key("authkit.store.operation")
	keyStoreResult  = attribute.Key("authkit.store.result")
	keyLimiterOp    = attribute.Key("authkit.limiter.operation")
	keyHashWaitSecs = attribute.Key("authkit.hash.wait_seconds")
)

// Option configures Instrument and WrapStore.
type Option func(*options)

type options struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider makes authotel record its metrics with mp. If not
// given, or nil, the global MeterProvider (otel.GetMeterProvider) is used.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithTracerProvider makes authotel start its spans with tp. If not given,
// or nil, the global TracerProvider (otel.GetTracerProvider) is used.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

func newOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	return o
}

// Instrument returns cfg with OpenTelemetry switched on; pass the result to
// authkit.New. It wraps cfg.Store (see WrapStore) and cfg.Limiter, when
// set, so that their calls are spans; it chains cfg.OnEvent, so that the
// host's hook still receives every event, after authotel has counted it;
// and it fills cfg.Observer, calling the Observer funcs cfg already had
// too. Everything else in cfg is left as it is.
//
// Call it once per Config, and make one Authenticator of the result: the
// mail queue depth is the one of the last Authenticator made from it, and
// a Config instrumented twice reports everything twice. Instruments that the
// MeterProvider refuses to create record nothing; every other signal
// still works.
func Instrument(cfg authkit.Config, opts ...Option) authkit.Config {
	o := newOptions(opts)
	in := &instrumentation{tracer: o.tp.Tracer(ScopeName)}
	in.metrics, _ = newMetrics(o.mp.Meter(ScopeName), in.mailQueued)

	if cfg.Store != nil {
		// The wrapper is no UserWatcher: the Store's own keeps watching.
		if w, ok := cfg.Store.(authkit.UserWatcher); ok && cfg.UserWatcher == nil {
			cfg.UserWatcher = w
		}
		cfg.Store = wrapStore(cfg.Store, in.tracer)
	}
	if cfg.Limiter != nil {
		cfg.Limiter = &limiter{next: cfg.Limiter, tracer: in.tracer}
	}
	hostEvent := cfg.OnEvent
	cfg.OnEvent = func(ctx context.Context, e authkit.Event) {
		in.event(ctx, e)
		if hostEvent != nil {
			hostEvent(ctx, e)
		}
	}
	cfg.Observer = in.observer(cfg.Observer)
	return cfg
}

// instrumentation is what one Instrument call set up.
type instrumentation struct {
	tracer  trace.Tracer
	metrics *metrics
	// queued reports the mail queue's depth, once New has handed it over.
	queued atomic.Pointer[func() int]
}

// observer returns the Observer that reports to OpenTelemetry and then
// to host's own funcs, where it has them.
func (in *instrumentation) observer(host authkit.Observer) authkit.Observer {
	obs := authkit.Observer{
		Flow:     in.flow,
		HashWait: in.hashWait,
		MailQueue: func(queued func() int) {
			in.queued.Store(&queued)
		},
	}
	if f := host.Flow; f != nil {
		obs.Flow = func(ctx context.Context, flow authkit.Flow) (context.Context, func(error)) {
			ctx, endOurs := in.flow(ctx, flow)
			ctx, endHost := f(ctx, flow)
			return ctx, func(err error) { endHost(err); endOurs(err) }
		}
	}
	if f := host.HashWait; f != nil {
		obs.HashWait = func(ctx context.Context, waited time.Duration, err error) {
			in.hashWait(ctx, waited, err)
			f(ctx, waited, err)
		}
	}
	if f := host.MailQueue; f != nil {
		obs.MailQueue = func(queued func() int) {
			in.queued.Store(&queued)
			f(queued)
		}
	}
	return obs
}

// mailQueued reports the mail queue's depth, and false before New handed
// it over.
func (in *instrumentation) mailQueued() (int, bool) {
	q := in.queued.Load()
	if q == nil {
		return 0, false
	}
	return (*q)(), true
}

// signInMethods names the flows that sign a user in, by method.
var signInMethods = map[authkit.Flow]string{
	authkit.FlowLogin:             "password",
	authkit.FlowLoginSecondFactor: "second_factor",
	authkit.FlowReauthenticate:    "reauthenticate",
}

// knownFlows are the flows whose span names and attribute sets are made
// once, so that observing them allocates little; others are made as
// they come.
var knownFlows = []authkit.Flow{
	authkit.FlowRegister, authkit.FlowLogin, authkit.FlowLoginSecondFactor,
	authkit.FlowReauthenticate, authkit.FlowRefresh, authkit.FlowLogout,
	authkit.FlowLogoutAll, authkit.FlowEndSession, authkit.FlowAuthenticate,
	authkit.FlowChangePassword, authkit.FlowForgotPassword, authkit.FlowResetPassword,
	authkit.FlowVerifyEmail, authkit.FlowResendVerification, authkit.FlowDeclineRegistration,
	authkit.FlowStartTOTP, authkit.FlowConfirmTOTP, authkit.FlowDisableTOTP,
	authkit.FlowRemoveSecondFactor, authkit.FlowRegenerateRecoveryCodes,
	authkit.FlowSetActive, authkit.FlowCleanup,
}

// flowInfo is what observing one flow needs, made once per known flow.
type flowInfo struct {
	spanName string
	attr     attribute.KeyValue
	// byOutcome holds the attribute sets of authkit.flow.duration and,
	// for a sign-in, authkit.signin.duration, by outcome.
	byOutcome map[string]flowSets
}

type flowSets struct {
	flow, signIn metric.MeasurementOption
}

// flowInfos holds the flowInfo of every known flow; it is only read.
var flowInfos = func() map[authkit.Flow]*flowInfo {
	m := make(map[authkit.Flow]*flowInfo, len(knownFlows))
	names := []string{outcomeOK, outcomeError}
	for _, o := range outcomes {
		names = append(names, o.name)
	}
	for _, f := range knownFlows {
		fi := newFlowInfo(f)
		fi.byOutcome = make(map[string]flowSets, len(names))
		for _, o := range names {
			fi.byOutcome[o] = newFlowSets(f, o)
		}
		m[f] = fi
	}
	return m
}()

func newFlowInfo(f authkit.Flow) *flowInfo {
	return &flowInfo{spanName: "authkit." + string(f), attr: keyFlow.String(string(f))}
}

func newFlowSets(f authkit.Flow, o string) flowSets {
	s := flowSets{flow: metric.WithAttributeSet(attribute.NewSet(keyFlow.String(string(f)), keyOutcome.String(o)))}
	if m, ok := signInMethods[f]; ok {
		s.signIn = metric.WithAttributeSet(attribute.NewSet(keyMethod.String(m), keyOutcome.String(o)))
	}
	return s
}

// flow opens the span of a flow; the func it returns closes it and
// records the flow's duration.
func (in *instrumentation) flow(ctx context.Context, f authkit.Flow) (context.Context, func(error)) {
	start := time.Now()
	fi, known := flowInfos[f]
	if !known {
		fi = newFlowInfo(f)
	}
	ctx, span := in.tracer.Start(ctx, fi.spanName, trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(fi.attr)
	}
	return ctx, func(err error) {
		elapsed := time.Since(start).Seconds()
		o := Outcome(err)
		if span.IsRecording() {
			span.SetAttributes(keyOutcome.String(o))
			if failed(o) {
				span.SetStatus(codes.Error, o)
			}
		}
		span.End()
		sets, ok := fi.byOutcome[o]
		if !ok {
			sets = newFlowSets(f, o)
		}
		in.metrics.flowDuration.Record(ctx, elapsed, sets.flow)
		if sets.signIn != nil {
			in.metrics.signInDuration.Record(ctx, elapsed, sets.signIn)
		}
	}
}

// Attribute sets of the hash queue, made once.
var (
	hashOK   = metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(outcomeOK)))
	hashBusy = metric.WithAttributeSet(attribute.NewSet(keyOutcome.String(outcomeBusy)))
)

// hashWait records a wait for a hashing slot.
func (in *instrumentation) hashWait(ctx context.Context, waited time.Duration, err error) {
	set := hashOK
	if err != nil {
		set = hashBusy
		in.metrics.hashRejections.Add(ctx, 1)
	}
	in.metrics.hashWait.Record(ctx, waited.Seconds(), set)
	if waited == 0 && err == nil {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		o := outcomeOK
		if err != nil {
			o = outcomeBusy
		}
		span.AddEvent("authkit.hash.wait", trace.WithAttributes(
			keyHashWaitSecs.Float64(waited.Seconds()), keyOutcome.String(o)))
	}
}

// event counts a security event and adds it to the current span.
func (in *instrumentation) event(ctx context.Context, e authkit.Event) {
	attrs := make([]attribute.KeyValue, 0, 2)
	attrs = append(attrs, keyEventType.String(bounded(string(e.Type))))
	if e.Reason != "" {
		attrs = append(attrs, keyEventReason.String(bounded(e.Reason)))
	}
	in.metrics.events.Add(ctx, 1, metric.WithAttributes(attrs...))
	if e.Type == authkit.EventMailFailed {
		in.metrics.mailFailures.Add(ctx, 1, metric.WithAttributes(
			keyMailKind.String(bounded(string(e.Mail))), keyMailReason.String(bounded(e.Reason))))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("authkit.event", trace.WithAttributes(attrs...))
	}
}

// Outcomes of flows, as the authkit.outcome attribute gives them.
const (
	outcomeOK    = "ok"
	outcomeBusy  = "busy"
	outcomeError = "error"
)

// outcomes maps the kit's errors to outcomes, most specific first.
var outcomes = []struct {
	err  error
	name string
}{
	{authkit.ErrSecondFactorRequired, "second_factor_required"},
	{authkit.ErrBusy, outcomeBusy},
	{authkit.ErrRateLimited, "rate_limited"},
	{authkit.ErrInvalidCredentials, "invalid_credentials"},
	{authkit.ErrInvalidInput, "invalid_input"},
	{authkit.ErrEmailTaken, "email_taken"},
	{authkit.ErrAccountDisabled, "account_disabled"},
	{authkit.ErrEmailNotVerified, "email_not_verified"},
	{authkit.ErrTokenExpired, "token_expired"},
	{authkit.ErrInvalidToken, "invalid_token"},
	{authkit.ErrReauthenticationRequired, "reauthentication_required"},
	{authkit.ErrSecondFactorUnavailable, "second_factor_unavailable"},
	{authkit.ErrNotFound, "not_found"},
	{authkit.ErrConflict, "conflict"},
	{authkit.ErrAlreadyExists, "already_exists"},
	{context.Canceled, "canceled"},
	{context.DeadlineExceeded, "deadline_exceeded"},
}

// Outcome names the outcome of a flow that returned err, as the
// authkit.outcome attribute gives it: "ok" for nil, a short word for each
// of the kit's errors ("invalid_credentials", "rate_limited", "busy", …),
// and "error" for any other error.
func Outcome(err error) string {
	if err == nil {
		return outcomeOK
	}
	for _, o := range outcomes {
		if errors.Is(err, o.err) {
			return o.name
		}
	}
	return outcomeError
}

// failed reports whether a flow of outcome o failed. A login that asks for
// the second factor has not.
func failed(o string) bool {
	return o != outcomeOK && o != "second_factor_required"
}

// maxValueBytes bounds an attribute value that comes from an event.
const maxValueBytes = 48

// bounded returns s when it has the shape of the kit's codes (lower-case
// letters, digits and underscores, at most maxValueBytes), else "other":
// what reaches an attribute from an event stays one of few values.
func bounded(s string) string {
	if s == "" || len(s) > maxValueBytes {
		return "other"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return "other"
		}
	}
	return s
}
