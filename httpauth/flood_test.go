package httpauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/httpauth"
	"github.com/authkit/authkit/memstore"
)

// The login flood: a server with the real bcrypt cost takes 64 concurrent
// clients logging in as fast as they can while a paced client asks GET /me;
// we measure /me latency and login throughput with the hashing bound and
// without it. The load comes from a separate process (this test binary run
// again as TestFloodLoadGenerator), so that it does not share the server's
// Go scheduler.
//
//	go test -run '^$' -bench LoginFlood ./httpauth/

const (
	floodClients  = 64
	floodDuration = 6 * time.Second
	floodMePace   = 10 * time.Millisecond
)

// floodResult is what the load generator reports.
type floodResult struct {
	Logins   int     `json:"logins"`
	Busy     int     `json:"busy"`
	Seconds  float64 `json:"seconds"`
	MeMillis []float64
}

func BenchmarkLoginFlood(b *testing.B) {
	compare := timeOneCompare(b)
	bounded := max(1, runtime.NumCPU()-1)
	for _, v := range []struct {
		name  string
		slots int
	}{{"bounded", 0}, {"unbounded", floodClients}} {
		b.Run(v.name, func(b *testing.B) {
			res := runFlood(b, v.slots)
			slices.Sort(res.MeMillis)
			loginsPerSec := float64(res.Logins) / res.Seconds
			b.ReportMetric(percentile(res.MeMillis, 0.50), "me-p50-ms")
			b.ReportMetric(percentile(res.MeMillis, 0.99), "me-p99-ms")
			b.ReportMetric(loginsPerSec, "logins/s")
			b.ReportMetric(float64(res.Busy)/res.Seconds, "busy-503/s")
			b.ReportMetric(compare.Seconds()*1000, "compare-ms")
			if v.slots == 0 {
				// The ideal: every slot busy hashing all the time.
				b.ReportMetric(loginsPerSec/(float64(bounded)/compare.Seconds()), "of-ideal")
			}
		})
	}
}

// timeOneCompare measures one bcrypt compare at the default cost on the
// idle machine.
func timeOneCompare(b *testing.B) time.Duration {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), authkit.DefaultBcryptCost)
	if err != nil {
		b.Fatal(err)
	}
	best := time.Hour
	for range 3 {
		start := time.Now()
		_ = bcrypt.CompareHashAndPassword(hash, []byte("correct horse"))
		best = min(best, time.Since(start))
	}
	return best
}

// runFlood serves the API with the given MaxConcurrentHashes (0: the
// default bound) and runs the load generator against it.
func runFlood(b *testing.B, slots int) floodResult {
	auth, err := authkit.New(authkit.Config{
		Store:               memstore.New(),
		Mailer:              authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:              testSecret,
		BaseURL:             "https://app.example.com",
		MaxConcurrentHashes: slots,
		MaxHashWait:         2 * time.Second,
		Limits: authkit.Limits{ // the flood is the point here
			LoginAddr: authkit.Limit{Off: true}, LoginFailures: authkit.Limit{Off: true},
			LoginFailuresSustained: authkit.Limit{Off: true},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer auth.Close(context.Background())
	tok, err := auth.Register(context.Background(), authkit.Registration{Email: "flood@example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := httpauth.New(httpauth.Config{Authenticator: auth})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/api/auth", h))
	defer srv.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodLoadGenerator$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AUTHKIT_FLOOD_URL="+srv.URL, "AUTHKIT_FLOOD_TOKEN="+tok.Tokens.AccessToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	b.ResetTimer()
	if err := cmd.Run(); err != nil {
		b.Fatalf("load generator: %v\n%s", err, out.String())
	}
	var res floodResult
	for _, line := range bytes.Split(out.Bytes(), []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("FLOOD ")); ok {
			if err := json.Unmarshal(rest, &res); err != nil {
				b.Fatal(err)
			}
		}
	}
	if len(res.MeMillis) == 0 {
		b.Fatalf("load generator reported nothing:\n%s", out.String())
	}
	return res
}

// TestFloodLoadGenerator is the load generator of BenchmarkLoginFlood; it
// does nothing unless that benchmark starts it. It sends traffic only to
// the loopback server the benchmark names, for a bounded time.
func TestFloodLoadGenerator(t *testing.T) {
	base := os.Getenv("AUTHKIT_FLOOD_URL")
	if base == "" {
		t.Skip("run by BenchmarkLoginFlood only")
	}
	token := os.Getenv("AUTHKIT_FLOOD_TOKEN")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: floodClients + 4}, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), floodDuration)
	defer cancel()
	body := []byte(`{"email":"flood@example.com","password":"correct horse"}`)

	var logins, busy atomic.Int64
	var wg sync.WaitGroup
	for range floodClients {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/auth/login", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case http.StatusOK:
					logins.Add(1)
				case http.StatusServiceUnavailable:
					busy.Add(1)
				}
			}
		})
	}
	var me []float64
	start := time.Now()
	tick := time.NewTicker(floodMePace)
	for ctx.Err() == nil {
		<-tick.C
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/api/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /me: %d", res.StatusCode)
		}
		me = append(me, float64(time.Since(t0).Microseconds())/1000)
	}
	tick.Stop()
	elapsed := time.Since(start).Seconds()
	wg.Wait()
	out, _ := json.Marshal(floodResult{Logins: int(logins.Load()), Busy: int(busy.Load()), Seconds: elapsed, MeMillis: me})
	fmt.Println("FLOOD " + string(out))
}

// percentile returns the p-quantile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}
