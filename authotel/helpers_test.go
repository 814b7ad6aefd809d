package authotel_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authotel"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

// testSecret is an HS256 secret for tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// client is the client of every request in these tests.
var client = authkit.Client{Addr: "192.0.2.7", UserAgent: "otel-test-agent"}

// hostEvents records the events that reach the host's own OnEvent.
type hostEvents struct {
	mu   sync.Mutex
	list []authkit.Event
	// arrived receives each event's type, without blocking.
	arrived chan authkit.EventType
}

func (h *hostEvents) record(_ context.Context, e authkit.Event) {
	h.mu.Lock()
	h.list = append(h.list, e)
	h.mu.Unlock()
	select {
	case h.arrived <- e.Type:
	default:
	}
}

// count counts the recorded events of typ (and reason, when not empty).
func (h *hostEvents) count(typ authkit.EventType, reason string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.list {
		if e.Type == typ && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

// harness is an instrumented Authenticator with the SDK's reader and
// span recorder.
type harness struct {
	*authkit.Authenticator
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mail   *testkit.Mailbox
	events *hostEvents
}

// newHarness builds an Authenticator on memstore with bcrypt cost 4, a
// fixed clock and a capturing mailer, instrumented with the SDK's
// providers. change may adjust the Config before Instrument.
func newHarness(t testing.TB, change func(*authkit.Config)) *harness {
	t.Helper()
	h := &harness{
		reader: sdkmetric.NewManualReader(),
		spans:  tracetest.NewSpanRecorder(),
		mail:   testkit.NewMailbox(),
		events: &hostEvents{arrived: make(chan authkit.EventType, 64)},
	}
	store := memstore.New()
	cfg := authkit.Config{
		Store:          store,
		Limiter:        store,
		Mailer:         h.mail,
		Secret:         testSecret,
		BaseURL:        "https://app.example.com",
		BcryptCost:     4,
		Now:            testkit.NewClock().Now,
		OnEvent:        h.events.record,
		Logger:         slog.New(slog.DiscardHandler),
		MailRetryDelay: time.Millisecond,
		MaxHashWait:    testkit.Timeout,
	}
	if change != nil {
		change(&cfg)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	cfg = authotel.Instrument(cfg, authotel.WithMeterProvider(mp), authotel.WithTracerProvider(tp))
	a, err := authkit.New(cfg)
	require.NoError(t, err, "authkit.New")
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	h.Authenticator = a
	return h
}

// register signs up a user, drains the verification mail, and returns
// the tokens of the sign-in.
func (h *harness) register(t testing.TB, email, password string) authkit.Tokens {
	t.Helper()
	reg, err := h.Register(t.Context(), authkit.Registration{Email: email, Password: password}, client)
	require.NoError(t, err, "Register(%s)", email)
	h.mail.Next(t, authkit.MessageVerifyEmail)
	return reg.Tokens
}

// collect reads every metric the instrumented Authenticator recorded.
func (h *harness) collect(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(t.Context(), &rm), "Collect")
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, authotel.ScopeName, sm.Scope.Name, "instrumentation scope")
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs builds an attribute set from key, value pairs.
func attrs(kv ...string) attribute.Set {
	var list []attribute.KeyValue
	for i := 0; i+1 < len(kv); i += 2 {
		list = append(list, attribute.String(kv[i], kv[i+1]))
	}
	return attribute.NewSet(list...)
}

// counterValue is the value of the counter's data point with exactly the
// attributes want, 0 when there is none (or the counter never counted).
func counterValue(t testing.TB, m metricdata.Metrics, want attribute.Set) int64 {
	t.Helper()
	if m.Data == nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is an int64 sum, not %T", m.Name, m.Data)
	require.True(t, sum.IsMonotonic, "%s is a counter", m.Name)
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

// histogramCount is how many values the histogram's data point with
// exactly the attributes want holds, 0 when there is none.
func histogramCount(t testing.TB, m metricdata.Metrics, want attribute.Set) uint64 {
	t.Helper()
	hist, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "%s is a float64 histogram, not %T", m.Name, m.Data)
	for _, dp := range hist.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Count
		}
	}
	return 0
}

// spansNamed returns the ended spans of the name, in the order they ended.
func (h *harness) spansNamed(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range h.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// childrenOf returns the names of the ended spans whose parent is p.
func (h *harness) childrenOf(p sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range h.spans.Ended() {
		if s.Parent().SpanID() == p.SpanContext().SpanID() && s.SpanContext().TraceID() == p.SpanContext().TraceID() {
			out = append(out, s.Name())
		}
	}
	return out
}

// attribute returns the value of the span attribute key, "" if unset.
func spanAttribute(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// assertNoSecrets fails when any span, span event or metric attribute
// value holds one of secrets.
func (h *harness) assertNoSecrets(t testing.TB, secrets ...string) {
	t.Helper()
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			v := strings.ToLower(kv.Value.String())
			for _, s := range secrets {
				if s != "" && strings.Contains(v, strings.ToLower(s)) {
					t.Errorf("%s: attribute %s = %q holds personal data or a secret %q", where, kv.Key, v, s)
				}
			}
		}
	}
	for _, s := range h.spans.Ended() {
		check("span "+s.Name(), s.Attributes())
		check("status of span "+s.Name(), []attribute.KeyValue{attribute.String("status", s.Status().Description)})
		for _, e := range s.Events() {
			check("event "+e.Name+" of span "+s.Name(), e.Attributes)
		}
	}
	for name, m := range h.collect(t) {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				check("metric "+name, dp.Attributes.ToSlice())
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				check("metric "+name, dp.Attributes.ToSlice())
			}
		case metricdata.Gauge[int64]:
			for _, dp := range d.DataPoints {
				check("metric "+name, dp.Attributes.ToSlice())
			}
		}
	}
}
