// Package hoststack_test checks the agent's host network stack collectors
// (netstat, softnet, conntrack) end to end: the built agent runs inside a lab
// network namespace, the test puts real pressure on that namespace's kernel
// (a listen queue that overflows, a connection tracking table that fills up)
// and the kernel's own files, read independently of the agent's parsers in the
// same namespace at a quiescent moment, are the ground truth /metrics must match.
package hoststack_test

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

func requirePrivileges(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip", "nft", "sysctl", "cat", "sh")
}

// isolated keeps the agent off eBPF and any state on the machine: these tests
// are about procfs collectors only.
var isolated = []string{"--drop-source", "none", "--state-dir", "", "--bpffs-path", "", "--log-format", "json"}

// startIn runs the agent inside the pod's network namespace.
func startIn(t *testing.T, netns string) *agentproc.Agent {
	t.Helper()
	return agentproc.StartWith(t, agentproc.Options{Netns: netns}, isolated...)
}

// readIn returns a file's contents as a process in the namespace reads it
// ("" is the test's own namespace).
func readIn(t *testing.T, netns, path string) string {
	t.Helper()
	if netns == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	out, err := exec.Command("ip", "netns", "exec", netns, "cat", path).Output()
	if err != nil {
		t.Fatalf("reading %s in %s: %v", path, netns, err)
	}
	return string(out)
}

// kernelNetstat reads /proc/net/snmp and /proc/net/netstat in the namespace
// with a parser of its own (not the agent's): "Group/Name" -> value.
func kernelNetstat(t *testing.T, netns string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, f := range []string{"/proc/net/snmp", "/proc/net/netstat"} {
		lines := strings.Split(strings.TrimSpace(readIn(t, netns, f)), "\n")
		for i := 0; i+1 < len(lines); i += 2 {
			h, v := strings.Fields(lines[i]), strings.Fields(lines[i+1])
			for j := 1; j < len(h) && j < len(v); j++ {
				n, err := strconv.ParseFloat(v[j], 64)
				if err != nil {
					t.Fatalf("%s: %s %s = %q", f, h[0], h[j], v[j])
				}
				out[strings.TrimSuffix(h[0], ":")+"/"+h[j]] = n
			}
		}
	}
	return out
}

// kernelConntrack sums /proc/net/stat/nf_conntrack's columns over CPUs and
// reads nf_conntrack_count and nf_conntrack_max, in the namespace, with a
// parser of its own.
func kernelConntrack(t *testing.T, netns string) (stats map[string]float64, count, max float64) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(readIn(t, netns, "/proc/net/stat/nf_conntrack")), "\n")
	head := strings.Fields(lines[0])
	stats = map[string]float64{}
	for _, l := range lines[1:] {
		for j, v := range strings.Fields(l) {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				t.Fatalf("nf_conntrack: %q", v)
			}
			stats[head[j]] += float64(n)
		}
	}
	num := func(p string) float64 {
		n, err := strconv.ParseFloat(strings.TrimSpace(readIn(t, netns, p)), 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return stats, num("/proc/sys/net/netfilter/nf_conntrack_count"), num("/proc/sys/net/netfilter/nf_conntrack_max")
}

// quiescent reads the kernel, scrapes the agent and reads the kernel again
// until both kernel reads agree (nothing moved while the agent read), then
// returns that kernel state and the scrape. It fails the test after
// testenv.Patience.
func quiescent[K comparable](t *testing.T, a *agentproc.Agent, read func() K) (K, agentproc.Metrics) {
	t.Helper()
	deadline := time.Now().Add(testenv.Patience)
	for {
		k1 := read()
		m := a.Metrics(t)
		k2 := read()
		if k1 == k2 {
			return k1, m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kernel's counters kept moving for %v; no quiescent moment to compare at:\n%v\n%v", testenv.Patience, k1, k2)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// flat turns a map into a comparable string (for quiescent).
func flat(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v\n", k, m[k])
	}
	return b.String()
}

// collectorUp fails the test unless the named collectors report up.
func collectorUp(t *testing.T, m agentproc.Metrics, names ...string) {
	t.Helper()
	for _, n := range names {
		if s := m.Series("netlens_agent_collector_up", map[string]string{"collector": n}); len(s) != 1 || s[0].Value != 1 {
			t.Errorf("collector %s not up: %v", n, s)
		}
	}
}

// waitFor polls cond every 100ms for up to testenv.Patience, and says whether it held.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(testenv.Patience)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}
