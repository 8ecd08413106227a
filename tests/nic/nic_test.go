//go:build linux

// Package nic checks the agent's interface and NIC collectors against what
// the kernel reports through `ip -s link` and `ethtool -S`, on this machine's
// real interfaces and on veth pairs carrying a known number of packets.
package nic

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/netlens/netlens/agent/nic"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

func startAgent(t *testing.T, args ...string) *agentproc.Agent {
	t.Helper()
	return agentproc.Start(t, append([]string{"--drop-source", "none", "--bpffs-path", "", "--state-dir", ""}, args...)...)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pair is a veth pair: host end in the test's network namespace, peer in its
// own namespace, IPv6 off and static neighbours so that only the test's
// packets cross it.
type pair struct {
	host, peer, netns string
	hostIP, peerIP    netip.Addr
}

func newPair(t *testing.T, suffix string, queues int) *pair {
	t.Helper()
	id := fmt.Sprintf("%d%s", os.Getpid()%10000, suffix)
	p := &pair{host: "nlth" + id, peer: "nltp" + id, netns: "nlt-" + id,
		hostIP: netip.MustParseAddr("198.18.0.1"), peerIP: netip.MustParseAddr("198.18.0.2")}
	q := strconv.Itoa(queues)
	run(t, "ip", "netns", "add", p.netns)
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", p.host).Run()
		_ = exec.Command("ip", "netns", "del", p.netns).Run()
	})
	run(t, "ip", "link", "add", p.host, "numtxqueues", q, "numrxqueues", q, "type", "veth",
		"peer", "name", p.peer, "numtxqueues", q, "numrxqueues", q, "netns", p.netns)
	run(t, "sysctl", "-qw", "net.ipv6.conf."+p.host+".disable_ipv6=1")
	run(t, "ip", "netns", "exec", p.netns, "sysctl", "-qw", "net.ipv6.conf."+p.peer+".disable_ipv6=1")
	hostMAC := strings.TrimSpace(run(t, "cat", "/sys/class/net/"+p.host+"/address"))
	peerMAC := strings.TrimSpace(run(t, "ip", "netns", "exec", p.netns, "cat", "/sys/class/net/"+p.peer+"/address"))
	run(t, "ip", "addr", "add", p.hostIP.String()+"/30", "dev", p.host)
	run(t, "ip", "-n", p.netns, "addr", "add", p.peerIP.String()+"/30", "dev", p.peer)
	run(t, "ip", "neigh", "replace", p.peerIP.String(), "lladdr", peerMAC, "dev", p.host, "nud", "permanent")
	run(t, "ip", "-n", p.netns, "neigh", "replace", p.hostIP.String(), "lladdr", hostMAC, "dev", p.peer, "nud", "permanent")
	run(t, "ip", "link", "set", p.host, "up")
	run(t, "ip", "-n", p.netns, "link", "set", p.peer, "up")
	return p
}

// ipLinkStats is `ip -s -j link` per interface: rx/tx -> field -> value.
func ipLinkStats(t *testing.T) map[string]map[string]map[string]uint64 {
	t.Helper()
	var links []struct {
		Name    string                       `json:"ifname"`
		Stats64 map[string]map[string]uint64 `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(run(t, "ip", "-s", "-j", "link", "show")), &links); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]uint64{}
	for _, l := range links {
		out[l.Name] = l.Stats64
	}
	return out
}

// ethtoolStats is `ethtool -S` of iface, folded as the agent folds it.
func ethtoolStats(t *testing.T, iface, driver string) map[[2]string]uint64 {
	t.Helper()
	out, err := exec.Command("ethtool", "-S", iface).CombinedOutput()
	if err != nil {
		return nil // no statistics (lo, bridges without ethtool support)
	}
	stats := map[[2]string]uint64{}
	for _, line := range strings.Split(string(out), "\n")[1:] {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			t.Fatalf("ethtool -S %s: %q", iface, line)
		}
		stat, queue := nic.Fold(driver, name)
		stats[[2]string{stat, queue}] = v
	}
	return stats
}

func driverOf(t *testing.T, iface string) string {
	out, err := exec.Command("ethtool", "-i", iface).Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(line, "driver: "); ok {
			return d
		}
	}
	return ""
}

var ipFields = map[string]string{
	"netlens_interface_packets_total": "packets",
	"netlens_interface_bytes_total":   "bytes",
	"netlens_interface_dropped_total": "dropped",
	"netlens_interface_errors_total":  "errors",
}

// On every interface of the machine the agent's interface counters lie
// between two `ip -s link` readings taken around the scrape, and on a veth
// pair that carried exactly 100 datagrams they equal the known count.
func TestInterfacesMatchIPLink(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip")
	p := newPair(t, "i", 1)
	ln, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.hostIP, 9999)))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const sent, payload = 100, 50
	if err := lab.InNetns(p.netns, func() error {
		return lab.SendUDP(netip.AddrPortFrom(p.hostIP, 9999), sent, payload)
	}); err != nil {
		t.Fatal(err)
	}

	a := startAgent(t)
	before := ipLinkStats(t)
	m := a.Metrics(t)
	after := ipLinkStats(t)
	checked := 0
	for iface, b := range before {
		for metric, field := range ipFields {
			for _, dir := range []string{"rx", "tx"} {
				got := m.Series(metric, map[string]string{"interface": iface, "direction": dir})
				if len(got) != 1 {
					t.Fatalf("%s{interface=%q,direction=%q}: %d series", metric, iface, dir, len(got))
				}
				lo, hi := b[dir][field], after[iface][dir][field]
				if v := uint64(got[0].Value); v < lo || v > hi {
					t.Errorf("%s{interface=%q,direction=%q} = %d, ip -s link said %d then %d", metric, iface, dir, v, lo, hi)
				}
				checked++
			}
		}
	}
	t.Logf("%d interface counters within ip -s link's readings", checked)

	want := map[string]uint64{"packets": sent, "bytes": sent * (14 + 20 + 8 + payload)}
	for metric, field := range ipFields {
		v := m.Sum(metric, map[string]string{"interface": p.host, "direction": "rx"})
		if uint64(v) != want[field] {
			t.Errorf("%s{interface=%q,direction=rx} = %v, want %d", metric, p.host, v, want[field])
		}
		if tx := m.Sum(metric, map[string]string{"interface": p.host, "direction": "tx"}); tx != 0 {
			t.Errorf("%s{interface=%q,direction=tx} = %v, want 0", metric, p.host, tx)
		}
	}
}

// With every statistic included, the agent exports exactly `ethtool -S`'s
// statistics, folded, with its values: equal on a quiet 4-queue veth, between
// two readings on the machine's own NIC, and under the driver `ethtool -i`
// names.
func TestNICMatchesEthtool(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip", "ethtool")
	p := newPair(t, "e", 4)
	a := startAgent(t, "--ethtool-include", ".")

	var ifaces []string
	for iface := range ipLinkStats(t) {
		ifaces = append(ifaces, iface)
	}
	drivers := map[string]string{}
	before := map[string]map[[2]string]uint64{}
	for _, iface := range ifaces {
		drivers[iface] = driverOf(t, iface)
		before[iface] = ethtoolStats(t, iface, drivers[iface])
	}
	m := a.Metrics(t)
	compared := 0
	for _, iface := range ifaces {
		after := ethtoolStats(t, iface, drivers[iface])
		got := m.Series("netlens_nic_stat_total", map[string]string{"interface": iface})
		if len(got) != len(after) {
			t.Errorf("%s: agent exports %d statistics, ethtool -S shows %d", iface, len(got), len(after))
		}
		for _, s := range got {
			k := [2]string{s.Labels["stat"], s.Labels["queue"]}
			lo, okB := before[iface][k]
			hi, okA := after[k]
			if !okB || !okA {
				t.Errorf("%s: agent exports %v, ethtool -S does not show it", iface, k)
				continue
			}
			if v := uint64(s.Value); v < lo || v > hi {
				t.Errorf("%s %v = %d, ethtool -S said %d then %d", iface, k, v, lo, hi)
			}
			if s.Labels["driver"] != drivers[iface] {
				t.Errorf("%s: driver %q, ethtool -i says %q", iface, s.Labels["driver"], drivers[iface])
			}
			compared++
		}
	}
	t.Logf("%d ethtool statistics compared over %d interfaces", compared, len(ifaces))
	if drivers[p.host] != "veth" {
		t.Fatalf("%s driver %q", p.host, drivers[p.host])
	}
	queues := map[string]bool{}
	for _, s := range m.Series("netlens_nic_stat_total", map[string]string{"interface": p.host}) {
		queues[s.Labels["queue"]] = true
	}
	if len(queues) != 5 { // "" and 0..3
		t.Fatalf("%s: queues %v, want device-wide plus 0 to 3", p.host, queues)
	}
	for _, iface := range ifaces {
		if n := len(m.Series("netlens_nic_rx_buffer_exhausted_total", map[string]string{"interface": iface})); n != 2 {
			t.Errorf("%s: %d buffer exhaustion counters, want the 2 generic ones", iface, n)
		}
	}
}

// Interfaces created and deleted between scrapes (pod churn) neither fail
// the collectors nor leave series behind.
func TestInterfaceChurn(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip", "ethtool")
	a := startAgent(t)
	for i := range 10 {
		name := fmt.Sprintf("nltc%d-%d", os.Getpid()%10000, i)
		run(t, "ip", "link", "add", name, "type", "veth", "peer", "name", name+"p")
		m := a.Metrics(t)
		if len(m.Series("netlens_interface_packets_total", map[string]string{"interface": name})) != 2 {
			t.Fatalf("%s not exported while it exists", name)
		}
		run(t, "ip", "link", "del", name)
		m = a.Metrics(t)
		for metric := range m {
			if strings.HasPrefix(metric, "netlens_interface_") || strings.HasPrefix(metric, "netlens_nic_") {
				if s := m.Series(metric, map[string]string{"interface": name}); len(s) != 0 {
					t.Fatalf("%s still has %s after deletion", name, metric)
				}
			}
		}
		for _, c := range []string{"interfaces", "nic"} {
			if up := m.Sum("netlens_agent_collector_up", map[string]string{"collector": c}); up != 1 {
				t.Fatalf("collector %s down after churn: %+v", c, a.Status(t).Collectors)
			}
		}
	}
}
