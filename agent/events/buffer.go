// Package events keeps the agent's recent sampled drop events and hands new
// ones to live subscribers (the /api/v1/events stream).
package events

import (
	"sync"

	"github.com/netlens/netlens/agent/api"
)

// Buffer is a fixed-size ring of the latest events.
type Buffer struct {
	mu    sync.Mutex
	ring  []api.DropEvent
	next  int
	full  bool
	total uint64
	hub   hub
}

// NewBuffer keeps the latest size events.
func NewBuffer(size int) *Buffer {
	return &Buffer{ring: make([]api.DropEvent, size)}
}

// Add records an event, overwriting the oldest when full, and offers it to
// the subscribers.
func (b *Buffer) Add(e api.DropEvent) {
	b.hub.publish(e)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ring[b.next] = e
	b.next = (b.next + 1) % len(b.ring)
	if b.next == 0 {
		b.full = true
	}
	b.total++
}

// Recent returns the kept events, oldest first.
func (b *Buffer) Recent() []api.DropEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.full {
		return append([]api.DropEvent(nil), b.ring[:b.next]...)
	}
	return append(append([]api.DropEvent(nil), b.ring[b.next:]...), b.ring[:b.next]...)
}

// Total is how many events were ever added.
func (b *Buffer) Total() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}
