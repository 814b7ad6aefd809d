//go:build soak

// The load test behind the README's capacity model: two reference-server
// instances, in one process, on one PostgreSQL database, under a mixed
// workload over loopback, as a load balancer would spread it. It reports,
// per instance, requests per second and the median and 99th percentile
// latency of each kind of request, and, for both, the database's
// transactions per request and the process's CPU time per request. It
// asserts no 5xx, and nothing about speed: the figures are for reading.
//
//	AUTHKIT_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -tags soak -run Load -timeout 30m -v ./examples/server
//
// Each of -load.clients clients per instance signs in as a user of its own
// from a loopback address of its own, then sends, at random, mostly
// authenticated GET /api/hello, some refreshes (-load.refresh of the
// requests) and some logins (-load.login), each to either instance, with
// no pause between requests.

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	loadUserCache = flag.String("load.usercache", "", "AUTHKIT_USER_CACHE_TTL of the load test's servers (\"off\" reads every user from the database)")
	loadClients   = flag.Int("load.clients", 16, "clients per instance of the load test")
	loadDuration  = flag.Duration("load.duration", 30*time.Second, "how long the load test runs")
	loadLogin     = flag.Float64("load.login", 0.01, "the share of the load test's requests that are logins")
	loadRefresh   = flag.Float64("load.refresh", 0.05, "the share of the load test's requests that are refreshes")
)

// loadOps are the kinds of request of the load test.
var loadOps = []string{"hello", "refresh", "login"}

// loadTally is what one instance saw.
type loadTally struct {
	mu        sync.Mutex
	latencies map[string][]time.Duration
	statuses  map[int]int
}

func (l *loadTally) add(op string, d time.Duration, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.latencies[op] = append(l.latencies[op], d)
	l.statuses[status]++
}

func TestLoadTwoInstancesPostgreSQL(t *testing.T) {
	admin, databaseURL, schema := postgresSchema(t, "authkit_load_", "load two reference servers on one PostgreSQL")

	// Both instances sign with one secret, under one base URL (the tokens'
	// issuer and audience), as the instances of one service do.
	var bases []string
	var servers []*server
	for range 2 {
		s := start(t, map[string]string{
			"AUTHKIT_DATABASE_URL":   databaseURL,
			"AUTHKIT_BASE_URL":       "http://localhost:8080",
			"AUTHKIT_USER_CACHE_TTL": *loadUserCache,
		})
		bases = append(bases, s.base)
		servers = append(servers, s)
	}

	n := 2 * *loadClients
	ips := loopbacks(t, 3, n)
	clients := make([]*loadClient, n)
	for i := range clients {
		clients[i] = newLoadClient(ips[i], fmt.Sprintf("load-%d@example.com", i))
		// One at a time: each server hashes as many passwords at once as
		// it has spare cores, and answers 503 beyond (by design).
		clients[i].signUp(t, bases[i%2])
	}
	if t.Failed() {
		return
	}
	// Logins pass a gate per instance that lets one through at a time, the
	// password work a server on this machine is sized for (see
	// passwordGate); a client that finds it taken sends a hello instead.
	gates := []chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}

	tallies := []*loadTally{{latencies: map[string][]time.Duration{}, statuses: map[int]int{}}, {latencies: map[string][]time.Duration{}, statuses: map[int]int{}}}
	// The schema's own statistics, since other work may share the database:
	// reads are scans of its tables and indexes, writes the rows written.
	dbWork := func() (reads, writes int64) {
		require.NoError(t, admin.QueryRowContext(t.Context(), `SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0),
			coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE schemaname = $1`, schema).Scan(&reads, &writes))
		return reads, writes
	}
	// The statistics reach the view when a server process reports them:
	// ask for them afresh each time.
	readsBefore, writesBefore := dbWork()
	cpuBefore := cpuTime()
	deadline := time.Now().Add(*loadDuration)
	var run sync.WaitGroup
	for i, c := range clients {
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		run.Go(func() {
			for time.Now().Before(deadline) {
				instance := rng.IntN(2)
				op := "hello"
				switch r := rng.Float64(); {
				case r < *loadLogin:
					op = "login"
				case r < *loadLogin+*loadRefresh:
					op = "refresh"
				}
				if op == "login" {
					select {
					case gates[instance] <- struct{}{}:
					default:
						op = "hello"
					}
				}
				began := time.Now()
				status := c.do(t, bases[instance], op)
				tallies[instance].add(op, time.Since(began), status)
				if op == "login" {
					<-gates[instance]
				}
			}
		})
	}
	run.Wait()
	elapsed := *loadDuration
	_, err := admin.ExecContext(t.Context(), "SELECT pg_stat_force_next_flush()")
	require.NoError(t, err)
	readsAfter, writesAfter := dbWork()
	cpuAfter := cpuTime()

	total := 0
	for i, tally := range tallies {
		requests := 0
		for _, op := range loadOps {
			requests += len(tally.latencies[op])
		}
		total += requests
		t.Logf("instance %d: %d requests, %.0f/s; statuses %v", i+1, requests, float64(requests)/elapsed.Seconds(), tally.statuses)
		for _, op := range loadOps {
			d := tally.latencies[op]
			if len(d) == 0 {
				continue
			}
			slices.Sort(d)
			t.Logf("  %-8s %6d  p50 %8v  p99 %8v", op, len(d), d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond))
		}
		for status, count := range tally.statuses {
			assert.Less(t, status, 500, "%d answers %d", count, status)
		}
	}
	for i, s := range servers {
		for _, line := range strings.Split(s.log.String(), "\n") {
			if (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) && !strings.Contains(line, "DEVELOPMENT MAILER") {
				t.Errorf("instance %d logged: %s", i+1, line)
			}
		}
	}
	t.Logf("both: %.0f requests/s; per request %.2f table and index scans, %.2f rows written, and %v of CPU (servers and clients)",
		float64(total)/elapsed.Seconds(), float64(readsAfter-readsBefore)/float64(total), float64(writesAfter-writesBefore)/float64(total),
		(cpuAfter-cpuBefore)/time.Duration(total))
}

// cpuTime is the CPU time, user and system, the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadClient is one client of the load test: a user with its tokens, on a
// loopback address of its own.
type loadClient struct {
	http            *http.Client
	email, password string
	access, refresh string
}

func newLoadClient(ip net.IP, email string) *loadClient {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &loadClient{
		http: &http.Client{
			Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
			Timeout:   time.Minute,
		},
		email: email, password: "load password " + strconv.Itoa(rand.Int()),
	}
}

// signUp registers the client's user on the server at base.
func (c *loadClient) signUp(t *testing.T, base string) {
	status, body := c.post(base+"/api/auth/register", map[string]string{"email": c.email, "password": c.password})
	if status != http.StatusCreated {
		t.Errorf("register %s: %d %v", c.email, status, body)
		return
	}
	c.access, _ = body["access_token"].(string)
	c.refresh, _ = body["refresh_token"].(string)
}

// do sends one request of kind op to base and returns its status.
func (c *loadClient) do(t *testing.T, base, op string) int {
	switch op {
	case "login":
		status, body := c.post(base+"/api/auth/login", map[string]string{"email": c.email, "password": c.password})
		if status == http.StatusOK {
			c.access, _ = body["access_token"].(string)
			c.refresh, _ = body["refresh_token"].(string)
		}
		return status
	case "refresh":
		status, body := c.post(base+"/api/auth/refresh", map[string]string{"refresh_token": c.refresh})
		if status == http.StatusOK {
			c.access, _ = body["access_token"].(string)
			c.refresh, _ = body["refresh_token"].(string)
		}
		return status
	}
	req, err := http.NewRequest(http.MethodGet, base+"/api/hello", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.access)
	res, err := c.http.Do(req)
	if err != nil {
		t.Errorf("GET /api/hello: %v", err)
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}

func (c *loadClient) post(url string, body any) (int, map[string]any) {
	data, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(data)))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}
