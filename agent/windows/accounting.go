package windows

import (
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/metadata"
)

// Drop reasons, locations and the protocol label of the Windows sources (the
// reasons are in the reason catalog, agent/reasons/catalog.yaml).
const (
	// ReasonACLDrop: VFP dropped the packet on an ACL rule (network policy).
	ReasonACLDrop = "ACL_DROP"
	// ReasonEndpointDrop: HNS counted the packet as dropped at the endpoint.
	ReasonEndpointDrop = "ENDPOINT_DROP"
	// LocationVFP and LocationHNS are the location label: where the drop was counted.
	LocationVFP = "vfp"
	LocationHNS = "hns"
	// ProtocolUnknown is the protocol label: HNS and VFP count drops of all
	// protocols together, so the protocol is not known.
	ProtocolUnknown = "unknown"
)

// forgetAfter is how long an endpoint no longer listed is remembered, so
// one that comes back (a listing that missed it) is not counted twice.
const forgetAfter = 15 * time.Minute

// Drop is a cumulative drop count.
type Drop struct {
	Packets uint64
	Bytes   uint64
	// HasBytes says the source counts bytes; Bytes is 0 otherwise.
	HasBytes bool
}

// Sample is one endpoint's cumulative drop counters at one read.
type Sample struct {
	// Key identifies the counters' source across reads (the HNS endpoint ID,
	// with the VFP port for VFP counters).
	Key string
	// IPs are the endpoint's addresses; the first that belongs to a pod
	// attributes the drops to that pod.
	IPs []netip.Addr
	// Ingress counts drops of packets toward the endpoint, Egress from it.
	Ingress, Egress Drop
}

// podKey is a pod series' labels. Keying by labels rather than by pod UID
// keeps one series when a pod is recreated under its name (StatefulSet) and
// never sends two series with the same labels.
type podKey struct {
	namespace, name, workload, direction string
}

type total struct {
	packets, bytes uint64
	hasBytes       bool
}

func (t *total) add(d Drop) {
	t.packets += d.Packets
	t.bytes += d.Bytes
	t.hasBytes = t.hasBytes || d.HasBytes
}

type podTotal struct {
	total
	// uids are the pods that counted here; the series ends when none is left
	// in the inventory.
	uids map[string]struct{}
}

type seenSample struct {
	ingress, egress Drop
	// read is when the counters were read, seen when the endpoint was last
	// read or listed.
	read, seen time.Time
}

// Accountant turns per-endpoint cumulative counters, read at each scrape, into
// node and pod totals that only grow: each read adds what every endpoint
// counted since its previous read (all of it after a counter reset), so an
// endpoint never overwrites another, two endpoints of one pod add up, and an
// endpoint that goes away (a deleted pod) takes nothing away from the totals.
type Accountant struct {
	reason, location string
	pods             metadata.Source

	mu    sync.Mutex
	last  map[string]seenSample
	node  total
	byPod map[podKey]*podTotal
}

// NewAccountant returns an accountant of drops with one reason and location.
func NewAccountant(reason, location string, pods metadata.Source) *Accountant {
	if pods == nil {
		pods = metadata.None{}
	}
	return &Accountant{reason: reason, location: location, pods: pods,
		last: map[string]seenSample{}, byPod: map[podKey]*podTotal{}}
}

// delta is what a counter counted since prev; a smaller value is a reset
// (HNS restarted, endpoint recreated under the same key) and counts whole.
func delta(cur, prev uint64) uint64 {
	if cur >= prev {
		return cur - prev
	}
	return cur
}

func dropDelta(cur, prev Drop) Drop {
	return Drop{Packets: delta(cur.Packets, prev.Packets), Bytes: delta(cur.Bytes, prev.Bytes), HasBytes: cur.HasBytes}
}

// Observe adds the samples read at now. listed are the keys of the endpoints
// that exist now, read or not (a failed read must not make an endpoint look
// new next time); keys neither sampled nor listed for forgetAfter are dropped.
func (a *Accountant) Observe(now time.Time, samples []Sample, listed []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range samples {
		prev, known := a.last[s.Key]
		in, eg := dropDelta(s.Ingress, prev.ingress), dropDelta(s.Egress, prev.egress)
		a.last[s.Key] = seenSample{ingress: s.Ingress, egress: s.Egress, read: now, seen: now}
		a.node.add(in)
		a.node.add(eg)
		// The drops happened since the previous read; an endpoint's first
		// read counts its life so far, and an endpoint is one pod's for its
		// life: the pod that holds its address now.
		from := now
		if known && !prev.read.IsZero() && prev.read.Before(now) {
			from = prev.read
		}
		pod, ok := a.podOf(s.IPs, from, now)
		if !ok {
			continue
		}
		for _, d := range []struct {
			dir  string
			drop Drop
		}{{"ingress", in}, {"egress", eg}} {
			k := podKey{namespace: pod.Namespace, name: pod.Name, workload: workloadOf(pod), direction: d.dir}
			pt := a.byPod[k]
			if pt == nil {
				pt = &podTotal{uids: map[string]struct{}{}}
				a.byPod[k] = pt
			}
			pt.uids[pod.UID] = struct{}{}
			pt.add(d.drop)
		}
	}
	for _, k := range listed {
		if l, ok := a.last[k]; ok {
			l.seen = now
			a.last[k] = l
		}
	}
	for k, l := range a.last {
		if now.Sub(l.seen) > forgetAfter {
			delete(a.last, k)
		}
	}
	// A pod gone from the inventory has no more drops to count: its series end.
	for k, pt := range a.byPod {
		for uid := range pt.uids {
			if _, ok := a.pods.PodByUID(uid); !ok {
				delete(pt.uids, uid)
			}
		}
		if len(pt.uids) == 0 {
			delete(a.byPod, k)
		}
	}
}

// podOf is the pod that held one of ips (the first that did) through [from, to].
func (a *Accountant) podOf(ips []netip.Addr, from, to time.Time) (metadata.Pod, bool) {
	for _, ip := range ips {
		if p, ok := a.pods.PodByIP(ip.Unmap(), from, to); ok && p.UID != "" {
			return p, true
		}
	}
	return metadata.Pod{}, false
}

func workloadOf(p metadata.Pod) string {
	if p.Workload != "" {
		return p.Workload
	}
	return p.Name
}

// Collect sends the node total (always, so a running source shows even
// without drops), the pod totals, and bytes where the source counts them.
func (a *Accountant) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(collector.DropPacketsDesc, prometheus.CounterValue, float64(a.node.packets), a.reason, a.location, ProtocolUnknown)
	if a.node.hasBytes {
		ch <- prometheus.MustNewConstMetric(collector.DropBytesDesc, prometheus.CounterValue, float64(a.node.bytes), a.reason, a.location, ProtocolUnknown)
	}
	for k, p := range a.byPod {
		ch <- prometheus.MustNewConstMetric(collector.PodDropPacketsDesc, prometheus.CounterValue, float64(p.packets), k.namespace, k.name, k.workload, k.direction, a.reason)
		if p.hasBytes {
			ch <- prometheus.MustNewConstMetric(collector.PodDropBytesDesc, prometheus.CounterValue, float64(p.bytes), k.namespace, k.name, k.workload, k.direction, a.reason)
		}
	}
}
