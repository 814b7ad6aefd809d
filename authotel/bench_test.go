package authotel_test

import (
	"context"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authotel"
	"github.com/authkit/authkit/memstore"
)

// benchSetups are the ways the benchmarks build a Config: without
// authotel; with it on no-op providers (what a host that installs no SDK
// pays); and with it on the SDK, every span sampled and every metric kept
// (nothing exported, so that the numbers are authotel's and the SDK's).
var benchSetups = []struct {
	name       string
	instrument func(b *testing.B, cfg authkit.Config) authkit.Config
}{
	{"bare", func(_ *testing.B, cfg authkit.Config) authkit.Config { return cfg }},
	{"otel-noop", func(_ *testing.B, cfg authkit.Config) authkit.Config {
		return authotel.Instrument(cfg, authotel.WithMeterProvider(metricnoop.NewMeterProvider()),
			authotel.WithTracerProvider(tracenoop.NewTracerProvider()))
	}},
	{"otel-sdk", func(b *testing.B, cfg authkit.Config) authkit.Config {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() {
			_ = mp.Shutdown(context.Background())
			_ = tp.Shutdown(context.Background())
		})
		return authotel.Instrument(cfg, authotel.WithMeterProvider(mp), authotel.WithTracerProvider(tp))
	}},
}

// benchAuthenticator is an Authenticator on memstore, instrumented by
// setup, with one user signed in.
func benchAuthenticator(b *testing.B, setup func(*testing.B, authkit.Config) authkit.Config) (*authkit.Authenticator, authkit.Tokens) {
	b.Helper()
	store := memstore.New()
	cfg := setup(b, authkit.Config{
		Store:      store,
		Limiter:    store,
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     testSecret,
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
		Limits:     authkit.NoLimits,
	})
	a, err := authkit.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	reg, err := a.Register(b.Context(), authkit.Registration{Email: "bench@example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return a, reg.Tokens
}

// BenchmarkLogin signs one user in with the right password, bcrypt at
// cost 4.
func BenchmarkLogin(b *testing.B) {
	for _, s := range benchSetups {
		b.Run(s.name, func(b *testing.B) {
			a, _ := benchAuthenticator(b, s.instrument)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Login(ctx, "bench@example.com", "correct horse", authkit.Client{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticate checks one access token, as every authenticated
// request does.
func BenchmarkAuthenticate(b *testing.B) {
	for _, s := range benchSetups {
		b.Run(s.name, func(b *testing.B) {
			a, tok := benchAuthenticator(b, s.instrument)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := a.Authenticate(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
