package drops_test

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	podPackets  = "netlens_pod_drop_packets_total"
	podBytes    = "netlens_pod_drop_bytes_total"
	nodePackets = "netlens_drop_packets_total"
)

// sendMixed sends TCP SYNs, UDP datagrams and ICMP echo requests, over IPv4
// and IPv6, from a to b.
func sendMixed(t *testing.T, a, b *lab.Pod) {
	t.Helper()
	if err := a.Do(func() error {
		if err := lab.SendSYNs(netip.AddrPortFrom(b.IPv4, 80), 5); err != nil {
			return err
		}
		if err := lab.SendUDP(netip.AddrPortFrom(b.IPv4, 53), 7, 100); err != nil {
			return err
		}
		if err := lab.SendSYNs(netip.AddrPortFrom(b.IPv6, 80), 3); err != nil {
			return err
		}
		return lab.SendUDP(netip.AddrPortFrom(b.IPv6, 53), 4, 200)
	}); err != nil {
		t.Fatal(err)
	}
	// Pings fail: the rules drop them.
	_, _ = a.Run("ping", "-c", "4", "-i", "0.05", "-W", "1", b.IPv4.String())
	_, _ = a.Run("ping", "-6", "-c", "6", "-i", "0.05", "-W", "1", b.IPv6.String())
}

// checkPolicyDrops asserts that the agent counted exactly the packets and bytes
// the rules dropped, from a (egress) to b (ingress), and per protocol at node level.
func checkPolicyDrops(t *testing.T, agent *agentproc.Agent, a, b *lab.Pod, packets, bytes uint64, perProto map[string]uint64) {
	t.Helper()
	m := eventually(t, agent, func(m agentproc.Metrics) bool {
		return podDrops(m, podPackets, a, "egress", "NETFILTER_DROP") >= float64(packets)
	})
	if packets == 0 {
		t.Fatal("the rules dropped nothing: the test sent no traffic through them")
	}
	for _, c := range []struct {
		what string
		got  float64
		want uint64
	}{
		{"a egress packets", podDrops(m, podPackets, a, "egress", "NETFILTER_DROP"), packets},
		{"b ingress packets", podDrops(m, podPackets, b, "ingress", "NETFILTER_DROP"), packets},
		{"a egress bytes", podDrops(m, podBytes, a, "egress", "NETFILTER_DROP"), bytes},
		{"b ingress bytes", podDrops(m, podBytes, b, "ingress", "NETFILTER_DROP"), bytes},
		{"a ingress packets", podDrops(m, podPackets, a, "ingress", "NETFILTER_DROP"), 0},
		{"b egress packets", podDrops(m, podPackets, b, "egress", "NETFILTER_DROP"), 0},
	} {
		if c.got != float64(c.want) {
			t.Errorf("%s: agent says %v, the kernel's rule counters %d", c.what, c.got, c.want)
		}
	}
	for proto, want := range perProto {
		got := m.Sum(nodePackets, map[string]string{"reason": "NETFILTER_DROP", "protocol": proto})
		if got != float64(want) {
			t.Errorf("node NETFILTER_DROP %s: agent says %v, rule counters %d", proto, got, want)
		}
	}
	// Where netfilter frees the packet depends on the kernel and backend:
	// nf_hook_slow for a verdict, nft_do_chain when nf_tables drops itself.
	for _, s := range m.Series(nodePackets, map[string]string{"reason": "NETFILTER_DROP"}) {
		if loc := s.Labels["location"]; loc != "nf_hook_slow" && loc != "nft_do_chain" {
			t.Errorf("netfilter drop at %q, want nf_hook_slow or nft_do_chain", loc)
		}
	}
}

// An iptables DROP policy between two pods: every packet the rules counted
// (TCP SYNs, UDP, ICMP; IPv4 and IPv6) is a NETFILTER_DROP of the sender
// (egress) and of the receiver (ingress), with the rules' byte counts. Both
// iptables backends: nf_tables (Debian's default) and legacy x_tables.
func TestIptablesPolicyDrops(t *testing.T) {
	for _, backend := range []struct{ name, v4, v6 string }{
		{"nft", "iptables", "ip6tables"},
		{"legacy", "iptables-legacy", "ip6tables-legacy"},
	} {
		t.Run(backend.name, func(t *testing.T) {
			testIptablesPolicyDrops(t, backend.v4, backend.v6, "")
		})
	}
}

// The netfilter-only fallbacks, fentry/fexit and kprobes on nf_hook_slow,
// count the same iptables policy drops exactly, where the kernel lets them
// attach; where it does not, the agent's classification of the refusal names
// the gap.
func TestNetfilterFallbackSources(t *testing.T) {
	for _, src := range []string{"fexit", "kprobe"} {
		t.Run(src, func(t *testing.T) {
			testIptablesPolicyDrops(t, "iptables", "ip6tables", src)
		})
	}
}

// testIptablesPolicyDrops runs the policy test with the iptables commands v4
// and v6 and the agent's drop source forced to source ("" for its default).
func testIptablesPolicyDrops(t *testing.T, v4, v6, source string) {
	requirePrivileges(t)
	testenv.RequireCommands(t, v4, v6)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	flags := agentproc.DropFlags(t, lab.PodsFile(t, a, b))
	if source != "" {
		flags = append(flags, "--drop-source", source)
	}
	agent := agentproc.Start(t, flags...)
	if st := agent.Status(t); source != "" && st.DropSource != source {
		notRunRefused(t, source, st)
	}

	rules := []struct{ cmd, src, dst, comment string }{
		{v4, a.IPv4.String(), b.IPv4.String(), "nl-tcp4"},
		{v4, a.IPv4.String(), b.IPv4.String(), "nl-udp4"},
		{v4, a.IPv4.String(), b.IPv4.String(), "nl-icmp4"},
		{v6, a.IPv6.String(), b.IPv6.String(), "nl-tcp6"},
		{v6, a.IPv6.String(), b.IPv6.String(), "nl-udp6"},
		{v6, a.IPv6.String(), b.IPv6.String(), "nl-icmp6"},
	}
	match := map[string][]string{
		"nl-tcp4": {"-p", "tcp"}, "nl-udp4": {"-p", "udp"}, "nl-icmp4": {"-p", "icmp"},
		"nl-tcp6": {"-p", "tcp"}, "nl-udp6": {"-p", "udp"},
		// Only echo requests, so that neighbour discovery keeps working.
		"nl-icmp6": {"-p", "ipv6-icmp", "--icmpv6-type", "echo-request"},
	}
	for _, r := range rules {
		args := append([]string{r.cmd, "-I", "FORWARD", "-s", r.src, "-d", r.dst}, match[r.comment]...)
		l.MustNodeRun(append(args, "-m", "comment", "--comment", r.comment, "-j", "DROP")...)
	}
	sendMixed(t, a, b)

	var packets, bytes uint64
	per := map[string]uint64{}
	for _, r := range rules {
		p, by := l.RuleCounter(t, r.cmd, r.comment)
		t.Logf("%s: %d packets, %d bytes", r.comment, p, by)
		packets += p
		bytes += by
		proto := map[string]string{"nl-tcp4": "tcp", "nl-tcp6": "tcp", "nl-udp4": "udp", "nl-udp6": "udp", "nl-icmp4": "icmp", "nl-icmp6": "icmpv6"}[r.comment]
		per[proto] += p
	}
	checkPolicyDrops(t, agent, a, b, packets, bytes, per)
}

// An nftables policy in the bridge family (no br_netfilter involved): the
// agent matches the nft counters exactly.
func TestNftablesPolicyDrops(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	agent := agentproc.Start(t, agentproc.DropFlags(t, lab.PodsFile(t, a, b))...)

	l.MustNodeRun("nft", "add", "table", "bridge", "netlens")
	l.MustNodeRun("nft", "add", "chain", "bridge", "netlens", "forward", "{ type filter hook forward priority 0; policy accept; }")
	l.MustNodeRun("nft", "add", "rule", "bridge", "netlens", "forward", "ip", "saddr", a.IPv4.String(), "ip", "daddr", b.IPv4.String(),
		"counter", "drop", "comment", `"nl-ip4"`)
	l.MustNodeRun("nft", "add", "rule", "bridge", "netlens", "forward", "ip6", "saddr", a.IPv6.String(), "ip6", "daddr", b.IPv6.String(),
		"meta", "l4proto", "{ tcp, udp }", "counter", "drop", "comment", `"nl-ip6"`)
	sendMixed(t, a, b)

	c := nftCounters(t, l)
	t.Logf("nft counters: %v", c)
	packets, bytes := c["nl-ip4"][0]+c["nl-ip6"][0], c["nl-ip4"][1]+c["nl-ip6"][1]
	// IPv6 pings pass this policy; the IPv4 rule drops all three protocols.
	checkPolicyDrops(t, agent, a, b, packets, bytes, nil)
	m := agent.Metrics(t)
	if got := m.Sum(nodePackets, map[string]string{"reason": "NETFILTER_DROP", "protocol": "icmpv6"}); got != 0 {
		t.Errorf("ICMPv6 passes the nft policy but the agent counted %v drops", got)
	}
}

// The exposition with drop, pod and loss series passes promtool's lint.
func TestDropMetricsPassPromtool(t *testing.T) {
	requirePrivileges(t)
	testenv.RequireCommands(t, "promtool")
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	agent := agentproc.Start(t, agentproc.DropFlags(t, lab.PodsFile(t, a, b))...)
	if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), 3, 10) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, agent, func(m agentproc.Metrics) bool { return podDrops(m, podPackets, b, "ingress", "NO_SOCKET") >= 3 })
	_, text := testenv.HTTPGet(t, "http://"+agent.Addr+"/metrics")
	for _, name := range []string{podPackets, podBytes, nodePackets, "netlens_agent_lost_total", "netlens_pod_drop_overflow_packets_total"} {
		if !strings.Contains(text, "\n"+name) {
			t.Fatalf("exposition lacks %s", name)
		}
	}
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(text)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
