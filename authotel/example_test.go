package authotel_test

import (
	"context"
	"fmt"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authotel"
	"github.com/authkit/authkit/memstore"
)

// Instrument switches OpenTelemetry on in one line. Here the providers
// are the SDK's, with a reader and a recorder to show what was reported;
// a host passes its own, or none to use the global ones.
func ExampleInstrument() {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	cfg := authkit.Config{
		Store:      memstore.New(),
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     []byte("an example secret of at least 32 bytes"),
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
	}
	cfg = authotel.Instrument(cfg, authotel.WithMeterProvider(mp), authotel.WithTracerProvider(tp))
	a, err := authkit.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = a.Close(context.Background()) }()

	ctx := context.Background()
	_, _ = a.Register(ctx, authkit.Registration{Email: "ann@example.com", Password: "correct horse"}, authkit.Client{})
	_, err = a.Login(ctx, "ann@example.com", "wrong horse", authkit.Client{})
	fmt.Println("login:", authotel.Outcome(err))

	for _, s := range spans.Ended() {
		if s.Name() == "authkit.login" {
			fmt.Println("span:", s.Name(), s.Status().Code)
		}
	}
	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == authotel.MetricSignInDuration {
			for _, dp := range h.DataPoints {
				outcome, _ := dp.Attributes.Value("authkit.outcome")
				fmt.Println("metric:", m.Name, outcome.AsString(), dp.Count)
			}
		}
	}
	// Output:
	// login: invalid_credentials
	// span: authkit.login Error
	// metric: authkit.signin.duration invalid_credentials 1
}
