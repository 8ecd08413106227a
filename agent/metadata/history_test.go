package metadata

import (
	"net/netip"
	"testing"
	"time"
)

var (
	t0   = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ipX  = netip.MustParseAddr("10.0.0.7")
	ipX6 = netip.MustParseAddr("fd00::7")
)

func sec(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

func pod(uid string, ips ...netip.Addr) Pod {
	return Pod{UID: uid, Namespace: "ns", Name: "pod-" + uid, Workload: "w", WorkloadKind: "Pod", IPs: ips}
}

func lookupUID(h *History, ip netip.Addr, from, to time.Time) string {
	p, ok := h.Lookup(ip, from, to)
	if !ok {
		return ""
	}
	return p.UID
}

// An address changes hands: windows wholly inside one pod's hold name that
// pod; a window spanning the change names nobody; instants at the change
// belong to the new owner (ownership is [from, to)).
func TestHistoryReuseAcrossWindows(t *testing.T) {
	h := NewHistory(time.Hour, 100)
	h.Set(pod("a", ipX), sec(0), sec(0))
	h.Remove("a", sec(10))
	h.Set(pod("b", ipX), sec(12), sec(12))
	for _, c := range []struct {
		from, to int
		want     string
	}{
		{1, 9, "a"}, {0, 0, "a"}, {9, 9, "a"},
		{10, 10, ""}, {11, 11, ""}, // nobody held it
		{12, 12, "b"}, {13, 100, "b"},
		{5, 15, ""}, {9, 12, ""}, {-5, 3, ""}, // spans a change, or reaches before anyone held it
	} {
		if got := lookupUID(h, ipX, sec(c.from), sec(c.to)); got != c.want {
			t.Errorf("window [%d, %d]: got %q, want %q", c.from, c.to, got, c.want)
		}
	}
	// A reversed window is the same window.
	if got := lookupUID(h, ipX, sec(20), sec(13)); got != "b" {
		t.Errorf("reversed window: %q", got)
	}
}

// A new pod claims an address another pod still holds (its deletion not yet
// seen), with a start before the claim: the old hold ends at the claim, and
// the time both claim names nobody.
func TestHistoryOverlappingClaimsAreAmbiguous(t *testing.T) {
	h := NewHistory(time.Hour, 100)
	h.Set(pod("a", ipX), sec(0), sec(0))
	h.Set(pod("b", ipX), sec(8), sec(10)) // b's network came up at 8, seen at 10
	h.Remove("a", sec(11))                // a's deletion, late: changes nothing
	for _, c := range []struct {
		from, to int
		want     string
	}{
		{0, 7, "a"}, {8, 8, ""}, {9, 9, ""}, {7, 9, ""}, {10, 10, "b"}, {10, 50, "b"},
	} {
		if got := lookupUID(h, ipX, sec(c.from), sec(c.to)); got != c.want {
			t.Errorf("window [%d, %d]: got %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// Updates of the same pod keep its hold (with its newest labels); an address
// it no longer lists ends then; host-network pods own nothing, whatever they
// list; dual-stack pods own both addresses; IPv4-mapped addresses are IPv4.
func TestHistorySetSemantics(t *testing.T) {
	h := NewHistory(time.Hour, 100)
	h.Set(pod("a", ipX, ipX6), sec(0), sec(0))
	p := pod("a", ipX6)
	p.Workload = "renamed"
	h.Set(p, sec(5), sec(5))
	if got, ok := h.Lookup(ipX6, sec(1), sec(9)); !ok || got.Workload != "renamed" {
		t.Errorf("update broke the hold or kept old labels: %+v %v", got, ok)
	}
	if lookupUID(h, ipX, sec(1), sec(4)) != "a" || lookupUID(h, ipX, sec(5), sec(5)) != "" {
		t.Error("the address the pod dropped should end at the update")
	}
	if lookupUID(h, netip.MustParseAddr("::ffff:10.0.0.7"), sec(1), sec(2)) != "a" {
		t.Error("IPv4-mapped lookup")
	}
	node := netip.MustParseAddr("192.168.1.10")
	hn := pod("kube-proxy", node)
	hn.HostNetwork = true
	h.Set(hn, sec(0), sec(0))
	if lookupUID(h, node, sec(1), sec(1)) != "" {
		t.Error("a host-network pod owns the node's address")
	}
	if _, ok := h.Current("kube-proxy"); !ok {
		t.Error("a host-network pod is still in the inventory")
	}
	h.Remove("a", sec(20))
	if _, ok := h.Current("a"); ok {
		t.Error("removed pod still current")
	}
	h.Remove("never-seen", sec(21)) // no-op
}

// Ended holds are forgotten after the retention period; a window reaching
// back before what was forgotten gets no answer, not a wrong one, and
// forgotten addresses take no memory.
func TestHistoryPrunesByAge(t *testing.T) {
	h := NewHistory(time.Minute, 100)
	h.Set(pod("a", ipX), sec(0), sec(0))
	h.Set(pod("b", ipX), sec(5), sec(10)) // overlap [5, 10)
	other := netip.MustParseAddr("10.0.0.8")
	h.Set(pod("c", other), sec(0), sec(0))
	h.Remove("c", sec(1))
	if _, ended := h.Len(); ended != 2 {
		t.Fatalf("ended holds: %d, want 2", ended)
	}
	h.Set(pod("d"), sec(200), sec(200)) // any change prunes
	if cur, ended := h.Len(); cur != 1 || ended != 0 {
		t.Fatalf("after the retention: %d current, %d ended, want 1 and 0", cur, ended)
	}
	if got := lookupUID(h, ipX, sec(6), sec(100)); got != "" {
		t.Errorf("window reaching into the forgotten overlap named %q", got)
	}
	if got := lookupUID(h, ipX, sec(10), sec(100)); got != "b" {
		t.Errorf("window after the horizon: %q, want b", got)
	}
	if _, ok := h.addrs[other]; ok {
		t.Error("an address without holders is still kept")
	}
	// A new claim on a forgotten address cannot reach back before what was forgotten.
	h.Set(pod("e", other), sec(0), sec(300))
	if got := lookupUID(h, other, sec(0), sec(0)); got != "" {
		t.Errorf("claim reached back before the forgotten history: %q", got)
	}
	if got := lookupUID(h, other, sec(10), sec(300)); got != "e" {
		t.Errorf("claim after the horizon: %q, want e", got)
	}
}

// At most maxEnded ended holds are kept, whatever the churn; the oldest go
// first and their addresses' horizons move.
func TestHistoryBoundsEnded(t *testing.T) {
	h := NewHistory(time.Hour, 3)
	for i := range 10 {
		ip := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		uid := string(rune('a' + i))
		h.Set(pod(uid, ip), sec(i*10), sec(i*10))
		h.Remove(uid, sec(i*10+5))
	}
	if cur, ended := h.Len(); cur != 0 || ended != 3 {
		t.Fatalf("%d current, %d ended, want 0 and 3", cur, ended)
	}
	if got := lookupUID(h, netip.AddrFrom4([4]byte{10, 1, 0, 9}), sec(91), sec(94)); got != "j" {
		t.Errorf("newest ended hold: %q, want j", got)
	}
	if got := lookupUID(h, netip.AddrFrom4([4]byte{10, 1, 0, 0}), sec(1), sec(2)); got != "" {
		t.Errorf("oldest ended hold should be forgotten, got %q", got)
	}
	if len(h.addrs) != 3 {
		t.Errorf("%d addresses kept, want 3", len(h.addrs))
	}
}

// A pod that claims and loses an address at the same instant never held it.
func TestHistoryEmptyHold(t *testing.T) {
	h := NewHistory(time.Hour, 10)
	h.Set(pod("a", ipX), sec(5), sec(5))
	h.Set(pod("a"), sec(5), sec(5))
	if cur, ended := h.Len(); cur != 0 || ended != 0 {
		t.Fatalf("%d current, %d ended, want none", cur, ended)
	}
}
