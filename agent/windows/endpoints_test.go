package windows

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/metadata"
)

// The recorded HNS endpoints and stats map to: the node's ENDPOINT_DROP total
// summed over all four endpoints (not the last one read); web-0's two
// endpoints added up per direction (incoming = ingress, outgoing = egress);
// api's one endpoint on its own; the endpoint of no pod only in the node
// total; no drop bytes (HNS has none); and each endpoint's packets, bytes and
// drops as interface counters named after the endpoint.
func TestHNSCollectorRecorded(t *testing.T) {
	c := NewHNSCollectorWith(recordedHNS(t), recordedPods(), quietLogger())
	got, st := gather(t, c)
	if !st[0].Up {
		t.Fatalf("hns collector down: %s", st[0].Error)
	}
	expect(t, got, nodeDrop("ENDPOINT_DROP", "hns"), 2402+31+100+3+7+0+5+1)
	expect(t, got, podDrop("shop", "web-0", "web", "ingress", "ENDPOINT_DROP"), 2402+100)
	expect(t, got, podDrop("shop", "web-0", "web", "egress", "ENDPOINT_DROP"), 31+3)
	expect(t, got, podDrop("shop", "api-7f9c-x2k4p", "api", "ingress", "ENDPOINT_DROP"), 7)
	expect(t, got, podDrop("shop", "api-7f9c-x2k4p", "api", "egress", "ENDPOINT_DROP"), 0)
	if n := len(series(got, "netlens_pod_drop_packets_total")); n != 4 {
		t.Errorf("want 4 pod series (2 pods x 2 directions), got %v", series(got, "netlens_pod_drop_packets_total"))
	}
	for _, name := range []string{"netlens_drop_bytes_total", "netlens_pod_drop_bytes_total"} {
		if s := series(got, name); len(s) != 0 {
			t.Errorf("HNS counts no dropped bytes, yet %v", s)
		}
	}
	expect(t, got, ifMetric("netlens_interface_packets_total", "5e1c0a2b-eth0", "rx"), 210933)
	expect(t, got, ifMetric("netlens_interface_packets_total", "5e1c0a2b-eth0", "tx"), 184467)
	expect(t, got, ifMetric("netlens_interface_bytes_total", "5e1c0a2b-eth0", "rx"), 301877410)
	expect(t, got, ifMetric("netlens_interface_bytes_total", "5e1c0a2b-eth0", "tx"), 98143322)
	expect(t, got, ifMetric("netlens_interface_dropped_total", "5e1c0a2b-eth0", "rx"), 2402)
	expect(t, got, ifMetric("netlens_interface_dropped_total", "5e1c0a2b-eth0", "tx"), 31)
	expect(t, got, ifMetric("netlens_interface_dropped_total", "0a9b8c7d-eth0", "rx"), 5)
	if n := len(series(got, "netlens_interface_packets_total")); n != 8 {
		t.Errorf("want 8 interface packet series (4 endpoints x rx/tx), got %d", n)
	}
}

// Interface series of endpoints that share a name add up instead of being
// sent twice (which the registry would reject), and an endpoint without a
// name is named by its ID.
func TestCollectInterfacesSharedName(t *testing.T) {
	eps := []EndpointStats{
		{Endpoint: Endpoint{ID: "a", Name: "eth0"}, Stats: HNSStats{PacketsReceived: 1, DroppedPacketsOutgoing: 2}},
		{Endpoint: Endpoint{ID: "b", Name: "eth0"}, Stats: HNSStats{PacketsReceived: 10, DroppedPacketsOutgoing: 20}},
		{Endpoint: Endpoint{ID: "c"}, Stats: HNSStats{BytesSent: 7}},
	}
	ch := make(chan prometheus.Metric, 100)
	CollectInterfaces(eps, ch)
	close(ch)
	if len(ch) != 12 {
		t.Fatalf("want 12 series (2 interfaces x 2 directions x 3 metrics), got %d", len(ch))
	}
	c := NewHNSCollectorWith(&fakeHNS{eps: []Endpoint{{ID: "a", Name: "eth0"}, {ID: "b", Name: "eth0"}, {ID: "c"}},
		stats: map[string]HNSStats{"a": eps[0].Stats, "b": eps[1].Stats, "c": eps[2].Stats}}, nil, quietLogger())
	all, _ := gather(t, c)
	expect(t, all, ifMetric("netlens_interface_packets_total", "eth0", "rx"), 11)
	expect(t, all, ifMetric("netlens_interface_dropped_total", "eth0", "tx"), 22)
	expect(t, all, ifMetric("netlens_interface_bytes_total", "c", "tx"), 7)
}

// Across scrapes the totals only grow: each read adds what each endpoint
// counted since the previous read, so a second endpoint never overwrites the
// first, an endpoint that disappears takes nothing away, and a counter that
// went back (HNS restart) counts whole from zero.
func TestAccountantSumsNotOverwrites(t *testing.T) {
	pods := recordedPods()
	a := NewAccountant(ReasonEndpointDrop, LocationHNS, pods)
	web1, web2 := netip.MustParseAddr("10.240.0.12"), netip.MustParseAddr("10.240.0.13")
	t0 := time.Unix(1000, 0)
	a.Observe(t0, []Sample{
		{Key: "ep1", IPs: []netip.Addr{web1}, Ingress: Drop{Packets: 10}, Egress: Drop{Packets: 1}},
		{Key: "ep2", IPs: []netip.Addr{web2}, Ingress: Drop{Packets: 5}},
		{Key: "ep3", Ingress: Drop{Packets: 100}},
	}, []string{"ep1", "ep2", "ep3"})
	got := collectAcct(t, a)
	expect(t, got, nodeDrop("ENDPOINT_DROP", "hns"), 116)
	expect(t, got, podDrop("shop", "web-0", "web", "ingress", "ENDPOINT_DROP"), 15)

	// ep3 (no pod) is gone; ep1 grew by 4; ep2's counter was reset to 2.
	a.Observe(t0.Add(time.Minute), []Sample{
		{Key: "ep1", IPs: []netip.Addr{web1}, Ingress: Drop{Packets: 14}, Egress: Drop{Packets: 1}},
		{Key: "ep2", IPs: []netip.Addr{web2}, Ingress: Drop{Packets: 2}},
	}, []string{"ep1", "ep2"})
	got = collectAcct(t, a)
	expect(t, got, nodeDrop("ENDPOINT_DROP", "hns"), 116+4+2)
	expect(t, got, podDrop("shop", "web-0", "web", "ingress", "ENDPOINT_DROP"), 15+4+2)
	expect(t, got, podDrop("shop", "web-0", "web", "egress", "ENDPOINT_DROP"), 1)
}

// An endpoint listed but not read this time (its stats call failed) is not
// forgotten: when read again only its growth is added, not its whole count.
// One neither listed nor read for longer than forgetAfter is forgotten.
func TestAccountantFailedReadNotDoubleCounted(t *testing.T) {
	a := NewAccountant(ReasonEndpointDrop, LocationHNS, nil)
	t0 := time.Unix(1000, 0)
	a.Observe(t0, []Sample{{Key: "ep1", Ingress: Drop{Packets: 50}}}, []string{"ep1"})
	a.Observe(t0.Add(20*time.Minute), nil, []string{"ep1"}) // read failed, still listed
	a.Observe(t0.Add(21*time.Minute), []Sample{{Key: "ep1", Ingress: Drop{Packets: 53}}}, []string{"ep1"})
	expect(t, collectAcct(t, a), nodeDrop("ENDPOINT_DROP", "hns"), 53)

	a.Observe(t0.Add(40*time.Minute), nil, nil) // gone for 19 minutes: forgotten
	if _, ok := a.last["ep1"]; ok {
		t.Fatal("endpoint unseen for longer than forgetAfter still remembered")
	}
	expect(t, collectAcct(t, a), nodeDrop("ENDPOINT_DROP", "hns"), 53)
}

// A pod's series ends when the pod leaves the inventory, and the node total
// keeps its drops.
func TestAccountantPodGone(t *testing.T) {
	pods := recordedPods()
	a := NewAccountant(ReasonACLDrop, LocationVFP, pods)
	api := netip.MustParseAddr("10.240.0.20")
	a.Observe(time.Unix(0, 0), []Sample{{Key: "ep", IPs: []netip.Addr{api}, Ingress: Drop{Packets: 9}}}, nil)
	expect(t, collectAcct(t, a), podDrop("shop", "api-7f9c-x2k4p", "api", "ingress", "ACL_DROP"), 9)

	pods.pods = pods.pods[:1] // api deleted
	a.Observe(time.Unix(60, 0), nil, nil)
	got := collectAcct(t, a)
	for _, k := range series(got, "netlens_pod_drop_packets_total") {
		if strings.Contains(k, "api-7f9c") {
			t.Fatalf("deleted pod's series still sent: %s", k)
		}
	}
	expect(t, got, nodeDrop("ACL_DROP", "vfp"), 9)
}

// Bytes are exported, at the node and per pod, only where the source counts them.
func TestAccountantBytesWhereCounted(t *testing.T) {
	a := NewAccountant(ReasonACLDrop, LocationVFP, recordedPods())
	api := netip.MustParseAddr("10.240.0.20")
	a.Observe(time.Unix(0, 0), []Sample{{Key: "p", IPs: []netip.Addr{api},
		Ingress: Drop{Packets: 2, Bytes: 120, HasBytes: true}, Egress: Drop{Packets: 1, Bytes: 60, HasBytes: true}}}, nil)
	got := collectAcct(t, a)
	expect(t, got, `netlens_drop_bytes_total{location="vfp",protocol="unknown",reason="ACL_DROP"}`, 180)
	expect(t, got, `netlens_pod_drop_bytes_total{direction="ingress",namespace="shop",pod="api-7f9c-x2k4p",reason="ACL_DROP",workload="api"}`, 120)
}

// An endpoint whose IPv6 address (or IPv4-mapped form) is the pod's is
// attributed to it; addresses that do not parse are left out of the endpoint.
func TestNewEndpointAddresses(t *testing.T) {
	e := NewEndpoint("id", "", "00155d3a8f21", "", "10.240.0.12", "fd00::12%5", "::ffff:10.240.0.20", "bogus")
	want := []netip.Addr{netip.MustParseAddr("10.240.0.12"), netip.MustParseAddr("fd00::12"), netip.MustParseAddr("10.240.0.20")}
	if len(e.IPs) != 3 || e.IPs[0] != want[0] || e.IPs[1] != want[1] || e.IPs[2] != want[2] {
		t.Fatalf("IPs = %v, want %v", e.IPs, want)
	}
	if e.MAC != "00-15-5D-3A-8F-21" || e.Interface() != "id" {
		t.Fatalf("MAC %q interface %q", e.MAC, e.Interface())
	}
	pods := &fakePods{pods: []metadata.Pod{{UID: "u", Namespace: "n", Name: "p", IPs: []netip.Addr{netip.MustParseAddr("fd00::12")}}}}
	a := NewAccountant(ReasonEndpointDrop, LocationHNS, pods)
	a.Observe(time.Unix(0, 0), []Sample{{Key: "id", IPs: e.IPs, Egress: Drop{Packets: 3}}}, nil)
	// No workload in the inventory: the pod is its own workload.
	expect(t, collectAcct(t, a), podDrop("n", "p", "p", "egress", "ENDPOINT_DROP"), 3)
}

// Listing failures and the failure of every endpoint's stats mark the HNS
// collector down with the cause; a few failed endpoints do not, and the others
// are still exported.
func TestHNSCollectorFailures(t *testing.T) {
	h := recordedHNS(t)
	h.listErr = errors.New("hns: access denied")
	_, st := gather(t, NewHNSCollectorWith(h, nil, quietLogger()))
	if st[0].Up || !strings.Contains(st[0].Error, "listing HNS endpoints: hns: access denied") {
		t.Fatalf("status %+v", st[0])
	}

	h = recordedHNS(t)
	h.failing[h.eps[0].ID] = errors.New("endpoint not found")
	got, st := gather(t, NewHNSCollectorWith(h, recordedPods(), quietLogger()))
	if !st[0].Up {
		t.Fatalf("one failed endpoint marked the collector down: %s", st[0].Error)
	}
	expect(t, got, nodeDrop("ENDPOINT_DROP", "hns"), 100+3+7+0+5+1)

	for _, e := range h.eps {
		h.failing[e.ID] = errors.New("hns unavailable")
	}
	_, st = gather(t, NewHNSCollectorWith(h, nil, quietLogger()))
	if st[0].Up || !strings.Contains(st[0].Error, "all 4 endpoints failed") {
		t.Fatalf("status %+v", st[0])
	}
}

// A cancelled scrape stops reading endpoints and says so.
func TestHNSCollectorHonoursContext(t *testing.T) {
	c := NewHNSCollectorWith(recordedHNS(t), nil, quietLogger())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ch := make(chan prometheus.Metric, 100)
	if err := c.Update(ctx, ch); err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func collectAcct(t *testing.T, a *Accountant) map[string]float64 {
	t.Helper()
	got, _ := gather(t, acctCollector{a})
	return got
}

type acctCollector struct{ a *Accountant }

func (acctCollector) Name() string { return "acct" }
func (c acctCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	c.a.Collect(ch)
	return nil
}
