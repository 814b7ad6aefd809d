package authotel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/authotel"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/sqlstore/sqlite"
)

func TestSignInFlows(t *testing.T) {
	h := newHarness(t, nil)
	ctx := t.Context()
	reg := h.register(t, "ann@example.com", "correct horse")

	_, err := h.Login(ctx, "ann@example.com", "wrong horse", client)
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "Login with a wrong password")
	_, err = h.Login(ctx, "nobody@example.com", "correct horse", client)
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "Login with an unknown email")
	tok, err := h.Login(ctx, "ann@example.com", "correct horse", client)
	require.NoError(t, err, "Login")
	refreshed, err := h.Refresh(ctx, tok.RefreshToken, client)
	require.NoError(t, err, "Refresh")
	user, _, err := h.Authenticate(ctx, refreshed.AccessToken)
	require.NoError(t, err, "Authenticate")

	m := h.collect(t)

	// Every event the host's hook got is counted, by type and reason.
	h.events.mu.Lock()
	seen := map[[2]string]int64{}
	for _, e := range h.events.list {
		seen[[2]string{string(e.Type), e.Reason}]++
	}
	h.events.mu.Unlock()
	for k, n := range seen {
		set := attrs("authkit.event.type", k[0])
		if k[1] != "" {
			set = attrs("authkit.event.type", k[0], "authkit.event.reason", k[1])
		}
		assert.Equal(t, n, counterValue(t, m[authotel.MetricEvents], set), "authkit.events of %v", k)
	}
	assert.Equal(t, int64(1), counterValue(t, m[authotel.MetricEvents],
		attrs("authkit.event.type", "authn_login_fail", "authkit.event.reason", "bad_password")), "the wrong password")
	assert.Equal(t, int64(1), counterValue(t, m[authotel.MetricEvents],
		attrs("authkit.event.type", "authn_login_fail", "authkit.event.reason", "unknown_email")), "the unknown email")

	signIn := m[authotel.MetricSignInDuration]
	assert.Equal(t, uint64(2), histogramCount(t, signIn, attrs("authkit.signin.method", "password", "authkit.outcome", "invalid_credentials")), "failed sign-ins")
	assert.Equal(t, uint64(1), histogramCount(t, signIn, attrs("authkit.signin.method", "password", "authkit.outcome", "ok")), "sign-ins")

	flows := m[authotel.MetricFlowDuration]
	for _, c := range []struct {
		flow, outcome string
		n             uint64
	}{
		{"register", "ok", 1}, {"login", "invalid_credentials", 2}, {"login", "ok", 1},
		{"refresh", "ok", 1}, {"authenticate", "ok", 1},
	} {
		assert.Equal(t, c.n, histogramCount(t, flows, attrs("authkit.flow", c.flow, "authkit.outcome", c.outcome)), "authkit.flow.duration of %s %s", c.flow, c.outcome)
	}

	// Register hashes, and each of the three logins checks one password.
	assert.Equal(t, uint64(4), histogramCount(t, m[authotel.MetricHashWait], attrs("authkit.outcome", "ok")), "waits for a hashing slot")
	assert.Zero(t, counterValue(t, m[authotel.MetricHashRejections], attrs()), "no refusal")
	gauge, ok := m[authotel.MetricMailQueueDepth].Data.(metricdata.Gauge[int64])
	require.True(t, ok, "the mail queue depth is an int64 gauge")
	require.Len(t, gauge.DataPoints, 1, "one mail queue")
	assert.Zero(t, gauge.DataPoints[0].Value, "the mail queue is empty")

	// Spans: one per flow, the Store and Limiter calls its children.
	logins := h.spansNamed("authkit.login")
	require.Len(t, logins, 3, "a span per login")
	for i, want := range []string{"invalid_credentials", "invalid_credentials", "ok"} {
		s := logins[i]
		assert.False(t, s.Parent().IsValid(), "login %d is a root span", i)
		assert.Equal(t, want, spanAttribute(s, "authkit.outcome"), "outcome of login %d", i)
		if want == "ok" {
			assert.Equal(t, codes.Unset, s.Status().Code, "status of login %d", i)
		} else {
			assert.Equal(t, codes.Error, s.Status().Code, "status of login %d", i)
			assert.Equal(t, want, s.Status().Description, "status of login %d", i)
		}
		children := h.childrenOf(s)
		assert.Contains(t, children, "authkit.store.UserByEmail", "children of login %d", i)
		assert.Contains(t, children, "authkit.limiter.Allow", "children of login %d", i)
	}
	var failEvents int
	for _, e := range logins[0].Events() {
		if e.Name == "authkit.event" {
			failEvents++
		}
	}
	assert.Equal(t, 1, failEvents, "the failed login's event is on its span")

	var unknown int
	for _, s := range h.spansNamed("authkit.store.UserByEmail") {
		if spanAttribute(s, "authkit.store.result") == "not_found" {
			unknown++
			assert.Equal(t, codes.Unset, s.Status().Code, "not found is an answer, not a failure")
		}
	}
	assert.Equal(t, 1, unknown, "the unknown email's lookup")
	require.Len(t, h.spansNamed("authkit.refresh"), 1, "a span per refresh")
	assert.Contains(t, h.childrenOf(h.spansNamed("authkit.refresh")[0]), "authkit.store.RotateSession", "Refresh rotates")
	require.Len(t, h.spansNamed("authkit.authenticate"), 1, "a span per Authenticate")
	assert.Contains(t, h.childrenOf(h.spansNamed("authkit.authenticate")[0]), "authkit.store.UserByID", "Authenticate loads the user")

	h.assertNoSecrets(t, "ann@example.com", "nobody@example.com", "correct horse", "wrong horse",
		user.ID, tok.SessionID, tok.AccessToken, tok.RefreshToken, tok.Device.Token, reg.RefreshToken,
		refreshed.RefreshToken, client.Addr, client.UserAgent)
}

// gatedHasher holds each Verify at its gate while hold is set.
type gatedHasher struct {
	authkit.BcryptHasher
	hold atomic.Bool
	gate *testkit.Gate
}

func (g *gatedHasher) Verify(hash, password string) (bool, error) {
	if g.hold.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
		defer cancel()
		_ = g.gate.Wait(ctx)
	}
	return g.BcryptHasher.Verify(hash, password)
}

func TestBusyHashQueue(t *testing.T) {
	hasher := &gatedHasher{BcryptHasher: authkit.BcryptHasher{Cost: 4}, gate: testkit.NewGate()}
	h := newHarness(t, func(c *authkit.Config) {
		c.PasswordHasher = hasher
		c.MaxConcurrentHashes = 1
		// Real time is the thing under test: the second login gives up
		// waiting for the only slot, which the first holds.
		c.MaxHashWait = 20 * time.Millisecond
	})
	h.register(t, "ann@example.com", "correct horse")
	hasher.hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := h.Login(context.Background(), "ann@example.com", "correct horse", client)
		done <- err
	}()
	hasher.gate.Entered(t)
	_, err := h.Login(t.Context(), "ann@example.com", "correct horse", client)
	require.ErrorIs(t, err, authkit.ErrBusy, "Login while the only hashing slot is taken")
	hasher.gate.Open()
	require.NoError(t, testkit.Receive(t, done, "the held Login"), "the held Login")

	m := h.collect(t)
	assert.Equal(t, int64(1), counterValue(t, m[authotel.MetricHashRejections], attrs()), "authkit.hash.rejections")
	assert.Equal(t, uint64(1), histogramCount(t, m[authotel.MetricHashWait], attrs("authkit.outcome", "busy")), "the refused wait")
	busy, ok := m[authotel.MetricHashWait].Data.(metricdata.Histogram[float64])
	require.True(t, ok, "authkit.hash.wait is a histogram")
	for _, dp := range busy.DataPoints {
		if v, _ := dp.Attributes.Value("authkit.outcome"); v.AsString() == "busy" {
			assert.GreaterOrEqual(t, dp.Sum, 0.020, "the refused login waited MaxHashWait")
		}
	}
	assert.Equal(t, uint64(1), histogramCount(t, m[authotel.MetricSignInDuration], attrs("authkit.signin.method", "password", "authkit.outcome", "busy")), "the refused sign-in")

	var refused int
	for _, s := range h.spansNamed("authkit.login") {
		if spanAttribute(s, "authkit.outcome") != "busy" {
			continue
		}
		refused++
		assert.Equal(t, codes.Error, s.Status().Code, "a refused login failed")
		var waits int
		for _, e := range s.Events() {
			if e.Name == "authkit.hash.wait" {
				waits++
			}
		}
		assert.Equal(t, 1, waits, "the wait is an event of the login's span")
	}
	assert.Equal(t, 1, refused, "one login refused")
}

func TestMailFailure(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) {
		c.Mailer = authkit.MailerFunc(func(context.Context, authkit.Message) error {
			return errors.New("smtp: 554 no thanks")
		})
		c.MailMaxAttempts = 1
	})
	_, err := h.Register(t.Context(), authkit.Registration{Email: "ann@example.com", Password: "correct horse"}, client)
	require.NoError(t, err, "Register")
	for typ := authkit.EventType(""); typ != authkit.EventMailFailed; {
		typ = testkit.Receive(t, h.events.arrived, "the failed verification mail")
	}

	m := h.collect(t)
	assert.Equal(t, int64(1), counterValue(t, m[authotel.MetricMailFailures],
		attrs("authkit.mail.kind", string(authkit.MessageVerifyEmail), "authkit.mail.reason", "gave_up")), "authkit.mail.failures")
	assert.Equal(t, int64(1), counterValue(t, m[authotel.MetricEvents],
		attrs("authkit.event.type", string(authkit.EventMailFailed), "authkit.event.reason", "gave_up")), "authkit.events")
	assert.Equal(t, 1, h.events.count(authkit.EventMailFailed, "gave_up"), "the host's hook still gets the event")
	h.assertNoSecrets(t, "ann@example.com", "correct horse")
}

func TestMailQueueDepth(t *testing.T) {
	var blocked *testkit.BlockingMailer
	h := newHarness(t, func(c *authkit.Config) {
		blocked = testkit.NewBlockingMailer(c.Mailer)
		c.Mailer = blocked
		c.MailWorkers = 1
		c.Limits = authkit.NoLimits
	})
	depth := func() int64 {
		t.Helper()
		g, ok := h.collect(t)[authotel.MetricMailQueueDepth].Data.(metricdata.Gauge[int64])
		require.True(t, ok, "the mail queue depth is an int64 gauge")
		require.Len(t, g.DataPoints, 1, "one mail queue")
		return g.DataPoints[0].Value
	}
	for i := range 3 {
		_, err := h.Register(t.Context(), authkit.Registration{Email: fmt.Sprintf("user%d@example.com", i), Password: "correct horse"}, client)
		require.NoError(t, err, "Register %d", i)
		if i == 0 {
			blocked.Entered(t) // the only worker holds the first mail
		}
	}
	assert.Equal(t, int64(2), depth(), "two mails wait behind the held one")
	blocked.Open()
	for range 3 {
		h.mail.Next(t, authkit.MessageVerifyEmail)
	}
	assert.Equal(t, int64(0), depth(), "the queue drained")
}

// Stores with some of the optional interfaces, for TestWrapStoreKeepsInterfaces.
type (
	plainStore  struct{ authkit.Store }
	factorsOnly struct {
		authkit.Store
		authkit.FactorStore
	}
	limiterOnly struct {
		authkit.Store
		authkit.Limiter
	}
)

func TestWrapStoreKeepsInterfaces(t *testing.T) {
	db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "authkit.db"))
	require.NoError(t, err, "sqlite.Open")
	t.Cleanup(func() { _ = db.Close() })
	sql, err := sqlite.New(db)
	require.NoError(t, err, "sqlite.New")
	mem := memstore.New()

	for name, s := range map[string]authkit.Store{
		"memstore":     mem,
		"sqlstore":     sql,
		"plain":        plainStore{mem},
		"factors only": factorsOnly{mem, mem},
		"limiter only": limiterOnly{mem, mem},
	} {
		t.Run(name, func(t *testing.T) {
			wrapped := authotel.WrapStore(s)
			for iface, has := range map[string]func(any) bool{
				"FactorStore": func(v any) bool { _, ok := v.(authkit.FactorStore); return ok },
				"Limiter":     func(v any) bool { _, ok := v.(authkit.Limiter); return ok },
			} {
				assert.Equal(t, has(s), has(wrapped), "the wrapped %s implements %s as the store does", name, iface)
			}
			u, ok := wrapped.(interface{ Unwrap() authkit.Store })
			require.True(t, ok, "the wrapper has Unwrap")
			assert.Equal(t, s, u.Unwrap(), "Unwrap returns the store")
		})
	}
	assert.Implements(t, (*authkit.FactorStore)(nil), authotel.WrapStore(mem), "memstore keeps second factors")
	assert.Implements(t, (*authkit.Limiter)(nil), authotel.WrapStore(mem), "memstore stays a Limiter")
}

func TestSecondFactorsThroughWrappedStore(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) {
		c.FactorKeys = []authkit.FactorKey{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}}
	})
	tok := h.register(t, "ann@example.com", "correct horse")
	status, err := h.SecondFactor(t.Context(), tok.User.ID)
	require.NoError(t, err, "SecondFactor through the instrumented memstore")
	assert.False(t, status.TOTP, "no factor yet")
	_, claims, err := h.Authenticate(t.Context(), tok.AccessToken)
	require.NoError(t, err, "Authenticate")
	_, err = h.StartTOTP(t.Context(), claims)
	require.NoError(t, err, "StartTOTP")
	require.Len(t, h.spansNamed("authkit.start_totp"), 1, "a span for StartTOTP")
	assert.Contains(t, h.childrenOf(h.spansNamed("authkit.start_totp")[0]), "authkit.store.PutTOTP", "the factor is stored under the flow's span")
}

func TestStoreSpansOnSQLite(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) {
		db, err := sqlite.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "authkit.db"))
		require.NoError(t, err, "sqlite.Open")
		t.Cleanup(func() { _ = db.Close() })
		s, err := sqlite.New(db)
		require.NoError(t, err, "sqlite.New")
		require.NoError(t, s.Migrate(t.Context()), "Migrate")
		c.Store, c.Limiter = s, s
	})
	h.register(t, "ann@example.com", "correct horse")
	_, err := h.Login(t.Context(), "ann@example.com", "correct horse", client)
	require.NoError(t, err, "Login")

	logins := h.spansNamed("authkit.login")
	require.Len(t, logins, 1, "a span for the login")
	login := logins[0]
	children := h.childrenOf(login)
	assert.Contains(t, children, "authkit.store.UserByEmail", "the login reads the user from SQLite")
	assert.Contains(t, children, "authkit.store.CreateSession", "the login stores its session")
	assert.Contains(t, children, "authkit.limiter.Allow", "the login spends its budgets")
	for _, s := range h.spans.Ended() {
		if s.SpanContext().TraceID() == login.SpanContext().TraceID() && s.Name() != "authkit.login" {
			assert.Equal(t, login.SpanContext().SpanID(), s.Parent().SpanID(), "%s is a child of the login", s.Name())
			assert.True(t, s.StartTime().After(login.StartTime()) || s.StartTime().Equal(login.StartTime()), "%s starts within the login", s.Name())
			assert.True(t, !s.EndTime().After(login.EndTime()), "%s ends within the login", s.Name())
		}
	}
	h.assertNoSecrets(t, "ann@example.com", "correct horse", client.Addr, client.UserAgent)
}

func TestHostObserverAndHookKept(t *testing.T) {
	var flows, hashWaits atomic.Int64
	var queued atomic.Bool
	h := newHarness(t, func(c *authkit.Config) {
		c.Observer = authkit.Observer{
			Flow: func(ctx context.Context, _ authkit.Flow) (context.Context, func(error)) {
				return ctx, func(error) { flows.Add(1) }
			},
			HashWait:  func(context.Context, time.Duration, error) { hashWaits.Add(1) },
			MailQueue: func(func() int) { queued.Store(true) },
		}
	})
	h.register(t, "ann@example.com", "correct horse")
	assert.Equal(t, int64(1), flows.Load(), "the host's Flow saw Register")
	assert.Equal(t, int64(1), hashWaits.Load(), "the host's HashWait saw Register's hash")
	assert.True(t, queued.Load(), "the host's MailQueue got the depth")
	assert.Len(t, h.spansNamed("authkit.register"), 1, "authotel saw Register too")
	assert.Equal(t, 1, h.events.count(authkit.EventUserCreated, ""), "the host's OnEvent saw Register")
}

func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{authkit.ErrInvalidCredentials, "invalid_credentials"},
		{fmt.Errorf("authkit: login: %w", authkit.ErrBusy), "busy"},
		{fmt.Errorf("%w: %w", authkit.ErrBusy, context.Canceled), "busy"},
		{&authkit.ValidationError{Fields: map[string][]authkit.FieldError{"email": {{Code: authkit.CodeInvalidEmail}}}}, "invalid_input"},
		{&authkit.RateLimitError{}, "rate_limited"},
		{fmt.Errorf("%w: expired", authkit.ErrTokenExpired), "token_expired"},
		{authkit.ErrInvalidToken, "invalid_token"},
		{authkit.ErrSecondFactorRequired, "second_factor_required"},
		{context.DeadlineExceeded, "deadline_exceeded"},
		{errors.New("pq: relation does not exist"), "error"},
	} {
		assert.Equal(t, c.want, authotel.Outcome(c.err), "Outcome(%v)", c.err)
	}
}

func TestInstrumentWithGlobalProviders(t *testing.T) {
	store := memstore.New()
	cfg := authotel.Instrument(authkit.Config{
		Store:      store,
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		Secret:     testSecret,
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
	})
	a, err := authkit.New(cfg)
	require.NoError(t, err, "authkit.New on the global providers")
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	_, err = a.Register(t.Context(), authkit.Registration{Email: "ann@example.com", Password: "correct horse"}, client)
	require.NoError(t, err, "Register")
	_, err = a.Login(t.Context(), "ann@example.com", "correct horse", client)
	require.NoError(t, err, "Login")
	assert.Nil(t, cfg.Limiter, "no Limiter is made up: the kit's default stays in place")
	assert.Same(t, store, cfg.UserWatcher, "the Store keeps watching users for the user cache behind the wrapper")

	// A logout everywhere on another instance over the same Store reaches
	// this one's user cache through the watcher.
	tokens, err := a.Login(t.Context(), "ann@example.com", "correct horse", client)
	require.NoError(t, err)
	_, _, err = a.Authenticate(t.Context(), tokens.AccessToken)
	require.NoError(t, err)
	other, err := authkit.New(authotel.Instrument(authkit.Config{Store: store, Mailer: cfg.Mailer, Secret: testSecret, BaseURL: "https://app.example.com", BcryptCost: 4}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	require.NoError(t, other.LogoutAll(t.Context(), tokens.User.ID, client))
	_, _, err = a.Authenticate(t.Context(), tokens.AccessToken)
	assert.ErrorIs(t, err, authkit.ErrInvalidToken)
}
