//go:build soak

// The soak: the reference server, in-process, under simulated users who go
// through every flow for minutes on end, on SQLite and on PostgreSQL. It
// looks for what short tests cannot see: a 5xx that comes once in ten
// thousand requests, an account whose password got lost between two flows,
// memory or goroutines that grow with the requests served, database
// connections beyond the pool, anything left behind at shutdown. It is
// behind the build tag soak, so that go test ./... leaves it out:
//
//	AUTHKIT_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -tags soak -run Soak -timeout 30m -v ./examples/server
//
// and, shorter, under the race detector (bcrypt runs some 20 times slower
// there, so fewer users, who browse less):
//
//	go test -race -tags soak -run Soak -timeout 30m -v ./examples/server \
//	  -soak.users 4 -soak.think 1s -soak.duration 2m
//
// Without AUTHKIT_TEST_POSTGRES_DSN the PostgreSQL soak skips; with it, it
// runs in a schema of its own that is dropped afterwards. The -soak.*
// flags are listed below. The figures are logged (-v shows them).
//
// Each user registers an account (reading the verification link from the
// development mailer's log), then goes round: login, refresh, me, the
// protected /api/hello, change-password, logout, forgot-password and
// reset-password (reading the link), login, sessions, a wrong password
// (from its device or as a stranger, by turns), logout-all. After three
// resets an account's reset mails are spent (Limits.MailEmail), so the
// user registers a new one. Each user sends from one of -soak.addrs
// loopback addresses, so the per-address limits count them apart. Rate
// limits answer 429 by design: those answers are counted apart, and the
// user waits out a short Retry-After or moves on.
//
// Password requests pass a gate (passwordGate) that lets through only as
// many at once as the server has hashing slots: the server is offered the
// password work it is sized for, since beyond it it answers 503 after
// MaxHashWait by design. While a user waits at the gate it browses (me,
// hello, sessions, now and then a refresh), which is most of the traffic.
//
// At the end: no 5xx; no unexpected answer (a status outside each step's
// expected few, such as a cut-off token still working); every account
// logs in with the password last set; no warnings or errors in the log;
// heap (HeapAlloc after a forced GC) and goroutines no higher at the end
// than when warm, within heapSlack and goroutineSlack; database
// connections never above the pool's size; and after the server stops,
// goroutines, connections and open files back where they were before it
// started.

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/sqlstore/postgres"
)

var (
	soakUsers    = flag.Int("soak.users", 32, "simulated users of the soak")
	soakDuration = flag.Duration("soak.duration", 2*time.Minute, "how long the users run, per database engine")
	soakAddrs    = flag.Int("soak.addrs", 4, "loopback source addresses (127.0.0.1, 127.0.0.2, …) the users are spread over")
	soakHashers  = flag.Int("soak.hashers", 0, "password requests in flight at once; 0: as many as the server's hashing slots, max(1, CPUs-1)")
	soakThink    = flag.Duration("soak.think", 100*time.Millisecond, "the pause between the cheap requests (me, hello, sessions, refresh) a user makes while it waits to send a password")
)

// Tolerances of the checks on growth, from the sample taken when warm (at
// a quarter of the run at the earliest, once every user has an account)
// to the one at the end: the heap after a forced GC may grow by half, plus
// heapSlack; the goroutines of the quiesced process by goroutineSlack.
const (
	heapSlack      = 8 << 20
	goroutineSlack = 8
)

func TestSoakSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authkit.db")
	soak(t, soakEngine{
		name: "SQLite",
		url:  "sqlite:" + path,
		// sqlite.Open's pool, as its doc states.
		poolSize: max(8, runtime.GOMAXPROCS(0)),
		// Each connection holds the database file open: count them.
		connections: func(context.Context) (int, error) { return filesOpen(path) },
	})
}

func TestSoakPostgreSQL(t *testing.T) {
	dsn := os.Getenv("AUTHKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set AUTHKIT_TEST_POSTGRES_DSN to soak the reference server on PostgreSQL")
	}
	admin, err := postgres.Open(t.Context(), dsn)
	require.NoError(t, err)
	schema := "authkit_soak_" + strings.ToLower(rand.Text())
	_, err = admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		assert.NoError(t, err, "drop the soak's schema")
		_ = admin.Close()
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema) // so that pg_stat_activity tells the server's connections
	u.RawQuery = q.Encode()
	soak(t, soakEngine{
		name: "PostgreSQL",
		url:  u.String(),
		// postgres.Open's pool, as its doc states.
		poolSize: 20,
		connections: func(ctx context.Context) (int, error) {
			var n int
			err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", schema).Scan(&n)
			return n, err
		},
	})
}

// soakEngine is a database the server is soaked on.
type soakEngine struct {
	name, url string
	poolSize  int
	// connections counts the server's open database connections from
	// outside the server.
	connections func(context.Context) (int, error)
}

// soakSample is the state of the process at one moment, taken quiesced:
// no request in flight, after a forced GC.
type soakSample struct {
	at          time.Duration
	heap        uint64 // HeapAlloc
	goroutines  int
	connections int
	requests    int64
}

// soakFigures are what a soak measured.
type soakFigures struct {
	engine                      soakEngine
	users, addrs, hashers       int
	ran                         time.Duration
	stats                       *soakStats // every request, the final check's too
	rounds, completed           []int      // per user
	accounts, lost              int        // at the final check
	warmed                      bool       // whether every user had an account by three quarters of the run
	warm, end                   soakSample
	baseGoroutines, baseFiles   int // before the server started
	afterGoroutines, afterFiles int // after it stopped
	afterConnections            int
	goroutinesBack              bool
	afterHeap                   uint64
	maxConnections              int64
	logLines, untaken           int
	mails                       map[string]int
	trouble                     []string // unexpected WARN and ERROR lines
	goroutineDump               string   // when goroutines did not come back
}

// soak runs the reference server on e under the users for the soak's
// duration, then checks that nothing failed, nothing was lost and
// nothing grew.
func soak(t *testing.T, e soakEngine) {
	f := soakFigures{engine: e, users: *soakUsers, addrs: *soakAddrs}
	f.hashers = cmp.Or(*soakHashers, max(1, runtime.NumCPU()-1))
	duration := *soakDuration
	require.Positive(t, f.users, "-soak.users")
	require.Positive(t, f.addrs, "-soak.addrs")
	clientIPs := loopbacks(t, 0, f.addrs)
	checkIPs := loopbacks(t, 1, 8) // the final check's own addresses, for LoginAddr

	// The baseline: nothing of the server yet (the network poller is
	// already up: loopbacks used it).
	f.baseGoroutines, f.baseFiles = settle(), filesOpenAll()
	log := newSoakLog()
	base, stop := startSoak(t, e.url, log)

	run, endRun := context.WithCancel(t.Context())
	defer endRun()
	var (
		world   sync.RWMutex // users hold it for reading during each request
		sent    atomic.Int64
		gate    = newPasswordGate(f.hashers)
		users   []*soakUser
		wg      sync.WaitGroup
		warm    atomic.Int64 // users that have an account
		ready   = make(chan struct{})
		guesses atomic.Int64
	)
	warmed := func() {
		if warm.Add(1) == int64(f.users) {
			close(ready)
		}
	}
	for i := range f.users {
		users = append(users, &soakUser{
			id: i, log: log, gate: gate, think: *soakThink, run: run, warm: warmed, guesses: &guesses,
			// The users of one address would refresh three times as often
			// as TokenAddr lets an address in the long run (once a
			// second), were they always browsing: some hear 429.
			refreshEvery: time.Duration((f.users+f.addrs-1)/f.addrs) * time.Second / 3,
			c:            newSoakClient(t.Context(), base, clientIPs[i%f.addrs], &world, &sent),
		})
	}
	stopWatching := watchConnections(t, e, &world)

	t.Logf("%s: %d users on %d loopback addresses for %s; %d password request(s) in flight at once; %d hashing slot(s) in the server (CPUs %d)",
		e.name, f.users, f.addrs, duration, f.hashers, max(1, runtime.NumCPU()-1), runtime.NumCPU())
	started := time.Now()
	for _, u := range users {
		wg.Go(u.loop)
	}
	sample := func() soakSample {
		world.Lock()
		defer world.Unlock()
		s := soakSample{at: time.Since(started), requests: sent.Load()}
		s.goroutines = settle()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.heap = ms.HeapAlloc
		n, err := e.connections(t.Context())
		assert.NoError(t, err, "count the database connections")
		s.connections = n
		return s
	}
	// Warm: at a quarter of the run, once every user has an account and
	// so a connection. Not before three quarters: the growth checks are
	// then left out.
	time.Sleep(time.Until(started.Add(duration / 4)))
	f.warmed = true
	select {
	case <-ready:
	case <-time.After(time.Until(started.Add(duration * 3 / 4))):
		f.warmed = false
	}
	f.warm = sample()
	time.Sleep(time.Until(started.Add(duration)))
	f.end = sample()
	endRun()
	wg.Wait()
	f.ran = time.Since(started)

	f.stats = newSoakStats()
	for _, u := range users {
		f.stats.merge(u.c.stats)
		f.rounds = append(f.rounds, u.c.stats.iterations)
		f.completed = append(f.completed, u.c.stats.completed)
	}
	f.accounts, f.lost = finalCheck(t, users, base, checkIPs, gate, &world, &sent, f.stats)

	// After the server stops, everything it held is let go.
	require.NoError(t, stop(), "graceful shutdown")
	for _, u := range users {
		u.c.http.CloseIdleConnections()
	}
	f.maxConnections = stopWatching()
	f.goroutinesBack = waitFor(func() bool { f.afterGoroutines = settle(); return f.afterGoroutines <= f.baseGoroutines })
	if !f.goroutinesBack {
		var dump strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&dump, 1)
		f.goroutineDump = dump.String()
	}
	waitFor(func() bool {
		n, err := e.connections(t.Context())
		f.afterConnections = n
		return err != nil || n == 0
	})
	waitFor(func() bool { f.afterFiles = filesOpenAll(); return f.afterFiles <= f.baseFiles })
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.afterHeap = ms.HeapAlloc
	f.logLines, f.mails, f.untaken, f.trouble = log.figures()

	f.report(t)
	f.check(t)
}

// watchConnections counts the server's database connections every 100 ms
// until stop is called, which returns the most it saw.
func watchConnections(t *testing.T, e soakEngine, world *sync.RWMutex) (stop func() int64) {
	t.Helper()
	var maxSeen atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	var firstErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			world.RLock() // a quiesced sample sees no query of ours
			n, err := e.connections(ctx)
			world.RUnlock()
			if err != nil && ctx.Err() == nil && firstErr == nil {
				firstErr = err
			}
			for m := maxSeen.Load(); int64(n) > m && !maxSeen.CompareAndSwap(m, int64(n)); m = maxSeen.Load() {
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() int64 {
		cancel()
		wg.Wait()
		assert.NoError(t, firstErr, "count the database connections")
		return maxSeen.Load()
	}
}

// finalCheck logs in to every account with the password last set and its
// device credential, from addresses of its own, and returns how many
// accounts there are and how many refused the password.
func finalCheck(t *testing.T, users []*soakUser, base string, ips []net.IP, gate *passwordGate, world *sync.RWMutex, sent *atomic.Int64, stats *soakStats) (accounts, lost int) {
	t.Helper()
	var clients []*soakClient
	for _, ip := range ips {
		clients = append(clients, newSoakClient(t.Context(), base, ip, world, sent))
	}
	defer func() {
		for _, c := range clients {
			c.http.CloseIdleConnections()
			stats.merge(c.stats)
		}
	}()
	deadline := time.Now().Add(5 * time.Minute)
	login := func(c *soakClient, a *soakAccount, password string) answer {
		for {
			ticket := gate.enter(0)
			<-ticket.granted
			expect := []int{200, 429}
			if a.unsure != "" {
				expect = append(expect, 401) // either password may be refused
			}
			ans, _ := c.do(flowFinalCheck, "POST", "/api/auth/login", "",
				map[string]string{"email": a.email, "password": password, "device_token": a.device}, expect...)
			gate.leave(ticket)
			if ans.status != 429 && ans.status != 503 || time.Now().After(deadline) {
				return ans
			}
			time.Sleep(ans.retryAfter)
		}
	}
	for _, u := range users {
		for _, a := range u.accounts {
			c := clients[accounts/20%len(clients)] // LoginAddr lets 30 through at once
			accounts++
			ans := login(c, a, a.password)
			if ans.status == 401 && a.unsure != "" {
				ans = login(c, a, a.unsure)
			}
			if ans.status == 401 {
				lost++
				t.Logf("lost account %s: login with the last password set answered %d %s", a.email, ans.status, ans.body.Code)
			}
		}
	}
	return accounts, lost
}

// report logs the figures.
func (f *soakFigures) report(t *testing.T) {
	t.Helper()
	total := 0
	var b strings.Builder
	fmt.Fprintf(&b, "%-36s %8s  %-28s %9s %9s %9s\n", "flow", "requests", "statuses", "p50 ≤", "p99 ≤", "max")
	for _, name := range slices.Sorted(maps.Keys(f.stats.flows)) {
		fl := f.stats.flows[name]
		total += fl.requests()
		var st []string
		for _, code := range slices.Sorted(maps.Keys(fl.statuses)) {
			st = append(st, fmt.Sprintf("%d:%d", code, fl.statuses[code]))
		}
		fmt.Fprintf(&b, "%-36s %8d  %-28s %9s %9s %9s\n", name, fl.requests(), strings.Join(st, " "),
			fl.percentile(50).Round(10*time.Microsecond), fl.percentile(99).Round(10*time.Microsecond), fl.max.Round(10*time.Microsecond))
	}
	t.Logf("%s: %d requests in %s: %.0f per second (%.0f per second from warm to the end)\n%s",
		f.engine.name, total, f.ran.Round(time.Second), float64(total)/f.ran.Seconds(),
		float64(f.end.requests-f.warm.requests)/(f.end.at-f.warm.at).Seconds(), b.String())
	t.Logf("rounds: %d begun, %d through every flow; per user %d–%d begun, %d–%d through",
		f.stats.iterations, f.stats.completed, slices.Min(f.rounds), slices.Max(f.rounds), slices.Min(f.completed), slices.Max(f.completed))
	t.Logf("5xx answers: %d; 429 answers (the rate limits, expected): %d; unexpected answers: %d",
		f.statuses(func(s int) bool { return s >= 500 }), f.statuses(func(s int) bool { return s == 429 }), f.stats.nSurprises)
	t.Logf("accounts: %d, each logged in to at the end with the last password set: %d refused (during the run: %d)",
		f.accounts, f.lost, f.stats.lostDuringRun)
	t.Logf("mails: %v; links nobody took: %d; log lines: %d, unexpected warnings and errors: %d",
		f.mails, f.untaken, f.logLines, len(f.trouble))
	t.Logf("heap after GC: %.1f MiB when warm (at %s), %.1f MiB at the end (at %s), %.1f MiB after stop; limit at the end: 1.5 × the warm figure + %d MiB = %.1f MiB",
		mib(f.warm.heap), f.warm.at.Round(time.Second), mib(f.end.heap), f.end.at.Round(time.Second), mib(f.afterHeap),
		heapSlack>>20, mib(f.heapLimit()))
	if n := f.end.requests - f.warm.requests; n > 0 {
		t.Logf("heap growth from warm to the end: %+.1f bytes per request over %d requests", (float64(f.end.heap)-float64(f.warm.heap))/float64(n), n)
	}
	t.Logf("goroutines: %d before the server, %d when warm, %d at the end (limit %d), %d after stop (limit %d)",
		f.baseGoroutines, f.warm.goroutines, f.end.goroutines, f.warm.goroutines+goroutineSlack, f.afterGoroutines, f.baseGoroutines)
	t.Logf("database connections: pool size %d; at most %d seen (sampled every 100 ms); %d when warm, %d at the end, %d after stop",
		f.engine.poolSize, f.maxConnections, f.warm.connections, f.end.connections, f.afterConnections)
	t.Logf("open files: %d before the server, %d after stop", f.baseFiles, f.afterFiles)
}

// check fails t for whatever went wrong.
func (f *soakFigures) check(t *testing.T) {
	t.Helper()
	assert.Zero(t, f.statuses(func(s int) bool { return s >= 500 }), "5xx answers")
	assert.Zero(t, f.stats.nSurprises, "unexpected answers (the first ones):\n%s", strings.Join(f.stats.surprises, "\n"))
	assert.Zero(t, f.lost, "accounts lost")
	assert.Empty(t, f.trouble, "unexpected warnings and errors in the server's log (the first ones):\n%s",
		strings.Join(f.trouble[:min(10, len(f.trouble))], "\n"))
	if f.stats.completed >= 2 {
		for _, flow := range []string{flowRegister, flowVerify, flowLogin, flowRefresh, flowMe, flowHello, flowSessions, flowChange,
			flowLogout, flowRefreshEnded, flowForgot, flowReset, flowRevoked, flowLogoutAll, flowWrong, flowWrongNoDevice} {
			fl := f.stats.flows[flow]
			assert.True(t, fl != nil && fl.statuses[200]+fl.statuses[201]+fl.statuses[204]+fl.statuses[401] > 0,
				"the soak went through %s, not only into its rate limit", flow)
		}
	} else {
		t.Logf("only %d rounds went through every flow: too short to require each", f.stats.completed)
	}
	if f.warmed {
		assert.LessOrEqual(t, f.end.heap, f.heapLimit(), "the heap grew from warm to the end of the run")
		assert.LessOrEqual(t, f.end.goroutines, f.warm.goroutines+goroutineSlack, "goroutines grew from warm to the end of the run")
	} else {
		t.Log("not every user had an account at three quarters of the run: too short to compare heap and goroutines")
	}
	assert.True(t, f.goroutinesBack, "goroutines back to %d after the server stopped, not %d:\n%s", f.baseGoroutines, f.afterGoroutines, f.goroutineDump)
	assert.LessOrEqual(t, f.maxConnections, int64(f.engine.poolSize), "database connections within the pool")
	assert.Zero(t, f.afterConnections, "database connections after stop")
	if f.baseFiles >= 0 {
		assert.LessOrEqual(t, f.afterFiles, f.baseFiles, "open files after stop")
	}
}

// heapLimit is the most heap the end of the run may hold.
func (f *soakFigures) heapLimit() uint64 { return f.warm.heap + f.warm.heap/2 + heapSlack }

// statuses counts the answers whose status matches.
func (f *soakFigures) statuses(match func(int) bool) int {
	n := 0
	for _, fl := range f.stats.flows {
		for st, c := range fl.statuses {
			if match(st) {
				n += c
			}
		}
	}
	return n
}

// startSoak runs the server on databaseURL, logging to log, on a free
// loopback port. stop shuts it down and returns what run returned.
func startSoak(t *testing.T, databaseURL string, log io.Writer) (base string, stop func() error) {
	t.Helper()
	env := map[string]string{
		"AUTHKIT_ADDR":         "127.0.0.1:0",
		"AUTHKIT_DATABASE_URL": databaseURL,
		"AUTHKIT_SECRET":       "an example secret of at least 32 bytes!",
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(log, nil)), func(a net.Addr) { addr <- a })
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case a := <-addr:
		return "http://" + a.String(), stop
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	case <-time.After(4 * testkit.Timeout): // migrations under -race on a busy machine are slow
		t.Fatal("server did not start in time")
	}
	return "", nil
}

// loopbacks returns n loopback addresses 127.0.block.1, 127.0.block.2, …,
// after checking that they can be bound (Linux routes all of 127/8 to the
// loopback interface; other systems may not).
func loopbacks(t *testing.T, block, n int) []net.IP {
	t.Helper()
	var ips []net.IP
	for i := range n {
		ip := net.IPv4(127, 0, byte(block), byte(1+i%254))
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
		if err != nil {
			t.Skipf("the soak sends from many loopback addresses, and %s cannot be bound here: %v", ip, err)
		}
		_ = ln.Close()
		ips = append(ips, ip)
	}
	return ips
}

// settle waits for the goroutine count to hold still, runs the GC, and
// returns the count.
func settle() int {
	n, still := runtime.NumGoroutine(), 0
	for i := 0; i < 200 && still < 5; i++ {
		time.Sleep(10 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			still++
		} else {
			n, still = m, 0
		}
	}
	runtime.GC()
	runtime.GC()
	return runtime.NumGoroutine()
}

// waitFor polls ok until it holds or testkit.Timeout has passed, and
// reports whether it held.
func waitFor(ok func() bool) bool {
	deadline := time.Now().Add(testkit.Timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// filesOpen counts this process's file descriptors open on path: a SQLite
// connection holds one on its database file.
func filesOpen(path string) (int, error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("counting SQLite connections needs /proc: %w", err)
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == path {
			n++
		}
	}
	return n, nil
}

// filesOpenAll counts this process's file descriptors, or returns -1
// where /proc does not tell.
func filesOpenAll() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds) - 1 // the one ReadDir held
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
