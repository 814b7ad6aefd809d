//go:build soak

package main

import (
	"slices"
	"sync"
)

// passwordGate holds back the soak's requests that check or hash a
// password, so that no more are in flight than the server has hashing
// slots: the server is offered the password work it is sized for, and
// none waits past MaxHashWait for a 503. Of the users waiting, the one
// furthest into its round goes first (the earliest to arrive among
// equals), so that rounds go through to the end even when hashing is
// slow, rather than every user being a step into one.
//
// passwordGate is safe for concurrent use.
type passwordGate struct {
	mu      sync.Mutex
	free    int
	arrived int64
	waiting []*gateTicket
}

// gateTicket is one wait for the gate. Its granted channel receives once
// the ticket holds a slot.
type gateTicket struct {
	priority int
	arrival  int64
	granted  chan struct{}
}

func newPasswordGate(slots int) *passwordGate { return &passwordGate{free: slots} }

// enter queues for a slot with priority (higher goes first). The ticket's
// granted channel tells when the slot is held; leave gives it back, or
// gives up the wait.
func (g *passwordGate) enter(priority int) *gateTicket {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.arrived++
	t := &gateTicket{priority: priority, arrival: g.arrived, granted: make(chan struct{}, 1)}
	g.waiting = append(g.waiting, t)
	g.grant()
	return t
}

// leave gives back t's slot, or withdraws t if it holds none yet.
func (g *passwordGate) leave(t *gateTicket) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiting, t); i >= 0 {
		g.waiting = slices.Delete(g.waiting, i, i+1)
		return
	}
	select {
	case <-t.granted: // granted, and not yet seen
	default:
	}
	g.free++
	g.grant()
}

// grant hands the free slots to the best waiting tickets. g.mu is held.
func (g *passwordGate) grant() {
	for g.free > 0 && len(g.waiting) > 0 {
		best := 0
		for i, t := range g.waiting {
			b := g.waiting[best]
			if t.priority > b.priority || t.priority == b.priority && t.arrival < b.arrival {
				best = i
			}
		}
		t := g.waiting[best]
		g.waiting = slices.Delete(g.waiting, best, best+1)
		g.free--
		t.granted <- struct{}{}
	}
}
