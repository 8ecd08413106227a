package drops_test

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// Traffic flows while the agent restarts twice and while the deny rule is
// removed: the agent's NETFILTER_DROP count equals the datagrams sent minus
// those received, exactly. Drops while no agent runs are counted (the pinned
// program keeps counting), nothing is counted twice.
func TestRestartAndRuleRemovalLoseNothing(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	flags := agentproc.DropFlags(t, lab.PodsFile(t, a, b))
	l.MustNodeRun("iptables", "-I", "FORWARD", "-s", a.IPv4.String(), "-d", b.IPv4.String(), "-p", "udp", "--dport", "7000",
		"-m", "comment", "--comment", "nl-restart", "-j", "DROP")

	var rcv *net.UDPConn
	if err := b.Do(func() (err error) {
		rcv, err = net.ListenUDP("udp", &net.UDPAddr{Port: 7000})
		if err == nil {
			err = rcv.SetReadBuffer(4 << 20)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var received atomic.Uint64
	var rcvDone sync.WaitGroup
	rcvDone.Add(1)
	go func() {
		defer rcvDone.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := rcv.ReadFromUDP(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	rcvbufBefore := snmp(t, b.Run, "Udp", "RcvbufErrors")
	readBefore := snmp(t, b.Run, "Udp", "InDatagrams")

	agent := agentproc.Start(t, flags...)
	var sent atomic.Uint64
	stop := make(chan struct{})
	senderDone := make(chan error, 1)
	go func() {
		senderDone <- a.Do(func() error {
			c, err := net.ListenUDP("udp", nil)
			if err != nil {
				return err
			}
			defer c.Close()
			dst := netip.AddrPortFrom(b.IPv4, 7000)
			tick := time.NewTicker(500 * time.Microsecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return nil
				case <-tick.C:
					if _, err := c.WriteToUDPAddrPort([]byte("restart-test"), dst); err != nil {
						return err
					}
					sent.Add(1)
				}
			}
		})
	}()

	// Each phase lasts until a few hundred datagrams went through it, however
	// fast the machine sends them.
	grows := func(what string, counter *atomic.Uint64, by uint64) {
		t.Helper()
		from := counter.Load()
		testenv.Eventually(t, what, func() bool { return counter.Load() >= from+by })
	}
	grows("datagrams denied while the agent runs", &sent, 500)
	for range 2 {
		agent.Stop(t)
		grows("datagrams denied while no agent runs (the pinned table counts them)", &sent, 300)
		agent = agentproc.Start(t, flags...)
		grows("datagrams denied after the restart", &sent, 500)
	}
	l.MustNodeRun("iptables", "-D", "FORWARD", "-s", a.IPv4.String(), "-d", b.IPv4.String(), "-p", "udp", "--dport", "7000",
		"-m", "comment", "--comment", "nl-restart", "-j", "DROP")
	grows("datagrams received once the rule is gone", &received, 500)
	close(stop)
	if err := <-senderDone; err != nil {
		t.Fatal(err)
	}
	// The receiver reads what b's kernel queued on its socket (up to its
	// 4 MiB buffer, which a busy machine may leave full) before it stops: the
	// queue is empty and every datagram read (Udp InDatagrams) is counted.
	testenv.Eventually(t, "the receiver reads every datagram delivered", func() bool {
		return udpQueued(t, b.Run, 7000) == 0 && received.Load() == snmp(t, b.Run, "Udp", "InDatagrams")-readBefore
	})
	rcv.Close()
	rcvDone.Wait()
	if lost := snmp(t, b.Run, "Udp", "RcvbufErrors") - rcvbufBefore; lost != 0 {
		t.Fatalf("the receiver itself lost %d datagrams: sent minus received is no ground truth", lost)
	}

	dropped := float64(sent.Load() - received.Load())
	m := eventually(t, agent, func(m agentproc.Metrics) bool {
		return podDrops(m, podPackets, a, "egress", "NETFILTER_DROP") >= dropped
	})
	got := podDrops(m, podPackets, a, "egress", "NETFILTER_DROP")
	t.Logf("sent %d, received %d, dropped %v, agent counted %v", sent.Load(), received.Load(), dropped, got)
	if received.Load() == 0 || dropped == 0 {
		t.Fatal("the test needs both dropped and delivered datagrams")
	}
	if got != dropped || podDrops(m, podPackets, b, "ingress", "NETFILTER_DROP") != dropped {
		t.Fatalf("agent counted %v (a egress) and %v (b ingress), want exactly %v",
			got, podDrops(m, podPackets, b, "ingress", "NETFILTER_DROP"), dropped)
	}
}

// --max-pod-series bounds the pod series; the rest is counted as overflow.
// A pod removed from the inventory loses its series at the next scrape.
func TestPodSeriesBoundedAndRemoved(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a, b, c := l.AddPod("a"), l.AddPod("b"), l.AddPod("c")
	pods := lab.PodsFile(t, a, b, c)
	agent := agentproc.Start(t, append(agentproc.DropFlags(t, pods), "--max-pod-series", "2")...)

	// a -> b, a -> c: four series wanted (a egress, b and c ingress; a twice
	// would be one series), only two allowed.
	if err := a.Do(func() error {
		if err := lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), 3, 10); err != nil {
			return err
		}
		return lab.SendUDP(netip.AddrPortFrom(c.IPv4, 9), 4, 10)
	}); err != nil {
		t.Fatal(err)
	}
	m := eventually(t, agent, func(m agentproc.Metrics) bool {
		return m.Sum(nodePackets, map[string]string{"reason": "NO_SOCKET"}) >= 7 && m.Sum("netlens_pod_drop_series", nil) == 2
	})
	series := m.Series(podPackets, nil)
	var attributed float64
	for _, s := range series {
		attributed += s.Value
	}
	overflow := m.Sum("netlens_pod_drop_overflow_packets_total", nil)
	t.Logf("%d pod series, %v attributed, %v overflow", len(series), attributed, overflow)
	if len(series) != 2 || m.Sum("netlens_pod_drop_series", nil) != 2 {
		t.Fatalf("want 2 pod series, got %d: %+v", len(series), series)
	}
	// Each drop counts for a's egress and for its receiver's ingress: 14 in all.
	if attributed+overflow != 14 || overflow == 0 {
		t.Fatalf("attributed %v + overflow %v, want 14 with some overflow", attributed, overflow)
	}

	// Pod c leaves the inventory.
	if err := os.WriteFile(pods, mustRead(t, lab.PodsFile(t, a, b)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The inventory is re-read every 2s; the scrape after that has no series of c.
	testenv.Eventually(t, "the removed pod c's series leave the scrape", func() bool {
		for _, s := range agent.Metrics(t).Series(podPackets, nil) {
			if strings.HasPrefix(s.Labels["pod"], "c-") {
				return false
			}
		}
		return true
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The classic tracepoint source, forced: reasons and locations without
// addresses, reported as the drop source in metrics and status.
func TestTracepointSourceAgent(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	agent := agentproc.Start(t, append(agentproc.DropFlags(t, lab.PodsFile(t, a, b)), "--drop-source", "tracepoint")...)
	if st := agent.Status(t); st.DropSource != "tracepoint" {
		t.Fatalf("status drop source %q", st.DropSource)
	}
	key := map[string]string{"reason": "NO_SOCKET", "location": "__udp4_lib_rcv", "protocol": "ipv4"}
	before := agent.Metrics(t).Sum(nodePackets, key)
	if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), 8, 10) }); err != nil {
		t.Fatal(err)
	}
	m := eventually(t, agent, func(m agentproc.Metrics) bool { return m.Sum(nodePackets, key)-before >= 8 })
	if got := m.Sum(nodePackets, key) - before; got < 8 {
		t.Fatalf("tracepoint source counted %v of 8 drops", got)
	}
	if m.Sum("netlens_agent_info", map[string]string{"drop_source": "tracepoint"}) != 1 {
		t.Fatal("netlens_agent_info does not say drop_source=tracepoint")
	}
	if n := len(m.Series(podPackets, nil)); n != 0 {
		t.Fatalf("%d pod series from a source without addresses", n)
	}
}

// A drop source the kernel cannot attach does not stop the agent: it serves,
// reports the drops collector down and says why, classified, in its status.
func TestUnusableDropSourceKeepsAgentUp(t *testing.T) {
	requirePrivileges(t)
	pods := lab.PodsFile(t)
	// kprobes are missing on some kernels, fentry refused on others: the
	// test needs a source that fails here.
	for _, src := range []string{"kprobe", "fexit"} {
		agent := agentproc.Start(t, append(agentproc.DropFlags(t, pods), "--drop-source", src)...)
		st := agent.Status(t)
		if st.DropSource == src {
			agent.Stop(t)
			continue
		}
		if code, _ := testenv.HTTPGet(t, "http://"+agent.Addr+"/healthz"); code != 200 {
			t.Fatalf("/healthz: %d", code)
		}
		if st.DropSource != "none" || len(st.DropSourceAttempts) != 1 || !strings.Contains(st.DropSourceAttempts[0].Error, "nf_hook_slow") ||
			(st.DropSourceAttempts[0].Refusal != "not supported" && st.DropSourceAttempts[0].Refusal != "not permitted") {
			t.Fatalf("status: %+v", st)
		}
		m := agent.Metrics(t)
		if m.Sum("netlens_agent_collector_up", map[string]string{"collector": "drops"}) != 0 ||
			m.Sum("netlens_agent_info", map[string]string{"drop_source": "none"}) != 1 {
			t.Fatal("metrics do not report the drops collector down with drop_source none")
		}
		t.Logf("%s refused (%s), reported as: %s", src, st.DropSourceAttempts[0].Refusal, st.DropSourceAttempts[0].Error)
		return
	}
	testenv.NotRun(t, "fallback-failure-path", "both kprobe and fexit attach on this kernel, so no forced source fails")
}

// notRunRefused ends a test whose forced drop source the agent could not
// use: the refusal the agent reports names the gap; an unclassified failure
// fails the test.
func notRunRefused(t *testing.T, src string, st api.Status) {
	t.Helper()
	if len(st.DropSourceAttempts) != 1 {
		t.Fatalf("forced source %s: status %+v", src, st)
	}
	a := st.DropSourceAttempts[0]
	switch a.Refusal {
	case "not permitted":
		testenv.NotRun(t, src+"-not-permitted", a.Error)
	case "not supported":
		testenv.NotRun(t, src+"-not-supported", a.Error)
	}
	t.Fatalf("forced source %s failed, %s: %s", src, a.Refusal, a.Error)
}
