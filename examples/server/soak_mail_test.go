//go:build soak

package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
)

// soakLog is the server's log during a soak. It keeps nothing of the
// ordinary lines, so that the heap the soak measures is the server's and
// not a growing copy of its log: it hands the links of the development
// mailer to the users waiting for them, counts the mails by kind, and
// keeps the warnings and errors, which a healthy run does not have.
//
// slog's handlers write each record with one Write, so a Write is a line.
// soakLog is safe for concurrent use.
type soakLog struct {
	mu      sync.Mutex
	links   map[mailKey][]string // tokens mailed and not yet taken
	arrived chan struct{}        // closed and replaced when a link arrives
	mails   map[string]int       // mails by kind
	lines   int
	trouble []string // WARN and ERROR lines, but the expected ones
}

// mailKey names the links one user waits for: a kind of mail to one
// address.
type mailKey struct{ kind, to string }

// expectedWarnings are the WARN lines every soak run has: the server
// warns at start that its mailer prints links.
var expectedWarnings = []string{"DEVELOPMENT MAILER"}

var (
	mailLine   = regexp.MustCompile(`msg="authkit: email \(not sent: development mailer\)" kind=(\S+) to=(\S+)`)
	mailedLink = regexp.MustCompile(`/(?:verify-email|reset-password)\?token=([A-Za-z0-9_-]+)`)
)

func newSoakLog() *soakLog {
	return &soakLog{links: map[mailKey][]string{}, arrived: make(chan struct{}), mails: map[string]int{}}
}

// Write takes one log line. It never fails.
func (l *soakLog) Write(p []byte) (int, error) {
	line := string(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	if strings.Contains(line, " level=WARN ") || strings.Contains(line, " level=ERROR ") {
		expected := false
		for _, w := range expectedWarnings {
			expected = expected || strings.Contains(line, w)
		}
		if !expected && len(l.trouble) < 1000 {
			l.trouble = append(l.trouble, strings.TrimSpace(line))
		}
	}
	m := mailLine.FindStringSubmatch(line)
	if m == nil {
		return len(p), nil
	}
	kind := m[1]
	l.mails[kind]++
	if link := mailedLink.FindStringSubmatch(line); link != nil {
		k := mailKey{kind: kind, to: m[2]}
		l.links[k] = append(l.links[k], link[1])
		close(l.arrived)
		l.arrived = make(chan struct{})
	}
	return len(p), nil
}

// link waits until a mail of kind with a link reaches to, and returns its
// token, oldest first. It returns false if ctx ends first.
func (l *soakLog) link(ctx context.Context, kind, to string) (string, bool) {
	k := mailKey{kind: kind, to: to}
	for {
		l.mu.Lock()
		if q := l.links[k]; len(q) > 0 {
			token := q[0]
			if len(q) == 1 {
				delete(l.links, k)
			} else {
				l.links[k] = q[1:]
			}
			l.mu.Unlock()
			return token, true
		}
		arrived := l.arrived
		l.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return "", false
		}
	}
}

// figures returns the lines written, the mails by kind, the links nobody
// took, and the unexpected WARN and ERROR lines.
func (l *soakLog) figures() (lines int, mails map[string]int, untaken int, trouble []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	mails = make(map[string]int, len(l.mails))
	for k, n := range l.mails {
		mails[k] = n
	}
	for _, q := range l.links {
		untaken += len(q)
	}
	return l.lines, mails, untaken, append([]string(nil), l.trouble...)
}
