package authkittest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// exampleT stands in for the *testing.T of a test, so that an Example can
// run what a test body does. It implements what authkittest and the
// Examples call; any other method of testing.TB panics (the embedded TB is
// nil). Errorf prints, so that the Example's output no longer matches;
// Fatal and Fatalf panic.
type exampleT struct {
	testing.TB
	ctx      context.Context
	cancel   context.CancelFunc
	cleanups []func()
}

func newExampleT() *exampleT {
	ctx, cancel := context.WithCancel(context.Background())
	return &exampleT{ctx: ctx, cancel: cancel}
}

func (t *exampleT) Helper()                        {}
func (t *exampleT) Context() context.Context       { return t.ctx }
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, a ...any) { fmt.Println("FAIL:", fmt.Sprintf(format, a...)) }
func (t *exampleT) Fatal(a ...any)                 { panic(fmt.Sprint(a...)) }
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// finish ends the stand-in test: it cancels its context and runs its
// cleanups, last registered first, as testing does.
func (t *exampleT) finish() {
	t.cancel()
	for _, f := range slices.Backward(t.cleanups) {
		f()
	}
}
