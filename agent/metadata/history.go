package metadata

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// History defaults: how long an ended ownership is kept, and how many ended
// ownerships are kept at most (oldest go first).
const (
	DefaultRetain    = 10 * time.Minute
	DefaultMaxEnded  = 1 << 16
	forever          = 1<<63 - 1
	minPruneInterval = time.Second
)

// ownership is one pod's hold on one address over [from, to); to is zero
// while the pod still holds it.
type ownership struct {
	pod      Pod
	from, to time.Time
}

func (o *ownership) open() bool { return o.to.IsZero() }

// overlaps reports whether the ownership and the window [from, to] share an instant.
func (o *ownership) overlaps(from, to time.Time) bool {
	return !o.from.After(to) && (o.open() || o.to.After(from))
}

// covers reports whether the ownership holds through the whole window [from, to].
func (o *ownership) covers(from, to time.Time) bool {
	return !o.from.After(from) && (o.open() || o.to.After(to))
}

type addrHistory struct {
	// owners are in the order they were claimed: all but the last have ended.
	owners []ownership
	// horizon is the end of the newest ownership forgotten: what happened
	// before it is not known any more, so no window starting before it is
	// answered.
	horizon time.Time
}

type ended struct {
	addr netip.Addr
	to   time.Time
}

// History is who owned each address when: the pods of an inventory as they
// come and go, so that a drop counted over a window of time is attributed to
// a pod only if that one pod held the address through the whole window. It is
// the index both pod sources (PodsFile, Kubernetes) answer from.
//
// A pod's ownership of an address may start before the inventory learned of
// it (Set's from: when the pod's network came up, as far as known). Claims
// that overlap in time make the overlap ambiguous: no window touching it is
// attributed to anyone. Ended ownerships are kept for the retention period,
// and at most maxEnded of them; forgetting one moves that address's horizon,
// so a window reaching back further gets no answer rather than a wrong one.
// A History is safe for concurrent use.
type History struct {
	retain   time.Duration
	maxEnded int

	mu     sync.Mutex
	addrs  map[netip.Addr]*addrHistory
	pods   map[string]Pod
	owned  map[string][]netip.Addr
	queue  []ended // ended ownerships in the order they ended
	head   int
	floor  time.Time // the newest horizon of an address forgotten altogether
	pruned time.Time
}

// NewHistory returns an empty history keeping ended ownerships for retain
// (DefaultRetain if 0) and at most maxEnded of them (DefaultMaxEnded if 0).
func NewHistory(retain time.Duration, maxEnded int) *History {
	if retain <= 0 {
		retain = DefaultRetain
	}
	if maxEnded <= 0 {
		maxEnded = DefaultMaxEnded
	}
	return &History{retain: retain, maxEnded: maxEnded, addrs: map[netip.Addr]*addrHistory{},
		pods: map[string]Pod{}, owned: map[string][]netip.Addr{}}
}

// Set records pod p as it is at time at: it is in the inventory, and it owns
// its addresses from from on (zero: as long as anyone knows; from is never
// later than at). Addresses it owned before and no longer lists end at at.
// Host-network pods own no address (theirs is the node's), whatever they list.
func (h *History) Set(p Pod, from, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if from.After(at) {
		from = at
	}
	var ips []netip.Addr
	if !p.HostNetwork {
		for _, ip := range p.IPs {
			ip = ip.Unmap()
			if ip.IsValid() && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	for _, ip := range h.owned[p.UID] {
		if !slices.Contains(ips, ip) {
			h.release(ip, p.UID, at)
		}
	}
	for _, ip := range ips {
		h.claim(ip, p, from, at)
	}
	h.pods[p.UID] = p
	if len(ips) == 0 {
		delete(h.owned, p.UID)
	} else {
		h.owned[p.UID] = ips
	}
	h.prune(at)
}

// Remove records that the pod uid left the inventory at at: its ownerships end.
func (h *History) Remove(uid string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ip := range h.owned[uid] {
		h.release(ip, uid, at)
	}
	delete(h.owned, uid)
	delete(h.pods, uid)
	h.prune(at)
}

// Rename sets the workload of pod uid if it is in the inventory now (an
// owner's lookup answered after the pod was recorded); a pod that left
// stays gone.
func (h *History) Rename(uid, kind, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.pods[uid]
	if !ok || (p.WorkloadKind == kind && p.Workload == name) {
		return
	}
	p.WorkloadKind, p.Workload = kind, name
	h.pods[uid] = p
	for _, ip := range h.owned[uid] {
		if a := h.addrs[ip]; a != nil {
			if n := len(a.owners); n > 0 && a.owners[n-1].open() && a.owners[n-1].pod.UID == uid {
				a.owners[n-1].pod = p
			}
		}
	}
}

// Current returns the pod uid if it is in the inventory now.
func (h *History) Current(uid string) (Pod, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.pods[uid]
	return p, ok
}

// UIDs returns the pods in the inventory now.
func (h *History) UIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	uids := make([]string, 0, len(h.pods))
	for uid := range h.pods {
		uids = append(uids, uid)
	}
	return uids
}

// Lookup returns the pod that owned ip through the whole window [from, to]
// (an instant when from == to), if one pod did and no other pod's ownership
// touches the window. The pod is as it was last recorded.
func (h *History) Lookup(ip netip.Addr, from, to time.Time) (Pod, bool) {
	if to.Before(from) {
		from, to = to, from
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.addrs[ip.Unmap()]
	if a == nil || from.Before(a.horizon) {
		return Pod{}, false
	}
	var found *ownership
	uid := ""
	for i := range a.owners {
		o := &a.owners[i]
		if !o.overlaps(from, to) {
			continue
		}
		if uid != "" && o.pod.UID != uid {
			return Pod{}, false
		}
		uid = o.pod.UID
		if o.covers(from, to) {
			found = o
		}
	}
	if found == nil {
		return Pod{}, false
	}
	return found.pod, true
}

// Len returns the number of ownerships kept (current and ended).
func (h *History) Len() (current, ended int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.addrs {
		for i := range a.owners {
			if a.owners[i].open() {
				current++
			} else {
				ended++
			}
		}
	}
	return current, ended
}

func (h *History) claim(ip netip.Addr, p Pod, from, at time.Time) {
	a := h.addrs[ip]
	if a == nil {
		a = &addrHistory{horizon: h.floor}
		h.addrs[ip] = a
	}
	if n := len(a.owners); n > 0 && a.owners[n-1].open() {
		last := &a.owners[n-1]
		if last.pod.UID == p.UID {
			last.pod = p // same pod, newer labels: the ownership goes on
			return
		}
		// Another pod holds the address now: the old one's hold ended by
		// now at the latest (when exactly, the overlap with the new
		// ownership leaves open).
		h.end(ip, last, at)
	}
	if from.Before(a.horizon) {
		from = a.horizon
	}
	a.owners = append(a.owners, ownership{pod: p, from: from})
}

func (h *History) release(ip netip.Addr, uid string, at time.Time) {
	a := h.addrs[ip]
	if a == nil {
		return
	}
	if n := len(a.owners); n > 0 && a.owners[n-1].open() && a.owners[n-1].pod.UID == uid {
		last := &a.owners[n-1]
		if !at.After(last.from) {
			// Ended before it began: it never held the address.
			a.owners = a.owners[:n-1]
			h.forgetIfEmpty(ip, a)
			return
		}
		h.end(ip, last, at)
	}
}

func (h *History) end(ip netip.Addr, o *ownership, at time.Time) {
	if !at.After(o.from) {
		at = o.from.Add(1) // a zero-length ownership would still read as open
	}
	o.to = at
	h.queue = append(h.queue, ended{addr: ip, to: at})
}

// prune forgets ended ownerships older than the retention period, and the
// oldest ones beyond maxEnded.
func (h *History) prune(now time.Time) {
	over := len(h.queue) - h.head - h.maxEnded
	if over <= 0 && now.Sub(h.pruned) < minPruneInterval {
		return
	}
	h.pruned = now
	cutoff := now.Add(-h.retain)
	for h.head < len(h.queue) {
		e := h.queue[h.head]
		if over <= 0 && !e.to.Before(cutoff) {
			break
		}
		h.queue[h.head] = ended{}
		h.head++
		over--
		h.forget(e)
	}
	// Compact the queue once its consumed head is most of it.
	if h.head > 1024 && h.head*2 > len(h.queue) {
		h.queue = append([]ended(nil), h.queue[h.head:]...)
		h.head = 0
	}
}

// forget drops the ended ownership e names, moving its address's horizon.
func (h *History) forget(e ended) {
	a := h.addrs[e.addr]
	if a == nil {
		return
	}
	for i := range a.owners {
		o := &a.owners[i]
		if !o.open() && o.to.Equal(e.to) {
			if o.to.After(a.horizon) {
				a.horizon = o.to
			}
			a.owners = append(a.owners[:i], a.owners[i+1:]...)
			break
		}
	}
	h.forgetIfEmpty(e.addr, a)
}

func (h *History) forgetIfEmpty(ip netip.Addr, a *addrHistory) {
	if len(a.owners) > 0 {
		return
	}
	if a.horizon.After(h.floor) {
		h.floor = a.horizon
	}
	delete(h.addrs, ip)
}
