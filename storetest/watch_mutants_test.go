package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

// Watchers that break the contract of authkit.UserWatcher, each in one way,
// built on memstore; RunUserWatcher must fail on each, in the subtest that
// names the broken promise. As with mutants, each runs in a child process.

// watcherMutantEnv names the broken watcher a child process runs
// RunUserWatcher on.
const watcherMutantEnv = "STORETEST_WATCHER_MUTANT"

// watching is memstore: a Store that is its own UserWatcher.
type watching interface {
	authkit.Store
	authkit.UserWatcher
}

// watcherMutants are the broken watchers, by name, with the subtest of
// RunUserWatcher that must fail.
var watcherMutants = map[string]struct {
	failing string
	wrap    func(watching) authkit.Store
}{
	"ReportsTouches":   {"TouchOnly", func(s watching) authkit.Store { return reportsTouches{s} }},
	"ReportsConflicts": {"Failed", func(s watching) authkit.Store { return reportsConflicts{s} }},
	"OutlivesContext":  {"Stop", func(s watching) authkit.Store { return outlivesContext{s} }},
}

// TestWatcherMutant runs RunUserWatcher on the broken watcher named in the
// environment; without one it is skipped.
func TestWatcherMutant(t *testing.T) {
	name := os.Getenv(watcherMutantEnv)
	if name == "" {
		t.Skip("runs only as the child of TestWatcherSuiteCatchesBrokenWatchers")
	}
	wrap := func(s watching) authkit.Store { return s }
	if name != controlName {
		m, ok := watcherMutants[name]
		if !ok {
			t.Fatalf("unknown broken watcher %q", name)
		}
		wrap = m.wrap
	}
	storetest.RunUserWatcher(t, func(testing.TB) (authkit.Store, authkit.Store) {
		s := wrap(memstore.New())
		return s, s
	})
}

// TestWatcherSuiteCatchesBrokenWatchers runs RunUserWatcher on each broken
// watcher, and on memstore, in a child process.
func TestWatcherSuiteCatchesBrokenWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process per broken watcher")
	}
	if os.Getenv(watcherMutantEnv) != "" {
		t.Skip("already a child")
	}
	t.Run(controlName, func(t *testing.T) {
		t.Parallel()
		if out, err := runWatcherMutant(t, controlName); err != nil {
			t.Fatalf("the suite failed on memstore run as a child: %v\n%s", err, out)
		}
	})
	for name, m := range watcherMutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := runWatcherMutant(t, name)
			if _, ok := errors.AsType[*exec.ExitError](err); !ok {
				t.Fatalf("the suite passed (or did not run) on a watcher that breaks %s: %v\n%s", name, err, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestWatcherMutant/"+m.failing+" ") {
				t.Errorf("the suite did not fail in %s on a watcher that breaks it:\n%s", m.failing, out)
			}
		})
	}
}

// runWatcherMutant runs TestWatcherMutant on the watcher called name in a
// child process and returns its output.
func runWatcherMutant(t *testing.T, name string) ([]byte, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestWatcherMutant$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), watcherMutantEnv+"="+name)
	return cmd.CombinedOutput()
}

// reportsTouches reports updates of UpdatedAt alone: it makes them set the
// display name to what it is.
type reportsTouches struct{ watching }

func (s reportsTouches) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	if upd.TouchOnly() {
		if u, err := s.UserByID(ctx, id); err == nil {
			upd.DisplayName = &u.DisplayName
		}
	}
	return s.watching.UpdateUser(ctx, id, upd)
}

// reportsConflicts reports an update that lost its compare-and-swap: it
// touches the display name before it says so.
type reportsConflicts struct{ watching }

func (s reportsConflicts) UpdateUser(ctx context.Context, id string, upd authkit.UserUpdate) (authkit.User, error) {
	u, err := s.watching.UpdateUser(ctx, id, upd)
	if errors.Is(err, authkit.ErrConflict) {
		cur, _ := s.UserByID(ctx, id)
		_, _ = s.watching.UpdateUser(ctx, id, authkit.UserUpdate{DisplayName: &cur.DisplayName, UpdatedAt: cur.UpdatedAt})
	}
	return u, err
}

// outlivesContext returns when its context ends but goes on reporting.
type outlivesContext struct{ watching }

func (s outlivesContext) WatchUsers(ctx context.Context, ready func(), changed func(string)) error {
	go func() { _ = s.watching.WatchUsers(context.WithoutCancel(ctx), ready, changed) }()
	<-ctx.Done()
	return ctx.Err()
}
