// Package drops_test checks the agent's drop counting end to end: the built
// agent runs on the host, the network lab provides pods, iptables and
// nftables rules act as network policies, and the kernel's own counters (rule
// counters, SNMP counters, packets sent minus packets received) are the
// ground truth the agent's /metrics must match exactly.
package drops_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

func requirePrivileges(t *testing.T) {
	t.Helper()
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "iptables", "ip6tables", "nft", "ping", "sysctl")
}

// podDrops is the agent's netlens_pod_drop_packets_total (or bytes) of a pod.
func podDrops(m agentproc.Metrics, metric string, p *lab.Pod, direction, reason string) float64 {
	return m.Sum(metric, map[string]string{"namespace": lab.Namespace, "pod": p.KubeName(), "workload": p.Name, "direction": direction, "reason": reason})
}

// eventually scrapes until cond holds or testenv.Patience passes, and
// returns the last scrape (the caller checks it).
func eventually(t *testing.T, a *agentproc.Agent, cond func(agentproc.Metrics) bool) agentproc.Metrics {
	t.Helper()
	deadline := time.Now().Add(testenv.Patience)
	for {
		m := a.Metrics(t)
		if cond(m) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var nftCounterRE = regexp.MustCompile(`counter packets (\d+) bytes (\d+).*comment "([^"]+)"`)

// nftCounters returns packets and bytes of each commented counter in the
// lab's nftables ruleset.
func nftCounters(t *testing.T, l *lab.Lab) map[string][2]uint64 {
	t.Helper()
	out := l.MustNodeRun("nft", "list", "ruleset")
	got := map[string][2]uint64{}
	for _, m := range nftCounterRE.FindAllStringSubmatch(out, -1) {
		p, _ := strconv.ParseUint(m[1], 10, 64)
		b, _ := strconv.ParseUint(m[2], 10, 64)
		got[m[3]] = [2]uint64{p, b}
	}
	return got
}

// snmp reads one counter of /proc/net/snmp (group "Ip", "Udp", ...) in a namespace.
func snmp(t *testing.T, run func(...string) (string, error), group, name string) uint64 {
	t.Helper()
	return procNetCounter(t, run, "/proc/net/snmp", group, name)
}

// udpQueued returns the bytes waiting in the receive queue of the UDP socket
// bound to port in a namespace (rx_queue of /proc/net/udp, or of udp6: Go's
// "udp" sockets are dual-stack IPv6 ones).
func udpQueued(t *testing.T, run func(...string) (string, error), port uint16) uint64 {
	t.Helper()
	out, err := run("cat", "/proc/net/udp", "/proc/net/udp6")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseUint(rx, 16, 64)
		if err != nil {
			t.Fatalf("bad /proc/net/udp line %q", line)
		}
		return n
	}
	t.Fatalf("no UDP socket on port %d:\n%s", port, out)
	return 0
}

// netstat reads one counter of /proc/net/netstat (group "IpExt", "TcpExt") in a namespace.
func netstat(t *testing.T, run func(...string) (string, error), group, name string) uint64 {
	t.Helper()
	return procNetCounter(t, run, "/proc/net/netstat", group, name)
}

// procNetCounter reads a counter from a file of header/value line pairs.
func procNetCounter(t *testing.T, run func(...string) (string, error), file, group, name string) uint64 {
	t.Helper()
	out, err := run("cat", file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i++ {
		head, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(head) == 0 || head[0] != group+":" || len(vals) != len(head) || vals[0] != group+":" {
			continue
		}
		for j, h := range head {
			if h == name {
				v, err := strconv.ParseUint(vals[j], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
	}
	t.Fatalf("no %s %s in %s", group, name, file)
	return 0
}
