package bench

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/netlens/netlens/agent/drops"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// BenchmarkDropPath drives the whole drop path at the highest rate one sender
// reaches: each op is one UDP datagram from lab pod a to a closed port on pod
// b, dropped by the kernel (NO_SOCKET), counted in the kernel, attributed to
// both pods by a running agent. It reports the in-kernel cost per drop from
// the kernel's own BPF statistics (bpf-ns/drop), the drop rate, the agent's
// CPU and peak RSS, and fails unless the agent's count is exact.
// NETLENS_BENCH_AGENT_ARGS adds agent flags (e.g. --drop-events-per-second 0).
//
//	sudo go test ./bench/ -run '^$' -bench DropPath -benchtime 1000000x -count 5
func BenchmarkDropPath(b *testing.B) {
	testenv.RequireBTF(b)
	l := lab.New(b)
	pa, pb := l.AddPod("a"), l.AddPod("b")
	// What bpf_stats and the tracepoint cost per run by themselves on this
	// machine (tens of ns on a VM's clock), measured with a program that does
	// nothing, alone, before the agent starts: the program's own cost is the
	// difference, and both come from the same run.
	perEmpty := emptyProgramCost(b, pa, pb)

	pin := fmt.Sprintf("/sys/fs/bpf/netlens-bench-%d", os.Getpid())
	b.Cleanup(func() { _ = drops.Unpin(pin); _ = os.Remove(pin) })
	args := []string{"--pods-file", lab.PodsFile(b, pa, pb), "--state-dir", b.TempDir(), "--bpffs-path", pin}
	agent := agentproc.Start(b, append(args, strings.Fields(os.Getenv("NETLENS_BENCH_AGENT_ARGS"))...)...)

	restore := enableBPFStats(b)
	defer restore()
	prog := countingProgram(b, filepath.Join(pin, "link_kfree_skb_reason"))
	defer prog.Close()

	series := map[string]string{"pod": pb.KubeName(), "direction": "ingress", "reason": "NO_SOCKET"}
	before := agent.Metrics(b).Sum("netlens_pod_drop_packets_total", series)
	st0, err := prog.Stats()
	if err != nil {
		b.Fatal(err)
	}

	cpu0 := cpuSeconds(b, agent.PID())
	start := time.Now()

	b.ResetTimer()
	if err := pa.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(pb.IPv4, 9), b.N, 16) }); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	elapsed := time.Since(start)

	var counted float64
	for deadline := time.Now().Add(testenv.Patience); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if counted = agent.Metrics(b).Sum("netlens_pod_drop_packets_total", series) - before; counted >= float64(b.N) {
			break
		}
	}
	st1, err := prog.Stats()
	if err != nil {
		b.Fatal(err)
	}
	runs := st1.RunCount - st0.RunCount
	if runs == 0 {
		b.Fatal("the kernel recorded no run of the drop program (kernel.bpf_stats_enabled?)")
	}
	perDrop := float64((st1.Runtime - st0.Runtime).Nanoseconds()) / float64(runs)
	b.ReportMetric(perDrop, "bpf-ns/drop")
	b.ReportMetric(perEmpty, "empty-bpf-ns/drop")
	b.ReportMetric(perDrop-perEmpty, "net-bpf-ns/drop")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "drops/s")
	b.ReportMetric(100*(cpuSeconds(b, agent.PID())-cpu0)/elapsed.Seconds(), "agent-cpu-%")
	b.ReportMetric(peakRSSMiB(b, agent.PID()), "agent-peak-rss-MiB")
	b.ReportMetric(counted/float64(b.N), "counted/sent")
	if counted != float64(b.N) {
		b.Fatalf("agent counted %v drops for %d datagrams sent", counted, b.N)
	}
}

// enableBPFStats turns on the kernel's run-time accounting of BPF programs.
func enableBPFStats(b *testing.B) func() {
	const knob = "/proc/sys/kernel/bpf_stats_enabled"
	old, err := os.ReadFile(knob)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(knob, []byte("1"), 0o644); err != nil {
		b.Fatal(err)
	}
	return func() { _ = os.WriteFile(knob, old, 0o644) }
}

// countingProgram opens the program behind the agent's pinned link.
func countingProgram(b *testing.B, pinnedLink string) *ebpf.Program {
	l, err := link.LoadPinnedLink(pinnedLink, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		b.Fatal(err)
	}
	p, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// emptyProgramCost returns the kernel's measured run time per drop of a
// program that does nothing, attached alone to tp_btf/kfree_skb.
func emptyProgramCost(b *testing.B, from, to *lab.Pod) float64 {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "kfree_skb", License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	restore := enableBPFStats(b)
	defer restore()
	s0, err := prog.Stats()
	if err != nil {
		b.Fatal(err)
	}
	if err := from.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(to.IPv4, 9), 200000, 16) }); err != nil {
		b.Fatal(err)
	}
	s1, err := prog.Stats()
	if err != nil {
		b.Fatal(err)
	}
	if s1.RunCount == s0.RunCount {
		b.Fatal("the empty program never ran")
	}
	return float64((s1.Runtime - s0.Runtime).Nanoseconds()) / float64(s1.RunCount-s0.RunCount)
}

// cpuSeconds is the process's user plus system CPU time.
func cpuSeconds(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// peakRSSMiB is the process's peak resident set (VmHWM).
func peakRSSMiB(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM")
	return 0
}
