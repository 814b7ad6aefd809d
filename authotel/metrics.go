package authotel

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Names of authotel's metrics. Durations are in seconds, as OpenTelemetry's
// semantic conventions have them; attribute values are bounded sets of
// short words (see the package documentation).
const (
	// MetricEvents counts security events (Config.OnEvent), by
	// authkit.event.type and, where the event has one,
	// authkit.event.reason. Unit {event}.
	MetricEvents = "authkit.events"
	// MetricFlowDuration is a histogram of how long each flow took, by
	// authkit.flow and authkit.outcome. Unit s.
	MetricFlowDuration = "authkit.flow.duration"
	// MetricSignInDuration is a histogram of how long each sign-in took,
	// by authkit.signin.method ("password", "second_factor",
	// "reauthenticate") and authkit.outcome. Unit s.
	MetricSignInDuration = "authkit.signin.duration"
	// MetricHashWait is a histogram of how long a flow waited for a
	// password hashing slot, zero when one was free, by authkit.outcome
	// ("ok" or "busy"). Unit s.
	MetricHashWait = "authkit.hash.wait"
	// MetricHashRejections counts the requests refused with
	// authkit.ErrBusy because no hashing slot came free within
	// Config.MaxHashWait. Unit {rejection}.
	MetricHashRejections = "authkit.hash.rejections"
	// MetricMailQueueDepth is a gauge of the messages waiting for
	// delivery, read when the metrics are collected. Unit {message}.
	MetricMailQueueDepth = "authkit.mail.queue.depth"
	// MetricMailFailures counts the messages given up
	// (authkit.EventMailFailed), by authkit.mail.kind and
	// authkit.mail.reason ("queue_full", "gave_up", "closed", …). Unit
	// {message}.
	MetricMailFailures = "authkit.mail.failures"
)

// durationBuckets are the bucket bounds of the duration histograms, in
// seconds: those of OpenTelemetry's HTTP semantic conventions, from 5 ms
// to 10 s, with 1 ms and 2.5 ms before them for the waits that are short.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// metrics are the instruments one Instrument call records with.
type metrics struct {
	events         metric.Int64Counter
	flowDuration   metric.Float64Histogram
	signInDuration metric.Float64Histogram
	hashWait       metric.Float64Histogram
	hashRejections metric.Int64Counter
	mailFailures   metric.Int64Counter
}

// newMetrics creates the instruments on m, and the mail queue gauge that
// reads queued. An instrument m refuses is replaced by one that records
// nothing, and the error says which; the rest work.
func newMetrics(m metric.Meter, queued func() (int, bool)) (*metrics, error) {
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	none := noop.Meter{}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		if err != nil {
			keep(err)
			c, _ = none.Int64Counter(name)
		}
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		if err != nil {
			keep(err)
			h, _ = none.Float64Histogram(name)
		}
		return h
	}
	ms := &metrics{
		events:         counter(MetricEvents, "{event}", "Security events, by type and reason."),
		flowDuration:   histogram(MetricFlowDuration, "Duration of the authentication flows, by flow and outcome."),
		signInDuration: histogram(MetricSignInDuration, "Duration of sign-ins, by method and outcome."),
		hashWait:       histogram(MetricHashWait, "Time spent waiting for a password hashing slot."),
		hashRejections: counter(MetricHashRejections, "{rejection}", "Requests refused because no password hashing slot came free in time."),
		mailFailures:   counter(MetricMailFailures, "{message}", "Messages given up, by kind and reason."),
	}
	_, err := m.Int64ObservableGauge(MetricMailQueueDepth, metric.WithUnit("{message}"),
		metric.WithDescription("Messages waiting in the mail queue."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			if n, ok := queued(); ok {
				o.Observe(int64(n))
			}
			return nil
		}))
	keep(err)
	return ms, errors.Join(errs...)
}
