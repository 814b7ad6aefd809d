package authotel

import (
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func TestMetricsAreValid(t *testing.T) {
	mp := sdkmetric.NewMeterProvider()
	t.Cleanup(func() { _ = mp.Shutdown(t.Context()) })
	_, err := newMetrics(mp.Meter(ScopeName), func() (int, bool) { return 0, false })
	require.NoError(t, err, "the SDK accepts every instrument")
}

func TestBounded(t *testing.T) {
	for in, want := range map[string]string{
		"bad_password":        "bad_password",
		"login_failures_dev6": "login_failures_dev6",
		"":                    "other",
		"Ann@Example.com":     "other",
		"with space":          "other",
		"a_very_long_reason_that_goes_on_and_on_past_the_bound": "other",
	} {
		require.Equal(t, want, bounded(in), "bounded(%q)", in)
	}
}
