//go:build linux

package drops

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/netlens/netlens/agent/kallsyms"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openProbe(t *testing.T, src Source, pinPath string) *Probe {
	t.Helper()
	p, err := Open(Options{Source: src, EventsPerSecond: 1000, PinPath: pinPath, Logger: quiet()})
	if err != nil {
		t.Fatalf("opening %s: %v (attempts %+v)", src, err, p.Attempts())
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// drainUntil drains until the records matching want reach n packets or 3s pass.
func drainUntil(t *testing.T, a *Accountant, p *Probe, key NodeKey, n uint64) Counts {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if err := a.Drain(); err != nil {
			t.Fatal(err)
		}
		c := nodeCount(a.Snapshot(), key)
		if c.Packets >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tp_btf on the running kernel: UDP datagrams to a closed port are counted as
// NO_SOCKET at __udp4_lib_rcv / __udp6_lib_rcv, exactly, with their bytes and
// addresses, and sampled as events carrying both ends and ports.
func TestProbeCountsNoSocketDrops(t *testing.T) {
	testenv.RequireBTF(t)
	p := openProbe(t, SourceTPBTF, "")
	if p.Source() != SourceTPBTF {
		t.Fatalf("source %s", p.Source())
	}
	acct := NewAccountant(p, AccountantOptions{Reasons: p.Reasons(), Symbols: kallsymsForTest(), Logger: quiet(), MaxPodSeries: 10})
	if err := acct.Recover(); err != nil {
		t.Fatal(err)
	}
	events, err := p.Events()
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()

	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	const sent4, sent6, payload = 12, 8, 100
	if err := a.Do(func() error {
		if err := lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), sent4, payload); err != nil {
			return err
		}
		return lab.SendUDP(netip.AddrPortFrom(b.IPv6, 9), sent6, payload)
	}); err != nil {
		t.Fatal(err)
	}

	v4 := drainUntil(t, acct, p, NodeKey{"NO_SOCKET", "__udp4_lib_rcv", "udp"}, sent4)
	v6 := drainUntil(t, acct, p, NodeKey{"NO_SOCKET", "__udp6_lib_rcv", "udp"}, sent6)
	t.Logf("NO_SOCKET: IPv4 %+v, IPv6 %+v", v4, v6)
	// Only this test's pods send to closed ports in these namespaces; the
	// host may add its own, never fewer.
	if v4.Packets < sent4 || v6.Packets < sent6 {
		t.Fatalf("counted %d IPv4 and %d IPv6 NO_SOCKET drops, want %d and %d", v4.Packets, v6.Packets, sent4, sent6)
	}
	if v4.Bytes < sent4*(payload+8) || v6.Bytes < sent6*(payload+8) {
		t.Fatalf("bytes %d / %d too small for %d-byte payloads", v4.Bytes, v6.Bytes, payload)
	}

	// The lab's addresses appear in events with ports.
	seen := map[netip.Addr]bool{}
	deadline := time.Now().Add(3 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		ev, err := readEvent(events, time.Until(deadline))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Pod a also sends neighbour discovery, some of which the kernel drops.
		if (ev.Src == a.IPv4 || ev.Src == a.IPv6) && ev.L4Proto == 17 {
			if ev.Dst != b.IPv4 && ev.Dst != b.IPv6 || ev.DstPort != 9 || ev.SrcPort == 0 ||
				p.Reasons().Name(ev.Reason) != "NO_SOCKET" || ev.Bytes != payload+8 || ev.Time.Before(time.Now().Add(-time.Minute)) {
				t.Fatalf("bad event %+v", ev)
			}
			seen[ev.Src] = true
		}
	}
	if len(seen) != 2 {
		t.Fatalf("events of the lab's IPv4 and IPv6 drops not both seen: %v", seen)
	}
	lost, err := p.Lost()
	if err != nil {
		t.Fatal(err)
	}
	if lost.TableFull != 0 || lost.NoTable != 0 {
		t.Fatalf("lost %+v", lost)
	}
}

func kallsymsForTest() Symbols { return kallsyms.New("/proc/kallsyms") }

func readEvent(r *EventReader, timeout time.Duration) (RawEvent, error) {
	r.rd.SetDeadline(time.Now().Add(timeout))
	return r.Read()
}

// The classic tracepoint works without BTF-typed arguments: reasons and
// locations, no addresses, protocol from the link layer.
func TestProbeTracepointSource(t *testing.T) {
	testenv.RequireBTF(t)
	p := openProbe(t, SourceTracepoint, "")
	acct := NewAccountant(p, AccountantOptions{Reasons: p.Reasons(), Symbols: kallsymsForTest(), Logger: quiet(), MaxPodSeries: 10})
	if err := acct.Recover(); err != nil {
		t.Fatal(err)
	}
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	const sent = 9
	if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), sent, 10) }); err != nil {
		t.Fatal(err)
	}
	c := drainUntil(t, acct, p, NodeKey{"NO_SOCKET", "__udp4_lib_rcv", "ipv4"}, sent)
	if c.Packets < sent || c.Bytes != 0 {
		t.Fatalf("got %+v, want at least %d packets and no bytes (the tracepoint has no length)", c, sent)
	}
	for _, s := range acct.Snapshot().Pods {
		t.Fatalf("pod series without addresses: %+v", s)
	}
}

// loadNfhookPrograms loads only the named programs of the nf_hook_slow object.
func loadNfhookPrograms(t *testing.T, names ...string) error {
	t.Helper()
	spec, err := loadNfhook()
	if err != nil {
		t.Fatal(err)
	}
	for name := range spec.Programs {
		if name != names[0] && name != names[1] {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier rejected %v: %+v", names, ve)
		}
		return err
	}
	coll.Close()
	return nil
}

// The kprobe fallback passes the verifier on the running kernel (attaching
// needs kprobe support, which not every kernel has).
func TestNfhookKprobeProgramsVerify(t *testing.T) {
	testenv.RequireBTF(t)
	if err := loadNfhookPrograms(t, "nf_hook_slow_kprobe", "nf_hook_slow_kretprobe"); err != nil {
		t.Fatal(err)
	}
}

// The fentry/fexit fallback passes the verifier where the kernel loads
// tracing programs against kernel functions. A refusal is a known gap only
// when it is what this machine kind does (docs/known-gaps.md): EPERM with
// nf_hook_slow in the kernel's BTF is "not permitted", a missing target or
// trampoline "not supported".
func TestNfhookFentryProgramsVerify(t *testing.T) {
	testenv.RequireBTF(t)
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	notRunUnless(t, "fexit", checkNfhookTarget(kernel))
	notRunUnless(t, "fexit", loadNfhookPrograms(t, "nf_hook_slow_entry", "nf_hook_slow_exit"))
}

// notRunUnless ends a test of source src whose load or attach failed with
// err: a refusal the agent classifies is a gap named after it; anything else
// fails.
func notRunUnless(t *testing.T, src string, err error) {
	t.Helper()
	switch refusalOf(err) {
	case "":
	case NotPermitted:
		testenv.NotRun(t, src+"-not-permitted", err.Error()+" ("+permissionHint()+")")
	case NotSupported:
		testenv.NotRun(t, src+"-not-supported", err.Error())
	default:
		t.Fatal(err)
	}
}

// A forced source that the kernel cannot use fails with the reason,
// classified, and the probe says which sources were tried.
func TestProbeReportsUnusableSource(t *testing.T) {
	testenv.RequireBTF(t)
	// kprobes are missing on some kernels, fentry refused on others: the test
	// needs one that fails here.
	for _, src := range []Source{SourceKprobe, SourceFexit} {
		p, err := Open(Options{Source: src, Logger: quiet()})
		if err == nil {
			p.Close()
			continue
		}
		a := p.Attempts()
		if p.Source() != SourceNone || len(a) != 1 || a[0].Error == "" || a[0].Refusal != refusalOf(err) || a[0].Refusal == "" {
			t.Fatalf("source %s attempts %+v", p.Source(), a)
		}
		t.Logf("%s source refused here, %s: %s", src, a[0].Refusal, a[0].Error)
		return
	}
	testenv.NotRun(t, "fallback-failure-path", "both kprobe and fexit attach on this kernel, so no forced source fails")
}

// With a pin path, a second probe reuses the first one's pinned program and
// tables: drops counted between the two are kept, and Unpin removes it all.
func TestProbePinnedAcrossReopen(t *testing.T) {
	testenv.RequireBTF(t)
	pin := testPinPath(t)
	p1 := openProbe(t, SourceTPBTF, pin)
	active, err := p1.ActiveTable()
	if err != nil {
		t.Fatal(err)
	}
	p1.Close()

	// Drops while no probe is open are counted by the pinned program.
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), 5, 10) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	p2 := openProbe(t, SourceTPBTF, pin)
	if active2, _ := p2.ActiveTable(); active2 != active {
		t.Fatalf("active table changed from %d to %d on reopen", active, active2)
	}
	var got uint64
	if err := p2.ReadTable(active, func(r Record) {
		if r.Src == a.IPv4 && r.Dst == b.IPv4 {
			got += r.Packets
		}
	}); err != nil {
		t.Fatal(err)
	}
	if got != 5 {
		t.Fatalf("pinned table holds %d of the 5 drops made while no probe was open", got)
	}
	if pinned, _ := p2.Pinned(); !pinned {
		t.Fatal("probe not pinned")
	}
	p2.Close()
	if err := Unpin(pin); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(pin)
	if len(entries) != 0 {
		t.Fatalf("left after Unpin: %v", entries)
	}
}

// testPinPath is a fresh bpffs directory removed (with its pins) after the test.
func testPinPath(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("/sys/fs/bpf", fmt.Sprintf("netlens-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_")))
	t.Cleanup(func() {
		_ = Unpin(dir)
		_ = os.Remove(dir)
	})
	return dir
}

// drainProbe installs the other pair and returns the packets of the drained
// one per (source, destination) that keep(r) accepts.
func drainProbe(t *testing.T, p *Probe, keep func(Record) bool) map[[2]netip.Addr]uint64 {
	t.Helper()
	active, err := p.ActiveTable()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Swap(1 - active); err != nil {
		t.Fatal(err)
	}
	got := map[[2]netip.Addr]uint64{}
	if err := p.ReadTable(active, func(r Record) {
		if keep(r) {
			got[[2]netip.Addr{r.Src, r.Dst}] += r.Packets
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.ClearTable(active); err != nil {
		t.Fatal(err)
	}
	return got
}

// More distinct keys than a CPU's front has slots, sent round robin: every
// drop evicts another key's counts into the table, and each key's total is
// still exact, all of it in the pair drained right after the last drop
// (evictions never carry counts into the newly installed pair).
func TestProbeFrontEvictionsLoseNothing(t *testing.T) {
	testenv.RequireBTF(t)
	p := openProbe(t, SourceTPBTF, "")
	drainProbe(t, p, func(Record) bool { return false })

	l := lab.New(t)
	a := l.AddPod("a")
	const keys, rounds = 600, 3 // keys > 256 front slots per CPU
	dst := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}) }
	if err := a.Do(func() error {
		for range rounds {
			for i := range keys {
				if err := lab.SendUDP(netip.AddrPortFrom(dst(i), 9), 1, 10); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	perDst := map[netip.Addr]uint64{}
	for k, n := range drainProbe(t, p, func(r Record) bool {
		return r.L4Proto == 17 && r.Dst.Is4() && r.Dst.As4()[0] == 127 && r.Dst.As4()[1] == 1
	}) {
		perDst[k[1]] += n
	}
	if len(perDst) != keys {
		t.Fatalf("%d destinations counted, want %d", len(perDst), keys)
	}
	for i := range keys {
		if perDst[dst(i)] != rounds {
			t.Fatalf("%s: %d drops counted, want %d", dst(i), perDst[dst(i)], rounds)
		}
	}
	if lost, err := p.Lost(); err != nil || lost.TableFull != 0 || lost.NoTable != 0 {
		t.Fatalf("lost %+v (%v)", lost, err)
	}
}
