//go:build soak

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The flows a soak user goes through, as they are counted.
const (
	flowRegister      = "register"
	flowVerify        = "verify-email"
	flowLogin         = "login"
	flowLoginUnsure   = "login, password of a lost answer"
	flowRefresh       = "refresh"
	flowMe            = "me"
	flowHello         = "hello (RequireUser)"
	flowSessions      = "sessions"
	flowChange        = "change-password"
	flowLogout        = "logout"
	flowRefreshEnded  = "refresh, ended session"
	flowForgot        = "forgot-password"
	flowForgotNoMail  = "forgot-password, mail budget spent"
	flowReset         = "reset-password"
	flowRevoked       = "me, cut-off token"
	flowLogoutAll     = "logout-all"
	flowWrong         = "login, wrong password"
	flowWrongNoDevice = "login, wrong password, no device"
	flowFinalCheck    = "login, final check"
	flowMailOverdue   = "mail that never came"
)

const (
	// resetMailsPerEmail is how many reset mails one address gets at once
	// (Limits.MailEmail's burst); then one every 20 minutes.
	resetMailsPerEmail = 3
	// maxThrottleWait is the longest Retry-After a user waits out before
	// sending the same request again; beyond it, it moves on.
	maxThrottleWait = 5 * time.Second
	// mailWait is how long a user waits for a mailed link.
	mailWait = 30 * time.Second
)

// soakAccount is an account a user registered, with what the user knows
// of it.
type soakAccount struct {
	email string
	// password is the last password set: the one that a 2xx answer
	// confirmed. A request that failed leaves it as it was.
	password string
	// unsure is a password that a request sent since may have set: one
	// whose answer never came (the test fails for that already, but must
	// not then count the account as lost too).
	unsure string
	device string // the latest device credential, shown at each login
	resets int    // forgot-password requests that spent the mail budget
}

// set records pw as a's password for sure.
func (a *soakAccount) set(pw string) { a.password, a.unsure = pw, "" }

// soakUser is one simulated user: it registers accounts and puts them
// through every flow, over and over, until run ends.
type soakUser struct {
	id    int
	c     *soakClient
	log   *soakLog
	gate  *passwordGate // a slot to send a request that checks or hashes a password
	think time.Duration // the pause between requests made while waiting for the gate
	run   context.Context
	warm  func() // called once the user has its first account
	// guesses alternates the wrong passwords between the known device
	// and a stranger, over all users.
	guesses *atomic.Int64

	accounts []*soakAccount
	cur      *soakAccount
	// access and refresh are the tokens of the user's live session on
	// cur; "" when there is no such token.
	access, refresh string
	refreshed       time.Time     // when the session was last refreshed
	refreshEvery    time.Duration // how often browsing refreshes it
	browse          int           // which cheap request comes next
	step            int           // the password requests sent in this round: the user's priority at the gate
}

// loop goes through the flows until the run ends.
func (u *soakUser) loop() {
	for u.run.Err() == nil {
		u.iterate()
		u.c.stats.iterations++
	}
}

// iterate goes through every flow once on the user's current account. It
// registers a new one first when the user has none, or when the current
// one's reset mails are spent (Limits.MailEmail) and the server lets this
// address register. Every step is skipped once the run has ended.
func (u *soakUser) iterate() {
	u.step = 0
	if u.cur == nil || u.cur.resets >= resetMailsPerEmail {
		u.register()
	}
	a := u.cur
	if a == nil || u.run.Err() != nil || !u.login(a) {
		return
	}
	u.refreshSession()
	u.c.do(flowMe, "GET", "/api/auth/me", u.access, nil, 200)
	u.c.do(flowHello, "GET", "/api/hello", u.access, nil, 200)

	// Change the password: the session stays, every access token before
	// the answer's is cut off, every other session ends.
	pw := newSoakPassword()
	ans, _ := u.gated(flowChange, "POST", "/api/auth/change-password", u.access,
		map[string]string{"current_password": a.password, "new_password": pw, "device_token": a.device}, 200, 429)
	switch {
	case ans.lost():
		a.unsure = pw
	case ans.status == 200:
		a.set(pw)
		old := u.access
		u.access = ans.body.AccessToken
		u.c.do(flowRevoked, "GET", "/api/auth/me", old, nil, 401)
	}
	if u.run.Err() != nil {
		return
	}
	// Log out: the session's refresh token is dead; its access token lives
	// on until it expires, as the server does not check sessions.
	ended := u.refresh
	u.refresh = ""
	u.c.do(flowLogout, "POST", "/api/auth/logout", "", map[string]string{"refresh_token": ended}, 204)
	u.c.do(flowRefreshEnded, "POST", "/api/auth/refresh", "", map[string]string{"refresh_token": ended}, 401, 429)

	u.recover(a)

	// Sign in with whatever password is now set, then sign out everywhere.
	if !u.login(a) {
		return
	}
	u.c.do(flowSessions, "GET", "/api/auth/sessions", u.access, nil, 200)
	u.wrongPassword(a)
	if ans, _ := u.c.do(flowLogoutAll, "POST", "/api/auth/logout-all", u.access, nil, 204); ans.status == 204 {
		access, refresh := u.access, u.refresh
		u.access, u.refresh = "", ""
		u.c.do(flowRevoked, "GET", "/api/auth/me", access, nil, 401)
		u.c.do(flowRefreshEnded, "POST", "/api/auth/refresh", "", map[string]string{"refresh_token": refresh}, 401, 429)
	}
	if u.run.Err() == nil {
		u.c.stats.completed++
	}
}

// refreshSession trades the session's refresh token for new tokens, as
// clients do when their access token runs out.
func (u *soakUser) refreshSession() {
	u.refreshed = time.Now()
	ans, _ := u.c.do(flowRefresh, "POST", "/api/auth/refresh", "", map[string]string{"refresh_token": u.refresh}, 200, 429)
	if ans.status == 200 {
		u.access, u.refresh = ans.body.AccessToken, ans.body.RefreshToken
	}
}

// register signs up a new account and verifies it through the link the
// server mails. A user with no account yet waits for RegisterAddr to let
// it register; one with an account goes on with it when refused.
func (u *soakUser) register() {
	for u.run.Err() == nil {
		a := &soakAccount{
			email:    fmt.Sprintf("soak-%02d-%04d@example.com", u.id, len(u.accounts)),
			password: newSoakPassword(),
		}
		ans, _ := u.gated(flowRegister, "POST", "/api/auth/register", "",
			map[string]string{"email": a.email, "password": a.password, "display_name": "Soak " + strconv.Itoa(u.id)}, 201, 429)
		if ans.status == 201 {
			a.device = ans.body.DeviceToken
			if u.accounts = append(u.accounts, a); len(u.accounts) == 1 {
				u.warm()
			}
			u.cur = a
			u.access, u.refresh = ans.body.AccessToken, ans.body.RefreshToken
			if token, ok := u.mailed("verify_email", a.email); ok {
				u.retrying(func() answer {
					ans, _ := u.c.do(flowVerify, "POST", "/api/auth/verify-email", "", map[string]string{"token": token}, 200, 429)
					return ans
				})
			}
			return
		}
		if u.cur != nil || !u.pause(min(ans.retryAfter, time.Second)) {
			return
		}
	}
}

// login signs in to a with its last password and device credential,
// making the new session the user's. A refusal of the password last set
// (and of the one that may have been set since, see soakAccount.unsure) is
// a lost account, which the test counts.
func (u *soakUser) login(a *soakAccount) bool {
	ans := u.signIn(flowLogin, a, a.password)
	if ans.status == 401 && a.unsure != "" {
		ans = u.signIn(flowLoginUnsure, a, a.unsure)
	}
	if ans.status == 401 {
		u.c.stats.lostDuringRun++
	}
	if ans.status != 200 {
		return false
	}
	u.access, u.refresh = ans.body.AccessToken, ans.body.RefreshToken
	return true
}

// signIn logs in to a with password, waiting out the rate limits while
// the run lasts. On success the password is a's for sure.
func (u *soakUser) signIn(flow string, a *soakAccount, password string) answer {
	expect := []int{200, 429}
	if a.unsure != "" {
		expect = append(expect, 401) // either password may be refused
	}
	ans := u.retrying(func() answer {
		ans, _ := u.gated(flow, "POST", "/api/auth/login", "",
			map[string]string{"email": a.email, "password": password, "device_token": a.device}, expect...)
		return ans
	})
	if ans.status == 200 {
		a.device = ans.body.DeviceToken
		a.set(password)
	}
	return ans
}

// recover asks for a reset link and sets a new password with it. Once the
// address's reset mails are spent (Limits.MailEmail), the request still
// answers 200 but mails nothing: it is sent, and no link awaited.
func (u *soakUser) recover(a *soakAccount) {
	if a.resets >= resetMailsPerEmail {
		u.c.do(flowForgotNoMail, "POST", "/api/auth/forgot-password", "", map[string]string{"email": a.email}, 200, 429)
		return
	}
	if ans, _ := u.c.do(flowForgot, "POST", "/api/auth/forgot-password", "", map[string]string{"email": a.email}, 200, 429); ans.status != 200 {
		return
	}
	a.resets++
	token, ok := u.mailed("reset_password", a.email)
	if !ok {
		return
	}
	pw := newSoakPassword()
	ans := u.retrying(func() answer {
		ans, _ := u.gated(flowReset, "POST", "/api/auth/reset-password", "", map[string]string{"token": token, "password": pw}, 200, 429)
		return ans
	})
	if ans.lost() {
		a.unsure = pw
	}
	if ans.status == 200 {
		// Every session ends and every access token is cut off.
		a.set(pw)
		access, refresh := u.access, u.refresh
		u.access, u.refresh = "", ""
		if access != "" {
			u.c.do(flowRevoked, "GET", "/api/auth/me", access, nil, 401)
		}
		if refresh != "" {
			u.c.do(flowRefreshEnded, "POST", "/api/auth/refresh", "", map[string]string{"refresh_token": refresh}, 401, 429)
		}
	}
}

// wrongPassword guesses a's password, by turns (over all users) from the
// known device, which spends its own budget, and as a stranger from the
// same address, which spends the account's budgets: those the owner's
// device never feels.
func (u *soakUser) wrongPassword(a *soakAccount) {
	body := map[string]string{"email": a.email, "password": "wrong " + newSoakPassword()}
	flow := flowWrongNoDevice
	if u.guesses.Add(1)%2 == 0 {
		body["device_token"] = a.device
		flow = flowWrong
	}
	u.gated(flow, "POST", "/api/auth/login", "", body, 401, 429)
}

// mailed waits for the link of a mail of kind to email.
func (u *soakUser) mailed(kind, email string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), mailWait)
	defer cancel()
	token, ok := u.log.link(ctx, kind, email)
	if !ok {
		u.c.stats.surprise(flowMailOverdue, fmt.Sprintf("no %s mail to %s within %s", kind, email, mailWait))
	}
	return token, ok
}

// gated sends a request that checks or hashes a password once it holds a
// slot of the gate. Waiting for it, the user does what signed-in users
// do: it reads its profile, calls the protected route, lists its
// sessions, and now and then refreshes its tokens.
func (u *soakUser) gated(flow, method, path, bearer string, body any, expect ...int) (answer, bool) {
	t, ok := u.acquire()
	if !ok {
		return answer{}, false
	}
	defer u.gate.leave(t)
	u.step++
	return u.c.do(flow, method, path, bearer, body, expect...)
}

// firstAccount is the gate priority of a user's first registration: every
// user gets an account (and so a connection) before rounds go on.
const firstAccount = 1000

// acquire waits for a slot of the gate, browsing meanwhile when signed in.
// It returns false, with no slot, if the run ends first.
func (u *soakUser) acquire() (*gateTicket, bool) {
	priority := u.step
	if len(u.accounts) == 0 {
		priority = firstAccount
	}
	t := u.gate.enter(priority)
	for {
		var pause <-chan time.Time
		if u.access != "" {
			pause = time.After(u.think)
		}
		select {
		case <-t.granted:
			return t, true
		case <-u.run.Done():
			u.gate.leave(t)
			return nil, false
		case <-pause:
		}
		switch u.browse++; {
		case u.browse%4 == 0 && u.refresh != "" && time.Since(u.refreshed) >= u.refreshEvery:
			u.refreshSession()
		case u.browse%4 == 1:
			u.c.do(flowHello, "GET", "/api/hello", u.access, nil, 200)
		case u.browse%4 == 2:
			u.c.do(flowSessions, "GET", "/api/auth/sessions", u.access, nil, 200)
		default:
			u.c.do(flowMe, "GET", "/api/auth/me", u.access, nil, 200)
		}
	}
}

// retrying sends a request again while it is throttled (429, or 503 which
// the test counts as a failure), after the Retry-After it was given, as
// long as the run lasts and the wait is short.
func (u *soakUser) retrying(send func() answer) answer {
	for {
		ans := send()
		if ans.status != 429 && ans.status != 503 || ans.retryAfter > maxThrottleWait || !u.pause(ans.retryAfter) {
			return ans
		}
	}
}

// pause waits d, and reports false if the run ended first.
func (u *soakUser) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-u.run.Done():
		return false
	}
}

func newSoakPassword() string { return "soak " + rand.Text()[:16] }

// soakClient sends a user's requests from its own loopback address and
// counts them.
type soakClient struct {
	base  string
	http  *http.Client
	ctx   context.Context // requests are not cut short when the run ends
	world *sync.RWMutex   // held for reading during each request, so that the monitor can quiesce
	sent  *atomic.Int64
	stats *soakStats
}

// newSoakClient returns a client whose connections come from the
// loopback address ip.
func newSoakClient(ctx context.Context, base string, ip net.IP, world *sync.RWMutex, sent *atomic.Int64) *soakClient {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &soakClient{
		base: base,
		http: &http.Client{
			Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
			Timeout:   2 * time.Minute,
		},
		ctx: ctx, world: world, sent: sent, stats: newSoakStats(),
	}
}

// answer is what a request got back; status 0 means no answer.
type answer struct {
	sent       bool
	status     int
	retryAfter time.Duration
	body       answerBody
}

// lost reports whether the request was sent and its answer never came:
// what it asked for may or may not have been done.
func (a answer) lost() bool { return a.sent && a.status == 0 }

// answerBody holds the fields of token responses and problems the soak
// reads.
type answerBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	DeviceToken  string `json:"device_token"`
	Code         string `json:"code"`
	Detail       string `json:"detail"`
}

// do sends a request with a JSON body (if any) and a bearer token (if
// any), counts it under flow, and reports whether its status is one of
// expect; any other is counted as a surprise.
func (c *soakClient) do(flow, method, path, bearer string, body any, expect ...int) (answer, bool) {
	c.world.RLock()
	defer c.world.RUnlock()
	ans := answer{sent: true}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, rd)
	if err != nil {
		panic(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	started := time.Now()
	res, err := c.http.Do(req)
	c.sent.Add(1)
	if err != nil {
		c.stats.count(flow, 0, time.Since(started))
		c.stats.surprise(flow, fmt.Sprintf("%s %s: %v", method, path, err))
		return ans, false
	}
	raw, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	elapsed := time.Since(started)
	ans.status = res.StatusCode
	c.stats.count(flow, ans.status, elapsed)
	if err != nil {
		c.stats.surprise(flow, fmt.Sprintf("%s %s: reading the answer: %v", method, path, err))
		return ans, false
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ans.body); err != nil {
			c.stats.surprise(flow, fmt.Sprintf("%s %s: %d with a body that is no JSON: %.200q", method, path, ans.status, raw))
		}
	}
	if s := res.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			ans.retryAfter = time.Duration(n) * time.Second
		}
	}
	if (ans.status == 429 || ans.status == 503) && ans.retryAfter <= 0 {
		c.stats.surprise(flow, fmt.Sprintf("%s %s: %d without Retry-After", method, path, ans.status))
	}
	if !slices.Contains(expect, ans.status) {
		c.stats.surprise(flow, fmt.Sprintf("%s %s: %d %s %q (expected %v)", method, path, ans.status, ans.body.Code, ans.body.Detail, expect))
		return ans, false
	}
	return ans, true
}

// soakStats are the requests of one user (or, merged, of all).
type soakStats struct {
	flows         map[string]*flowStats
	surprises     []string // the first few
	nSurprises    int
	iterations    int // rounds begun
	completed     int // rounds that went through every step before the run ended
	lostDuringRun int // logins refused with the password last set
}

// flowStats counts the requests of one flow.
type flowStats struct {
	statuses map[int]int
	latency  [latencyBuckets]int
	max      time.Duration
}

// Latencies are counted in buckets of a quarter of an octave of
// microseconds: bucket i holds [2^(i/4), 2^((i+1)/4)) µs.
const latencyBuckets = 128

func newSoakStats() *soakStats { return &soakStats{flows: map[string]*flowStats{}} }

func (s *soakStats) flow(name string) *flowStats {
	f := s.flows[name]
	if f == nil {
		f = &flowStats{statuses: map[int]int{}}
		s.flows[name] = f
	}
	return f
}

func (s *soakStats) count(flow string, status int, d time.Duration) {
	f := s.flow(flow)
	f.statuses[status]++
	us := float64(d.Microseconds())
	f.latency[min(latencyBuckets-1, int(4*math.Log2(us+1)))]++
	f.max = max(f.max, d)
}

func (s *soakStats) surprise(flow, what string) {
	s.nSurprises++
	if len(s.surprises) < 20 {
		s.surprises = append(s.surprises, flow+": "+what)
	}
}

// merge adds o to s.
func (s *soakStats) merge(o *soakStats) {
	for name, of := range o.flows {
		f := s.flow(name)
		for st, n := range of.statuses {
			f.statuses[st] += n
		}
		for i, n := range of.latency {
			f.latency[i] += n
		}
		f.max = max(f.max, of.max)
	}
	s.nSurprises += o.nSurprises
	for _, x := range o.surprises {
		if len(s.surprises) < 40 {
			s.surprises = append(s.surprises, x)
		}
	}
	s.iterations += o.iterations
	s.completed += o.completed
	s.lostDuringRun += o.lostDuringRun
}

// requests returns the number of requests of f.
func (f *flowStats) requests() int {
	n := 0
	for _, c := range f.statuses {
		n += c
	}
	return n
}

// percentile returns the upper bound of the latency bucket that holds
// the p-th percentile of f's requests.
func (f *flowStats) percentile(p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(f.requests())))
	seen := 0
	for i, n := range f.latency {
		if seen += n; seen >= rank && n > 0 {
			return time.Duration(math.Pow(2, float64(i+1)/4)) * time.Microsecond
		}
	}
	return f.max
}
