package drops

import (
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netlens/netlens/agent/metadata"
)

// fakeTables stands for the kernel's two count tables. count() plays a BPF
// program counting into the installed table; failAt makes one operation
// fail, as if the agent died there.
type fakeTables struct {
	tables [2]map[recordKey]Record
	active int
	failAt string
}

type recordKey struct {
	loc      uint64
	reason   uint32
	src, dst netip.Addr
}

func newFakeTables() *fakeTables {
	return &fakeTables{tables: [2]map[recordKey]Record{{}, {}}}
}

func (f *fakeTables) count(r Record) {
	k := recordKey{r.Location, r.Reason, r.Src, r.Dst}
	old := f.tables[f.active][k]
	r.Packets += old.Packets
	r.Bytes += old.Bytes
	f.tables[f.active][k] = r
}

var errCrash = errors.New("agent died here")

func (f *fakeTables) ActiveTable() (int, error) { return f.active, nil }

func (f *fakeTables) Swap(i int) error {
	if f.failAt == "swap" {
		return errCrash
	}
	f.active = i
	return nil
}

func (f *fakeTables) ReadTable(i int, fn func(Record)) error {
	if f.failAt == "read" {
		return errCrash
	}
	for _, r := range f.tables[i] {
		fn(r)
	}
	return nil
}

func (f *fakeTables) ClearTable(i int) error {
	if f.failAt == "clear" {
		return errCrash
	}
	f.tables[i] = map[recordKey]Record{}
	return nil
}

type fakeSymbols map[uint64]string

func (s fakeSymbols) Resolve(addrs []uint64) (map[uint64]string, error) { return s, nil }

// fakePods owns addresses at any time; it records the windows asked about.
type fakePods struct {
	byIP    map[netip.Addr]metadata.Pod
	windows [][2]time.Time
}

func (p *fakePods) Name() string { return "fake" }
func (p *fakePods) PodByIP(ip netip.Addr, from, to time.Time) (metadata.Pod, bool) {
	p.windows = append(p.windows, [2]time.Time{from, to})
	pod, ok := p.byIP[ip]
	return pod, ok
}
func (p *fakePods) PodByUID(uid string) (metadata.Pod, bool) {
	for _, pod := range p.byIP {
		if pod.UID == uid {
			return pod, true
		}
	}
	return metadata.Pod{}, false
}
func (p *fakePods) Err() error { return nil }

var (
	ipA   = netip.MustParseAddr("10.0.0.2")
	ipB   = netip.MustParseAddr("10.0.0.3")
	ipOut = netip.MustParseAddr("192.0.2.9")
	podA  = metadata.Pod{UID: "uid-a", Namespace: "shop", Name: "web-1", Workload: "web"}
	podB  = metadata.Pod{UID: "uid-b", Namespace: "shop", Name: "db-0", Workload: "db"}
)

const (
	locNF  = 0xffffffff81200010
	locUDP = 0xffffffff81100900
)

func testReasons() Reasons {
	return Reasons{names: map[uint32]string{3: "NO_SOCKET", 12: "NETFILTER_DROP"}}
}

func newTestAccountant(t *testing.T, tables Tables, statePath string, pods metadata.Source, maxPods int) *Accountant {
	t.Helper()
	a := NewAccountant(tables, AccountantOptions{
		Reasons: testReasons(), Symbols: fakeSymbols{locNF: "nf_hook_slow", locUDP: "__udp4_lib_rcv"},
		Pods: pods, MaxPodSeries: maxPods, StatePath: statePath,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := a.Recover(); err != nil {
		t.Fatal(err)
	}
	return a
}

func drop(loc uint64, reason uint32, src, dst netip.Addr, n uint64) Record {
	return Record{Location: loc, Reason: reason, Family: 4, L4Proto: 6, EtherType: 0x0800, Src: src, Dst: dst, Packets: n, Bytes: 60 * n}
}

func nodeCount(s Snapshot, k NodeKey) Counts {
	for _, n := range s.Node {
		if n.NodeKey == k {
			return n.Counts
		}
	}
	return Counts{}
}

func podCount(s Snapshot, uid, dir, reason string) (PodSeries, bool) {
	for _, p := range s.Pods {
		if p.UID == uid && p.Direction == dir && p.Reason == reason {
			return p, true
		}
	}
	return PodSeries{}, false
}

var nfTCP = NodeKey{Reason: "NETFILTER_DROP", Location: "nf_hook_slow", Protocol: "tcp"}

// Counts add up exactly over drains, per reason, location and protocol; the
// pods at both ends get them, as egress for the sender and ingress for the
// receiver; addresses outside the inventory attribute nothing.
func TestAccountantCountsAndAttributes(t *testing.T) {
	ft := newFakeTables()
	pods := &fakePods{byIP: map[netip.Addr]metadata.Pod{ipA: podA, ipB: podB}}
	a := newTestAccountant(t, ft, "", pods, 100)

	ft.count(drop(locNF, 12, ipA, ipB, 3))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	ft.count(drop(locNF, 12, ipA, ipB, 2))
	ft.count(drop(locUDP, 3, ipOut, ipB, 7))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if got := nodeCount(s, nfTCP); got != (Counts{5, 300}) {
		t.Errorf("NETFILTER_DROP: got %+v, want 5 packets 300 bytes", got)
	}
	if got := nodeCount(s, NodeKey{"NO_SOCKET", "__udp4_lib_rcv", "tcp"}); got.Packets != 7 {
		t.Errorf("NO_SOCKET: got %+v", got)
	}
	if p, ok := podCount(s, "uid-a", "egress", "NETFILTER_DROP"); !ok || p.Packets != 5 || p.Namespace != "shop" || p.Pod != "web-1" || p.Workload != "web" {
		t.Errorf("sender's egress series: %+v %v", p, ok)
	}
	if p, ok := podCount(s, "uid-b", "ingress", "NETFILTER_DROP"); !ok || p.Packets != 5 {
		t.Errorf("receiver's ingress series: %+v %v", p, ok)
	}
	if p, ok := podCount(s, "uid-b", "ingress", "NO_SOCKET"); !ok || p.Packets != 7 {
		t.Errorf("receiver of outside traffic: %+v %v", p, ok)
	}
	if len(s.Pods) != 3 {
		t.Errorf("want 3 pod series (no series for the outside address or the wrong directions), got %+v", s.Pods)
	}
}

// The agent restarts between drains: the totals continue from the state file.
func TestAccountantResumesFromState(t *testing.T) {
	ft := newFakeTables()
	statePath := filepath.Join(t.TempDir(), "drops.json")
	pods := &fakePods{byIP: map[netip.Addr]metadata.Pod{ipA: podA, ipB: podB}}
	a := newTestAccountant(t, ft, statePath, pods, 100)
	ft.count(drop(locNF, 12, ipA, ipB, 4))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	// Drops while the agent is down land in the installed (pinned) table.
	ft.count(drop(locNF, 12, ipA, ipB, 6))
	b := newTestAccountant(t, ft, statePath, pods, 100)
	if err := b.Drain(); err != nil {
		t.Fatal(err)
	}
	s := b.Snapshot()
	if got := nodeCount(s, nfTCP).Packets; got != 10 {
		t.Fatalf("after restart: %d packets, want 10", got)
	}
	if p, _ := podCount(s, "uid-a", "egress", "NETFILTER_DROP"); p.Packets != 10 {
		t.Fatalf("pod series after restart: %+v", p)
	}
}

// The agent dies at each step of a drain; the next agent's totals are exact:
// nothing lost, nothing counted twice.
func TestAccountantRecoversFromDeathDuringDrain(t *testing.T) {
	for _, step := range []string{"swap", "read", "clear"} {
		t.Run("dies at "+step, func(t *testing.T) {
			ft := newFakeTables()
			statePath := filepath.Join(t.TempDir(), "drops.json")
			pods := &fakePods{}
			a := newTestAccountant(t, ft, statePath, pods, 100)
			ft.count(drop(locNF, 12, ipA, ipB, 1))
			if err := a.Drain(); err != nil {
				t.Fatal(err)
			}
			ft.count(drop(locNF, 12, ipA, ipB, 2))
			ft.failAt = step
			if err := a.Drain(); !errors.Is(err, errCrash) {
				t.Fatalf("drain error = %v", err)
			}
			ft.failAt = ""
			ft.count(drop(locNF, 12, ipA, ipB, 4))

			b := newTestAccountant(t, ft, statePath, pods, 100)
			if err := b.Drain(); err != nil {
				t.Fatal(err)
			}
			if got := nodeCount(b.Snapshot(), nfTCP).Packets; got != 7 {
				t.Fatalf("got %d packets, want exactly 7", got)
			}
		})
	}
}

// Pod series stop at the limit; what does not fit is counted as overflow,
// and node series are unaffected.
func TestAccountantBoundsPodSeries(t *testing.T) {
	ft := newFakeTables()
	pods := &fakePods{byIP: map[netip.Addr]metadata.Pod{ipA: podA, ipB: podB}}
	a := newTestAccountant(t, ft, "", pods, 1)
	ft.count(drop(locNF, 12, ipA, ipB, 3))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if len(s.Pods) != 1 || s.Overflow.Packets != 3 {
		t.Fatalf("pods %+v overflow %+v: want 1 series and 3 packets of overflow", s.Pods, s.Overflow)
	}
	if nodeCount(s, nfTCP).Packets != 3 {
		t.Fatal("node series lost packets to the pod limit")
	}
}

// Series of a pod that left the inventory disappear; a new pod reusing its
// address starts from zero.
func TestAccountantDropsSeriesOfGonePods(t *testing.T) {
	ft := newFakeTables()
	pods := &fakePods{byIP: map[netip.Addr]metadata.Pod{ipA: podA, ipB: podB}}
	a := newTestAccountant(t, ft, "", pods, 100)
	ft.count(drop(locNF, 12, ipA, ipB, 3))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	newPod := metadata.Pod{UID: "uid-c", Namespace: "shop", Name: "web-2", Workload: "web"}
	pods.byIP = map[netip.Addr]metadata.Pod{ipA: newPod, ipB: podB}
	s := a.Snapshot()
	if _, ok := podCount(s, "uid-a", "egress", "NETFILTER_DROP"); ok {
		t.Fatal("series of the pod that left is still exported")
	}
	ft.count(drop(locNF, 12, ipA, ipB, 1))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	if p, _ := podCount(a.Snapshot(), "uid-c", "egress", "NETFILTER_DROP"); p.Packets != 1 {
		t.Fatalf("new pod on the reused address: %+v, want 1 packet", p)
	}
	if got := nodeCount(a.Snapshot(), nfTCP).Packets; got != 4 {
		t.Fatalf("node series: %d, want 4", got)
	}
}

// A corrupt state file does not stop the agent: counting starts afresh.
func TestAccountantIgnoresCorruptState(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "drops.json")
	if err := os.WriteFile(statePath, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	ft := newFakeTables()
	a := newTestAccountant(t, ft, statePath, &fakePods{}, 10)
	ft.count(drop(locNF, 12, ipA, ipB, 2))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	if got := nodeCount(a.Snapshot(), nfTCP).Packets; got != 2 {
		t.Fatalf("got %d", got)
	}
}

// Location 0 (sources without a call site) takes the source's name; an
// address kallsyms cannot name is "unknown".
func TestAccountantLocationNames(t *testing.T) {
	ft := newFakeTables()
	a := NewAccountant(ft, AccountantOptions{Reasons: testReasons(), Symbols: fakeSymbols{}, ZeroLocation: "nf_hook_slow", MaxPodSeries: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := a.Recover(); err != nil {
		t.Fatal(err)
	}
	ft.count(Record{Location: 0, Reason: ReasonNetfilter, Packets: 1})
	ft.count(Record{Location: 0xdead, Reason: 3, Packets: 1, EtherType: 0x0806})
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	s := a.Snapshot()
	if nodeCount(s, NodeKey{"NETFILTER_DROP", "nf_hook_slow", "unknown"}).Packets != 1 ||
		nodeCount(s, NodeKey{"NO_SOCKET", "unknown", "arp"}).Packets != 1 {
		t.Fatalf("got %+v", s.Node)
	}
}

// Pods are asked about the window the drained drops happened in: from the
// start of the previous drain's swap (the accountant's start at first) to
// the end of this drain's;
// after a restart, from the swap the saved state names, so drops counted
// while no agent ran are attributed only to a pod that held the address
// since then.
func TestAccountantAsksAboutDrainWindows(t *testing.T) {
	ft := newFakeTables()
	statePath := filepath.Join(t.TempDir(), "drops.json")
	pods := &fakePods{byIP: map[netip.Addr]metadata.Pod{ipA: podA}}
	start := time.Now()
	a := newTestAccountant(t, ft, statePath, pods, 100)
	ft.count(drop(locNF, 12, ipA, ipB, 1))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	if len(pods.windows) != 2 {
		t.Fatalf("windows asked: %v, want one each for source and destination", pods.windows)
	}
	first := pods.windows[0]
	if first[0].Before(start) || first[1].Before(first[0]) || first[1].After(time.Now()) {
		t.Fatalf("first window %v: want from the accountant's start to the drain", first)
	}
	ft.count(drop(locNF, 12, ipA, ipB, 1))
	if err := a.Drain(); err != nil {
		t.Fatal(err)
	}
	// The windows overlap by the swap's duration: the old table takes drops
	// until the swap completes, the new one from when it starts.
	second := pods.windows[2]
	if second[0].After(first[1]) || !second[0].After(first[0]) || !second[1].After(second[0]) {
		t.Fatalf("second window %v does not start at the swap that ended the first %v", second, first)
	}

	// Restart: the next window starts at the last swap before the stop.
	ft.count(drop(locNF, 12, ipA, ipB, 1))
	pods.windows = nil
	b := newTestAccountant(t, ft, statePath, pods, 100)
	if err := b.Drain(); err != nil {
		t.Fatal(err)
	}
	if len(pods.windows) == 0 || pods.windows[0][0].After(second[1]) || !pods.windows[0][0].After(second[0]) {
		t.Fatalf("window after restart %v, want it to start at the saved swap, within %v", pods.windows, second)
	}
}
