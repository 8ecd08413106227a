package hoststack_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// kernelSnmp6 reads /proc/net/snmp6 in the namespace: "Group/Name" -> value.
func kernelSnmp6(t *testing.T, netns string) map[string]float64 {
	t.Helper()
	re := regexp.MustCompile(`^(UdpLite6|Icmp6|Udp6|Ip6)(\S+)\s+(\d+)$`)
	out := map[string]float64{}
	for _, l := range strings.Split(readIn(t, netns, "/proc/net/snmp6"), "\n") {
		if m := re.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			v, _ := strconv.ParseFloat(m[3], 64)
			out[m[1]+"/"+m[2]] = v
		}
	}
	return out
}

// A listener with backlog 1 that never accepts, and 32 connects: the kernel
// drops the SYNs that find the accept queue full and counts them in TcpExt
// ListenOverflows and ListenDrops. The agent, running in the same namespace,
// must report exactly the kernel's counters.
func TestListenOverflow(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	p := l.AddPod("listen")
	if v := strings.TrimSpace(p.MustRun("sysctl", "-n", "net.ipv4.tcp_abort_on_overflow")); v != "0" {
		t.Fatalf("net.ipv4.tcp_abort_on_overflow is %s in a new namespace; the test needs 0 (overflowing SYNs dropped, not reset)", v)
	}
	a := startIn(t, p.Netns)
	overflows := func() [2]float64 {
		k := kernelNetstat(t, p.Netns)
		return [2]float64{k["TcpExt/ListenOverflows"], k["TcpExt/ListenDrops"]}
	}
	before, m := quiescent(t, a, overflows)
	if got := agentNetstat(m, "TcpExt", "ListenOverflows"); got != before[0] {
		t.Fatalf("before the test: agent ListenOverflows %v, kernel %v", got, before[0])
	}

	const clients = 32
	var fds []int
	closeAll := func() {
		for _, fd := range fds {
			_ = unix.Close(fd)
		}
		fds = nil
	}
	t.Cleanup(closeAll)
	err := p.Do(func() error {
		lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		fds = append(fds, lfd)
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		if err := unix.Listen(lfd, 1); err != nil {
			return err
		}
		sa, err := unix.Getsockname(lfd)
		if err != nil {
			return err
		}
		dst := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: sa.(*unix.SockaddrInet4).Port}
		for range clients {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
			if err := unix.Connect(fd, dst); err != nil && err != unix.EINPROGRESS {
				return fmt.Errorf("connect: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The accept queue holds backlog+1 = 2 connections; every other client's
	// SYN, and each of its retransmissions, overflows.
	if !waitFor(func() bool { return overflows()[0]-before[0] >= clients-2 }) {
		t.Fatalf("kernel ListenOverflows rose by %v in %v, want at least %d", overflows()[0]-before[0], testenv.Patience, clients-2)
	}
	closeAll()

	after, m := quiescent(t, a, overflows)
	collectorUp(t, m, "netstat")
	gotOverflows, gotDrops := agentNetstat(m, "TcpExt", "ListenOverflows"), agentNetstat(m, "TcpExt", "ListenDrops")
	t.Logf("kernel ListenOverflows %v -> %v, ListenDrops %v -> %v; agent %v, %v", before[0], after[0], before[1], after[1], gotOverflows, gotDrops)
	if gotOverflows != after[0] || gotDrops != after[1] {
		t.Errorf("agent ListenOverflows %v, ListenDrops %v; the kernel's /proc/net/netstat in %s says %v, %v", gotOverflows, gotDrops, p.Netns, after[0], after[1])
	}
	if after[0]-before[0] < clients-2 || gotOverflows-before[0] < clients-2 {
		t.Errorf("ListenOverflows rose by %v (agent %v), want at least %d", after[0]-before[0], gotOverflows-before[0], clients-2)
	}

	// Every allow-listed counter the kernel has is exported, between the
	// kernel's values read just before and just after the scrape (the scrape's
	// own loopback TCP connection may move some of them).
	k1 := kernelAll(t, p.Netns)
	m = a.Metrics(t)
	k2 := kernelAll(t, p.Netns)
	exported := 0
	for group, names := range collector.NetstatAllowList {
		for _, name := range names {
			key := group + "/" + name
			lo, inKernel := k1[key]
			got, exportedOK := agentNetstatOK(m, group, name)
			if inKernel != exportedOK {
				t.Errorf("%s: in the kernel's files %v, exported %v", key, inKernel, exportedOK)
				continue
			}
			if inKernel {
				exported++
				if got < lo || got > k2[key] {
					t.Errorf("%s: agent %v, kernel %v before and %v after the scrape", key, got, lo, k2[key])
				}
			}
		}
	}
	if n := len(m.Series("netlens_netstat_total", nil)); n != exported {
		t.Errorf("agent exports %d netstat series, want the %d allow-listed counters this kernel has", n, exported)
	}
}

func kernelAll(t *testing.T, netns string) map[string]float64 {
	k := kernelNetstat(t, netns)
	for key, v := range kernelSnmp6(t, netns) {
		k[key] = v
	}
	return k
}

func agentNetstat(m agentproc.Metrics, group, name string) float64 {
	v, _ := agentNetstatOK(m, group, name)
	return v
}

func agentNetstatOK(m agentproc.Metrics, group, name string) (float64, bool) {
	s := m.Series("netlens_netstat_total", map[string]string{"group": group, "name": name})
	if len(s) != 1 {
		return 0, false
	}
	return s[0].Value, true
}
