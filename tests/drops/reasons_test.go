package drops_test

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
)

// snmp6 reads one counter of /proc/net/snmp6 in a namespace.
func snmp6(t *testing.T, run func(...string) (string, error), name string) uint64 {
	t.Helper()
	out, err := run("cat", "/proc/net/snmp6")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s in /proc/net/snmp6", name)
	return 0
}

// step measures one provoked drop: the agent's count for the pod series and
// the kernel's own SNMP counter must grow by the same, non-zero amount.
func step(t *testing.T, agent *agentproc.Agent, p *lab.Pod, direction, reason string, kernel func() uint64, provoke func()) {
	t.Helper()
	before := podDrops(agent.Metrics(t), podPackets, p, direction, reason)
	kBefore := kernel()
	provoke()
	want := float64(kernel() - kBefore)
	m := eventually(t, agent, func(m agentproc.Metrics) bool {
		return podDrops(m, podPackets, p, direction, reason)-before >= want
	})
	got := podDrops(m, podPackets, p, direction, reason) - before
	t.Logf("%s: agent +%v, kernel +%v", reason, got, want)
	if want == 0 {
		t.Fatalf("%s: the kernel counted no drop: the test did not provoke one", reason)
	}
	if got != want {
		t.Fatalf("%s of %s (%s): agent counted %v, the kernel %v", reason, p.Name, direction, got, want)
	}
}

// Drops other than policies, provoked on purpose, each with its own reason
// and the kernel's SNMP counter as ground truth: no listener (NO_SOCKET, v4
// and v6), a full socket receive buffer (SOCKET_RCVBUFF), a destination the
// node does not forward to (IP_INADDRERRORS), no route (IP_INNOROUTES), TTL
// expiring at the node (IP_INHDR).
func TestKernelReasonsMatchSNMP(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	agent := agentproc.Start(t, agentproc.DropFlags(t, lab.PodsFile(t, a, b))...)
	outside := netip.MustParseAddr("203.0.113.5")

	step(t, agent, b, "ingress", "NO_SOCKET",
		func() uint64 { return snmp(t, b.Run, "Udp", "NoPorts") + snmp6(t, b.Run, "Udp6NoPorts") },
		func() {
			if err := a.Do(func() error {
				if err := lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), 6, 50); err != nil {
					return err
				}
				return lab.SendUDP(netip.AddrPortFrom(b.IPv6, 9), 5, 50)
			}); err != nil {
				t.Fatal(err)
			}
		})

	// A receiver that never reads, with the smallest receive buffer.
	var rcv *net.UDPConn
	if err := b.Do(func() (err error) {
		rcv, err = net.ListenUDP("udp", &net.UDPAddr{Port: 5000})
		if err != nil {
			return err
		}
		return rcv.SetReadBuffer(1)
	}); err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	step(t, agent, b, "ingress", "SOCKET_RCVBUFF",
		func() uint64 { return snmp(t, b.Run, "Udp", "RcvbufErrors") },
		func() {
			if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 5000), 60, 1000) }); err != nil {
				t.Fatal(err)
			}
		})

	l.MustNodeRun("sysctl", "-q", "-w", "net.ipv4.ip_forward=0")
	step(t, agent, a, "egress", "IP_INADDRERRORS",
		func() uint64 { return snmp(t, l.NodeRun, "Ip", "InAddrErrors") },
		func() {
			if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(outside, 9), 4, 10) }); err != nil {
				t.Fatal(err)
			}
		})

	l.MustNodeRun("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	step(t, agent, a, "egress", "IP_INNOROUTES",
		func() uint64 { return netstat(t, l.NodeRun, "IpExt", "InNoRoutes") },
		func() {
			if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(outside, 9), 3, 10) }); err != nil {
				t.Fatal(err)
			}
		})

	l.MustNodeRun("ip", "route", "add", "203.0.113.0/24", "dev", "lo")
	step(t, agent, a, "egress", "IP_INHDR",
		func() uint64 { return snmp(t, l.NodeRun, "Ip", "InHdrErrors") },
		func() {
			if err := a.Do(func() error {
				c, err := net.ListenUDP("udp", nil)
				if err != nil {
					return err
				}
				defer c.Close()
				raw, err := c.SyscallConn()
				if err != nil {
					return err
				}
				var serr error
				if err := raw.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL, 1)
				}); err != nil {
					return err
				}
				if serr != nil {
					return serr
				}
				for range 5 {
					if _, err := c.WriteToUDPAddrPort([]byte("ttl"), netip.AddrPortFrom(outside, 9)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
}
