package authkit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// flowKey marks the context an Observer hands a flow.
type flowKey struct{}

// observed records what an Observer is told.
type observed struct {
	mu    sync.Mutex
	ended []string // "flow:error" or "flow:ok", in order
	hash  []error
	// storeSawFlow counts the Store calls whose context the Observer's
	// Flow had marked.
	storeSawFlow int
	queued       func() int
}

func (o *observed) observer() authkit.Observer {
	return authkit.Observer{
		Flow: func(ctx context.Context, f authkit.Flow) (context.Context, func(error)) {
			var once sync.Once
			return context.WithValue(ctx, flowKey{}, f), func(err error) {
				ended := false
				once.Do(func() { ended = true })
				o.mu.Lock()
				defer o.mu.Unlock()
				outcome := "ok"
				if err != nil {
					outcome = err.Error()
				}
				if !ended {
					outcome = "ended twice"
				}
				o.ended = append(o.ended, string(f)+":"+outcome)
			}
		},
		HashWait: func(_ context.Context, _ time.Duration, err error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.hash = append(o.hash, err)
		},
		MailQueue: func(queued func() int) { o.queued = queued },
	}
}

func (o *observed) flows() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.ended...)
}

// flowSpy is a Store that counts the calls made with a context an
// Observer marked.
type flowSpy struct {
	authkit.Store
	o *observed
}

func (s flowSpy) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	if ctx.Value(flowKey{}) != nil {
		s.o.mu.Lock()
		s.o.storeSawFlow++
		s.o.mu.Unlock()
	}
	return s.Store.UserByEmail(ctx, email)
}

func TestObserverSeesFlowsWithTheirContext(t *testing.T) {
	o := &observed{}
	k := newKit(t, func(c *authkit.Config) {
		c.Store = flowSpy{Store: c.Store, o: o}
		c.Observer = o.observer()
	})
	tok, _ := k.register(t, "ann@example.com", "correct horse")

	_, err := k.Login(t.Context(), "ann@example.com", "wrong horse", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidCredentials, "Login with a wrong password")
	_, err = k.Login(t.Context(), "ann@example.com", "correct horse", authkit.Client{})
	require.NoError(t, err, "Login")
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	require.NoError(t, err, "Authenticate")

	assert.Equal(t, []string{
		"register:ok",
		"login:" + authkit.ErrInvalidCredentials.Error(),
		"login:ok",
		"authenticate:ok",
	}, o.flows(), "each flow ends once, with its error")
	o.mu.Lock()
	defer o.mu.Unlock()
	assert.Equal(t, 2, o.storeSawFlow, "the Store gets the context the Observer returned")
	assert.Len(t, o.hash, 3, "Register hashes, each Login checks a password")
	for _, err := range o.hash {
		assert.NoError(t, err, "a free hashing slot")
	}
	require.NotNil(t, o.queued, "New hands over the mail queue's depth")
	assert.Equal(t, 0, o.queued(), "the verification mail was delivered")
}

func TestObserverSeesHashQueueRefusal(t *testing.T) {
	o := &observed{}
	h := newBlockingHasher(4)
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordHasher = h
		c.MaxConcurrentHashes = 1
		c.MaxHashWait = 10 * time.Millisecond
		c.Observer = o.observer()
	})
	k.register(t, "ann@example.com", "correct horse")
	h.hold.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := k.Login(context.Background(), "ann@example.com", "correct horse", authkit.Client{})
		done <- err
	}()
	h.gate.Entered(t)
	_, err := k.Login(t.Context(), "ann@example.com", "correct horse", authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrBusy, "Login while the only slot is taken")
	h.gate.Open()
	require.NoError(t, testkit.Receive(t, done, "the held Login"), "the held Login")

	o.mu.Lock()
	defer o.mu.Unlock()
	var busy int
	for _, err := range o.hash {
		if errors.Is(err, authkit.ErrBusy) {
			busy++
		}
	}
	assert.Equal(t, 1, busy, "HashWait reports the refusal")
}
