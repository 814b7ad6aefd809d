package bench_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
)

// clients is how many requests the loopback benchmarks keep in flight.
const clients = 16

// newClient returns an HTTP client that keeps a connection for each of
// the clients, so that no request waits for a new one.
func newClient(b *testing.B) *http.Client {
	t := &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
	b.Cleanup(t.CloseIdleConnections)
	return &http.Client{Transport: t}
}

// get sends a GET for url with the bearer token (none when empty), reads
// the whole answer and returns its status.
func get(c *http.Client, url, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, err
}

// hammer sends GETs for url from clients goroutines until b.N are done,
// each expected to answer want, and reports the rate as req/s.
func hammer(b *testing.B, c *http.Client, url, token string, want int) {
	b.Helper()
	if code, err := get(c, url, token); err != nil || code != want {
		b.Fatalf("GET %s: status %d, error %v; want %d", url, code, err, want)
	}
	var failed atomic.Int64
	var first atomic.Value
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code, err := get(c, url, token); err != nil || code != want {
				if failed.Add(1) == 1 {
					first.Store([2]any{code, err})
				}
			}
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("GET %s: %d of %d requests failed, the first with %v; want status %d", url, n, b.N, first.Load(), want)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkLoopback serves each middleware with httptest.NewServer and
// sends it requests from 16 clients at once over loopback.
func BenchmarkLoopback(b *testing.B) {
	for _, alg := range algorithms {
		b.Run("alg="+alg, func(b *testing.B) {
			for _, v := range variants {
				b.Run("mw="+v.name, func(b *testing.B) {
					h, token := v.build(b, fixtureFor(b, alg))
					srv := httptest.NewServer(h)
					b.Cleanup(srv.Close)
					hammer(b, newClient(b), srv.URL+"/api/hello", token, http.StatusNoContent)
				})
			}
		})
	}
}
