package events

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/netlens/netlens/agent/api"
)

// Filter selects events for a subscriber; empty fields match everything.
// Each field is a set of accepted values.
type Filter struct {
	Reasons    []string
	Namespaces []string // either end's namespace
	Pods       []string // either end's pod, as "namespace/name" or "name"
	// Interfaces are devices as events show them (api.DropEvent.DisplayInterface):
	// a name such as "eth0", or "ifindex 2 in netns cni-1f0c..." for a pod's.
	Interfaces []string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e api.DropEvent) bool {
	if len(f.Reasons) > 0 && !slices.Contains(f.Reasons, e.Reason) {
		return false
	}
	if len(f.Namespaces) > 0 && !slices.Contains(f.Namespaces, e.Src.Namespace) && !slices.Contains(f.Namespaces, e.Dst.Namespace) {
		return false
	}
	if len(f.Pods) > 0 && !podMatches(f.Pods, e.Src) && !podMatches(f.Pods, e.Dst) {
		return false
	}
	if len(f.Interfaces) > 0 && !slices.Contains(f.Interfaces, e.DisplayInterface()) {
		return false
	}
	return true
}

func podMatches(pods []string, ep api.Endpoint) bool {
	if ep.Pod == "" {
		return false
	}
	for _, p := range pods {
		if ns, name, ok := strings.Cut(p, "/"); ok {
			if ns == ep.Namespace && name == ep.Pod {
				return true
			}
		} else if p == ep.Pod {
			return true
		}
	}
	return false
}

// Item is one event for a subscriber, with its JSON encoding, made once for
// all subscribers.
type Item struct {
	Event api.DropEvent
	JSON  []byte
}

// Subscription receives live events on C. C is closed when the subscriber
// falls behind by more than its buffer (Dropped then says so) or unsubscribes.
type Subscription struct {
	C       <-chan Item
	c       chan Item
	filter  Filter
	mu      sync.Mutex
	dropped bool
}

// Dropped reports whether the subscription was ended for reading too slowly.
func (s *Subscription) Dropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// hub fans events out to subscribers without ever waiting for one.
type hub struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	evicted uint64
}

// Subscribe starts receiving events matching f, with room for buffer events
// the subscriber has not read yet.
func (b *Buffer) Subscribe(f Filter, buffer int) *Subscription {
	c := make(chan Item, buffer)
	s := &Subscription{C: c, c: c, filter: f}
	b.hub.mu.Lock()
	defer b.hub.mu.Unlock()
	if b.hub.subs == nil {
		b.hub.subs = map[*Subscription]struct{}{}
	}
	b.hub.subs[s] = struct{}{}
	return s
}

// Unsubscribe ends s; its channel is closed.
func (b *Buffer) Unsubscribe(s *Subscription) {
	b.hub.mu.Lock()
	defer b.hub.mu.Unlock()
	b.hub.remove(s, false)
}

func (h *hub) remove(s *Subscription, slow bool) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.mu.Lock()
	s.dropped = slow
	s.mu.Unlock()
	close(s.c)
	if slow {
		h.evicted++
	}
}

// publish offers e to every subscriber; one whose buffer is full is dropped
// rather than waited for, so a slow client never holds up the agent.
func (h *hub) publish(e api.DropEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var it Item
	for s := range h.subs {
		if !s.filter.Match(e) {
			continue
		}
		if it.JSON == nil {
			it.Event = e
			it.JSON, _ = json.Marshal(e)
		}
		select {
		case s.c <- it:
		default:
			h.remove(s, true)
		}
	}
}

// Subscribers is how many subscriptions are live, and how many were ended
// for reading too slowly.
func (b *Buffer) Subscribers() (live int, dropped uint64) {
	b.hub.mu.Lock()
	defer b.hub.mu.Unlock()
	return len(b.hub.subs), b.hub.evicted
}
