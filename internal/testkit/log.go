package testkit

import (
	"bytes"
	"sync"
)

// LogBuffer is an io.Writer that keeps everything written to it, for a
// test's slog handler. Unlike a bytes.Buffer it is safe for concurrent
// writes, as a logger shared by request handlers and mail workers needs.
// The zero value is ready to use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p. It never fails.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
