package faults_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/faults"
	"github.com/authkit/authkit/internal/testkit"
	"github.com/authkit/authkit/memstore"
)

func user(id string) authkit.User {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return authkit.User{ID: id, Email: id + "@example.com", PasswordHash: "h", Active: true, CreatedAt: now, UpdatedAt: now}
}

// exists reports whether the memstore holds the user with id.
func exists(t *testing.T, s authkit.Store, id string) bool {
	t.Helper()
	_, err := s.UserByID(context.Background(), id)
	if errors.Is(err, authkit.ErrNotFound) {
		return false
	}
	require.NoError(t, err, "UserByID")
	return true
}

// TestStoreFailsTheNthCall proves that an armed Store counts every call
// and fails exactly the one the Fault names, with a message that reads
// like a driver's, and passes the others through.
func TestStoreFailsTheNthCall(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New()
	s := faults.NewStore(mem)
	require.NoError(t, s.CreateUser(ctx, user("before")), "unarmed, calls go through")

	s.Arm(faults.Fault{Call: 2, Mode: faults.Fail})
	_, err := s.UserByID(ctx, "before")
	require.NoError(t, err, "call 1")
	err = s.CreateUser(ctx, user("second"))
	require.ErrorIs(t, err, faults.ErrInjected, "call 2")
	for _, frag := range []string{"pq:", "SELECT", "authkit_", "sqlite", "CreateUser"} {
		assert.Contains(t, err.Error(), frag, "the injected message")
	}
	assert.False(t, exists(t, mem, "second"), "a failed call does nothing")
	require.NoError(t, s.CreateUser(ctx, user("third")), "call 3")

	rep := s.Disarm()
	assert.Equal(t, faults.Report{
		Calls: 3, Injected: true,
		Hit:     faults.Call{N: 2, Method: "CreateUser", Mode: faults.Fail},
		Methods: []string{"UserByID", "CreateUser", "CreateUser"},
	}, rep)
	_, err = s.UserByID(ctx, "second")
	assert.ErrorIs(t, err, authkit.ErrNotFound, "disarmed, calls go through")
	assert.Equal(t, 3, s.Report().Calls, "disarmed, calls are not counted")
}

// TestStoreModes proves what each mode does to the wrapped Store: Fail
// and Cancel leave it untouched, Lost lets the call take effect; and what
// error each returns.
func TestStoreModes(t *testing.T) {
	for _, tc := range []struct {
		mode    faults.Mode
		applied bool
		is      []error
	}{
		{faults.Fail, false, []error{faults.ErrInjected}},
		{faults.Cancel, false, []error{context.Canceled}},
		{faults.Lost, true, []error{faults.ErrInjected, context.DeadlineExceeded}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			mem := memstore.New()
			s := faults.NewStore(mem)
			s.Arm(faults.Fault{Call: 1, Mode: tc.mode})
			err := s.CreateUser(t.Context(), user("u"))
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target)
			}
			assert.Equal(t, tc.applied, exists(t, mem, "u"), "the call took effect")
			assert.Equal(t, faults.Call{N: 1, Method: "CreateUser", Mode: tc.mode}, s.Disarm().Hit)
		})
	}
}

// TestStoreCountsWhatTheFaultCounts proves that calls the Fault does not
// count go through uncounted: a request's marked calls apart from
// background work, and the contexts derived from them alike.
func TestStoreCountsWhatTheFaultCounts(t *testing.T) {
	ctx := t.Context()
	s := faults.NewStore(memstore.New())
	s.Arm(faults.Fault{Call: 1, Mode: faults.Fail, Counts: faults.Marked})
	require.NoError(t, s.CreateUser(ctx, user("background")), "an unmarked call")
	marked := context.WithoutCancel(faults.Mark(ctx))
	assert.ErrorIs(t, s.CreateUser(marked, user("request")), faults.ErrInjected, "the first marked call")
	assert.Equal(t, []string{"CreateUser"}, s.Disarm().Methods)

	assert.True(t, faults.Unmarked(ctx))
	assert.False(t, faults.Unmarked(marked))
}

// TestStoreLimiter proves that the Store is the wrapped Store's Limiter,
// or a Limiter of its own when the wrapped Store is none, and that its
// calls count and fail like the others.
func TestStoreLimiter(t *testing.T) {
	ctx := t.Context()
	l := authkit.Limit{Burst: 1, Every: time.Hour}
	now := time.Now()
	mem := memstore.New()
	s := faults.NewStore(mem)
	ok, _, err := s.Allow(ctx, "k", l, now)
	require.True(t, ok && err == nil, "Allow through the wrapper")
	ok, _, err = mem.Allow(ctx, "k", l, now)
	require.NoError(t, err)
	assert.False(t, ok, "the wrapper spent the memstore's budget")

	s.Arm(faults.Fault{Call: 1, Mode: faults.Lost})
	assert.ErrorIs(t, s.Reset(ctx, "k"), context.DeadlineExceeded, "a lost Reset")
	ok, _, _ = mem.Allow(ctx, "k", l, now)
	assert.True(t, ok, "the lost Reset took effect")

	bare := faults.NewStore(struct{ authkit.Store }{mem})
	ok, _, err = bare.Allow(ctx, "k", l, now)
	assert.True(t, ok && err == nil, "a Limiter of its own")
}

// TestMailerFailsOrHolds proves that an armed Mailer fails only the Nth
// Send, or every one, and that a held Send waits until its context ends
// or the Mailer is disarmed, when it goes through.
func TestMailerFailsOrHolds(t *testing.T) {
	ctx := t.Context()
	box := testkit.NewMailbox()
	m := faults.NewMailer(box)
	msg := authkit.Message{Kind: authkit.MessageVerifyEmail, To: "a@example.com", Text: "hi"}

	m.Arm(2, faults.MailFail)
	require.NoError(t, m.Send(ctx, msg), "send 1")
	assert.ErrorIs(t, m.Send(ctx, msg), faults.ErrInjected, "send 2")
	require.NoError(t, m.Send(ctx, msg), "send 3")
	assert.Equal(t, 1, m.Failed())
	assert.Equal(t, 2, box.Count(), "delivered")

	m.ArmAll(faults.MailFail)
	for range 3 {
		assert.ErrorIs(t, m.Send(ctx, msg), faults.ErrInjected)
	}
	assert.Equal(t, 3, m.Failed())

	m.Arm(1, faults.MailBlock)
	short, cancel := context.WithCancel(ctx)
	errs := make(chan error, 1)
	go func() { errs <- m.Send(short, msg) }()
	testkit.Receive(t, m.Held(), "the held send")
	cancel()
	assert.ErrorIs(t, testkit.Receive(t, errs, "the end of the held send"), context.Canceled)

	m.Arm(1, faults.MailBlock)
	go func() { errs <- m.Send(ctx, msg) }()
	testkit.Receive(t, m.Held(), "the held send")
	m.Disarm()
	assert.NoError(t, testkit.Receive(t, errs, "the end of the held send"), "let through")
	assert.Equal(t, 3, box.Count(), "delivered")
}

// TestWrapKeepsSecondFactorsAsTheyAre proves that Wrap shows second
// factors exactly when the wrapped Store has them, that NewStore never
// does, and that the factor calls count and fail like the others, in each
// mode.
func TestWrapKeepsSecondFactorsAsTheyAre(t *testing.T) {
	mem := memstore.New()
	_, ok := faults.Wrap(mem).(authkit.FactorStore)
	assert.True(t, ok, "Wrap(memstore) is a FactorStore")
	_, ok = faults.Wrap(struct{ authkit.Store }{mem}).(authkit.FactorStore)
	assert.False(t, ok, "Wrap of a Store without second factors is no FactorStore")
	var plain authkit.Store = faults.NewStore(mem)
	_, ok = plain.(authkit.FactorStore)
	assert.False(t, ok, "NewStore is no FactorStore")

	for _, tc := range []struct {
		mode    faults.Mode
		applied bool
		is      error
	}{
		{faults.Fail, false, faults.ErrInjected},
		{faults.Cancel, false, context.Canceled},
		{faults.Lost, true, context.DeadlineExceeded},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ctx := t.Context()
			mem := memstore.New()
			require.NoError(t, mem.CreateUser(ctx, user("u")))
			s, ok := faults.Wrap(mem).(*faults.FactorStore)
			require.True(t, ok, "Wrap(memstore) is a *FactorStore")
			f := authkit.TOTPFactor{UserID: "u", Secret: []byte("sealed"), KeyID: "k1", CreatedAt: time.Now().UTC()}

			s.Arm(faults.Fault{Call: 3, Mode: tc.mode})
			require.NoError(t, s.PutTOTP(ctx, f), "call 1")
			_, err := s.TOTP(ctx, "u")
			require.NoError(t, err, "call 2")
			err = s.ReplaceRecoveryCodes(ctx, "u", []string{"h1", "h2"}, time.Now().UTC())
			assert.ErrorIs(t, err, tc.is, "call 3")
			left, err := s.RecoveryCodesLeft(ctx, "u")
			require.NoError(t, err, "call 4")
			want := 0
			if tc.applied {
				want = 2
			}
			assert.Equal(t, want, left, "the codes the failed call stored")
			rep := s.Disarm()
			assert.Equal(t, faults.Call{N: 3, Method: "ReplaceRecoveryCodes", Mode: tc.mode}, rep.Hit)
			assert.Equal(t, []string{"PutTOTP", "TOTP", "ReplaceRecoveryCodes", "RecoveryCodesLeft"}, rep.Methods)
		})
	}

	// Every FactorStore method is counted under its own name.
	ctx := t.Context()
	mem = memstore.New()
	require.NoError(t, mem.CreateUser(ctx, user("u")))
	s := faults.Wrap(mem).(*faults.FactorStore)
	s.Arm(faults.Fault{})
	now := time.Now().UTC()
	require.NoError(t, s.PutTOTP(ctx, authkit.TOTPFactor{UserID: "u", Secret: []byte("sealed"), KeyID: "k1", CreatedAt: now}))
	_, _ = s.TOTP(ctx, "u")
	require.NoError(t, s.ConfirmTOTP(ctx, "u", now, 1))
	require.NoError(t, s.UseTOTPStep(ctx, "u", 2))
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u", []string{"h1"}, now))
	require.NoError(t, s.UseRecoveryCode(ctx, "u", "h1", now))
	_, _ = s.RecoveryCodesLeft(ctx, "u")
	require.NoError(t, s.DeleteTOTP(ctx, "u"))
	assert.Equal(t, []string{"PutTOTP", "TOTP", "ConfirmTOTP", "UseTOTPStep", "ReplaceRecoveryCodes", "UseRecoveryCode", "RecoveryCodesLeft", "DeleteTOTP"},
		s.Disarm().Methods)
}
