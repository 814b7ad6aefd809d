package testkit_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// failures is a testing.TB that records failures instead of reporting
// them, to show that a helper fails the test when it should.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// run calls f with a failures on its own goroutine, as Fatalf ends it,
// and returns what failed.
func run(t *testing.T, f func(tb testing.TB)) []string {
	t.Helper()
	rec := &failures{TB: t}
	testkit.Finish(t, "the helper", func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f(rec)
		}()
		<-done
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.msgs
}

func TestClock(t *testing.T) {
	c := testkit.NewClock()
	assert.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), c.Now(), "a new clock")
	assert.Equal(t, c.Now(), c.Now(), "it stands still")
	c.Advance(90 * time.Minute)
	assert.Equal(t, testkit.Start.Add(90*time.Minute), c.Now(), "after Advance")
}

func msg(kind authkit.MessageKind, to string) authkit.Message {
	return authkit.Message{Kind: kind, To: to, Subject: "s", Text: "see https://app.example.com/x?token=tok-" + to}
}

func TestMailboxNext(t *testing.T) {
	m := testkit.NewMailbox()
	for i := range 200 {
		require.NoError(t, m.Send(t.Context(), msg(authkit.MessageVerifyEmail, fmt.Sprint(i))), "Send never blocks, however full")
	}
	assert.Equal(t, "0", m.Next(t).To, "oldest first")
	assert.Equal(t, "1", m.Next(t, authkit.MessageVerifyEmail).To)

	require.NoError(t, m.Send(t.Context(), msg(authkit.MessageResetPassword, "reset")))
	assert.Equal(t, "reset", m.Next(t, authkit.MessageResetPassword, authkit.MessagePasswordChanged).To, "skipping the others")
	m.None(t)

	go func() { _ = m.Send(context.Background(), msg(authkit.MessagePasswordChanged, "later")) }()
	assert.Equal(t, "later", m.Next(t, authkit.MessagePasswordChanged).To, "waits for a message sent later")
}

func TestMailboxNone(t *testing.T) {
	m := testkit.NewMailbox()
	assert.Empty(t, run(t, func(tb testing.TB) { m.None(tb) }), "an empty mailbox")
	require.NoError(t, m.Send(t.Context(), msg(authkit.MessageVerifyEmail, "v@example.com")))
	assert.Empty(t, run(t, func(tb testing.TB) { m.None(tb, authkit.MessageResetPassword) }), "another kind waits")
	got := run(t, func(tb testing.TB) { m.None(tb, authkit.MessageVerifyEmail) })
	assert.Equal(t, []string{"unexpected verify_email email to v@example.com"}, got)
	assert.Len(t, run(t, func(tb testing.TB) { m.None(tb) }), 1, "any kind")
}

func TestMailboxCount(t *testing.T) {
	m := testkit.NewMailbox()
	assert.Zero(t, m.Count())
	for _, k := range []authkit.MessageKind{authkit.MessageVerifyEmail, authkit.MessageResetPassword, authkit.MessageVerifyEmail} {
		require.NoError(t, m.Send(t.Context(), msg(k, "c@example.com")))
	}
	assert.Equal(t, 3, m.Count(), "any kind")
	assert.Equal(t, 2, m.Count(authkit.MessageVerifyEmail))
	m.Next(t, authkit.MessageResetPassword)
	assert.Equal(t, 0, m.Count(authkit.MessageResetPassword), "Next took it, and the verify mail ahead of it")
	assert.Equal(t, 1, m.Count())
}

func TestTokenOf(t *testing.T) {
	assert.Equal(t, "tok-a", testkit.TokenOf(t, msg(authkit.MessageVerifyEmail, "a")))
	m := authkit.Message{Kind: authkit.MessageResetPassword, Text: "Go to https://app.example.com/reset-password?token=abc%2Bd&x=1\nor not."}
	assert.Equal(t, "abc+d", testkit.TokenOf(t, m), "the token, unescaped")
	got := run(t, func(tb testing.TB) {
		testkit.TokenOf(tb, authkit.Message{Kind: authkit.MessagePasswordChanged, Text: "no link, not even token=abc"})
	})
	assert.Equal(t, []string{"no link with a token in the password_changed email"}, got)
}

func TestLogBuffer(t *testing.T) {
	var l testkit.LogBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = l.Write([]byte("x"))
			}
		})
	}
	testkit.Finish(t, "concurrent writes", wg.Wait)
	assert.Len(t, l.String(), 800, "every concurrent write kept")
}

func TestGate(t *testing.T) {
	g := testkit.NewGate()
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- g.Wait(context.Background()) }()
	}
	g.Entered(t)
	g.Entered(t)
	assert.Equal(t, 2, g.Waiting(), "both held")
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v before Open", err)
	default:
	}

	ctx, cancel := context.WithCancel(t.Context())
	ended := make(chan error, 1)
	go func() { ended <- g.Wait(ctx) }()
	g.Entered(t)
	cancel()
	assert.ErrorIs(t, testkit.Receive(t, ended, "Wait whose context ended"), context.Canceled)

	g.Open()
	g.Open()
	for range 2 {
		assert.NoError(t, testkit.Receive(t, done, "Wait after Open"))
	}
	testkit.Finish(t, "Wait at an open gate", func() {
		assert.NoError(t, g.Wait(t.Context()), "an open gate holds nobody")
	})
	g.Entered(t)
	assert.Zero(t, g.Waiting())
}

func TestBlockingMailer(t *testing.T) {
	box := testkit.NewMailbox()
	m := testkit.NewBlockingMailer(box)
	sent := make(chan error, 1)
	go func() { sent <- m.Send(context.Background(), msg(authkit.MessageVerifyEmail, "held")) }()
	m.Entered(t)
	box.None(t)
	m.Open()
	require.NoError(t, testkit.Receive(t, sent, "Send"))
	assert.Equal(t, "held", box.Next(t).To, "handed on once let through")

	dropped := testkit.NewBlockingMailer(nil)
	dropped.Open()
	testkit.Finish(t, "Send through an open gate", func() {
		assert.NoError(t, dropped.Send(t.Context(), msg(authkit.MessageVerifyEmail, "x")), "no Next")
	})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, testkit.NewBlockingMailer(box).Send(ctx, msg(authkit.MessageVerifyEmail, "y")), context.Canceled)
}

func TestFinishAndReceive(t *testing.T) {
	ran := false
	testkit.Finish(t, "a quick call", func() { ran = true })
	assert.True(t, ran)
	ch := make(chan int, 1)
	ch <- 7
	assert.Equal(t, 7, testkit.Receive(t, ch, "a value"))
	close(ch)
	assert.Equal(t, []string{"a closed channel: channel closed"}, run(t, func(tb testing.TB) { testkit.Receive(tb, ch, "a closed channel") }))
}

// TestMySQLURL checks that the MySQL variable is read as the mysql:// URL
// mysql.Open takes, and that a go-sql-driver DSN, as earlier versions
// asked for, becomes the same URL with its password and parameters.
func TestMySQLURL(t *testing.T) {
	for value, want := range map[string]string{
		"mysql://root@127.0.0.1:3306/test":                "mysql://root@127.0.0.1:3306/test",
		"root@tcp(127.0.0.1:3306)/test?parseTime=true":    "mysql://root@127.0.0.1:3306/test?parseTime=true",
		"app:s%3Acret@tcp(db.internal:3307)/app?tls=true": "mysql://app:s%253Acret@db.internal:3307/app?tls=true",
		"app:p@ss@tcp(127.0.0.1:3306)/app":                "mysql://app:p%40ss@127.0.0.1:3306/app",
	} {
		t.Setenv(testkit.MySQLVariable, value)
		assert.Equal(t, want, testkit.MySQLURL(t), "from %q", value)
	}
}
