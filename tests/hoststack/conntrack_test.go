package hoststack_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const conntrackMaxPath = "/proc/sys/net/netfilter/nf_conntrack_max"

// tableSize is the nf_conntrack_max the test sets: small enough to fill in
// well under a second, large enough that the lab's other traffic never matters.
const tableSize = 256

// trackIPv4 turns IPv4 connection tracking on in the pod (an nftables rule
// matching on ct state registers conntrack's hooks in that namespace) and
// exempts the agent's port, so scraping never needs a table slot.
func trackIPv4(t *testing.T, p *lab.Pod, agentPort string) {
	t.Helper()
	rules := fmt.Sprintf(`table ip nltest {
	chain raw_pre { type filter hook prerouting priority raw; tcp dport %[1]s notrack; tcp sport %[1]s notrack; }
	chain raw_out { type filter hook output priority raw; tcp dport %[1]s notrack; tcp sport %[1]s notrack; }
	chain in { type filter hook input priority filter; ct state invalid counter; }
}
`, agentPort)
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	p.MustRun("nft", "-f", f)
	if _, err := p.Run("test", "-e", "/proc/net/stat/nf_conntrack"); err != nil {
		testenv.NotRun(t, "conntrack-kernel", fmt.Sprintf("nf_conntrack did not load for an nftables ct rule (no /proc/net/stat/nf_conntrack in %s): this kernel has no connection tracking", p.Netns))
	}
}

// setConntrackMax sets nf_conntrack_max for the pod's namespace and restores
// it in t.Cleanup. Kernels with a per-namespace limit let the pod's namespace
// write it; on the others (including 6.18) the sysctl is read-only outside the
// initial namespace and global, so it is set there, briefly, for the whole
// machine: namespaces are held to it by their own entry count, and the host's
// own count is checked to be well below it first.
func setConntrackMax(t *testing.T, p *lab.Pod, n int) {
	t.Helper()
	val := strconv.Itoa(n)
	if _, err := p.Run("sh", "-c", "echo "+val+" > "+conntrackMaxPath); err == nil {
		t.Logf("nf_conntrack_max is per namespace on this kernel: set to %d in %s only", n, p.Netns)
		return
	}
	orig, err := os.ReadFile(conntrackMaxPath)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/sys/net/netfilter/nf_conntrack_count"); err == nil {
		if c, _ := strconv.Atoi(strings.TrimSpace(string(b))); c > n/2 {
			testenv.NotRun(t, "conntrack-host-busy", fmt.Sprintf("the test process's namespace tracks %d connections; lowering the global nf_conntrack_max to %d would drop its traffic", c, n))
		}
	}
	t.Cleanup(func() {
		if err := os.WriteFile(conntrackMaxPath, orig, 0o644); err != nil {
			t.Errorf("RESTORING nf_conntrack_max to %s FAILED: %v", strings.TrimSpace(string(orig)), err)
			return
		}
		if now, _ := os.ReadFile(conntrackMaxPath); string(now) != string(orig) {
			t.Errorf("nf_conntrack_max is %q after restoring %q", now, orig)
		}
	})
	if err := os.WriteFile(conntrackMaxPath, []byte(val), 0o644); err != nil {
		testenv.NotRun(t, "conntrack-max-readonly", fmt.Sprintf("nf_conntrack_max is read-only in the pod's namespace and cannot be written from the test's namespace either (%v); "+
			"the kernel only lets the initial network namespace change it, and this test does not run there", err))
	}
	t.Logf("nf_conntrack_max is global on this kernel: set to %d (was %s) for the test", n, strings.TrimSpace(string(orig)))
}

type ctState struct {
	stats        string
	count, limit float64
}

// checkConntrack compares the agent's conntrack series with the kernel's
// files at a quiescent moment and returns the kernel's column sums.
func checkConntrack(t *testing.T, a *agentproc.Agent, netns string) (map[string]float64, float64) {
	t.Helper()
	// The column sums of the quiescent state are those of quiescent's last
	// read, which equals the state it returns (not a re-read: other traffic
	// may move the counters again right after).
	var stats map[string]float64
	k, m := quiescent(t, a, func() ctState {
		s, c, l := kernelConntrack(t, netns)
		stats = s
		return ctState{flat(s), c, l}
	})
	collectorUp(t, m, "conntrack")
	if flat(stats) != k.stats {
		t.Fatalf("internal: the last read is not the quiescent state\n%s\n%s", k.stats, flat(stats))
	}
	for name, v := range stats {
		series := m.Series("netlens_conntrack_stat_total", map[string]string{"name": name})
		if name == "entries" {
			if len(series) != 0 {
				t.Errorf("entries exported as a counter")
			}
			continue
		}
		if len(series) != 1 || series[0].Value != v {
			t.Errorf("netlens_conntrack_stat_total{name=%q} = %v; the kernel's /proc/net/stat/nf_conntrack sums to %v", name, series, v)
		}
	}
	if n := len(m.Series("netlens_conntrack_stat_total", nil)); n != len(stats)-1 {
		t.Errorf("%d netlens_conntrack_stat_total series, the kernel has %d counter columns", n, len(stats)-1)
	}
	if got := m.Sum("netlens_conntrack_entries", nil); got != k.count {
		t.Errorf("netlens_conntrack_entries %v, kernel nf_conntrack_count %v", got, k.count)
	}
	if got := m.Sum("netlens_conntrack_limit", nil); got != k.limit {
		t.Errorf("netlens_conntrack_limit %v, kernel nf_conntrack_max %v", got, k.limit)
	}
	return stats, k.count
}

// The table fills with assured (established) TCP connections, which the
// kernel never evicts, so every new flow after that is refused: "drop" counts
// each one. The agent must report the kernel's sums, the table at its limit,
// and the limit the test set.
func TestConntrackTableFull(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	p := l.AddPod("ctfull")
	a := startIn(t, p.Netns)
	_, agentPort, _ := net.SplitHostPort(a.Addr)
	trackIPv4(t, p, agentPort)
	before, _, _ := kernelConntrack(t, p.Netns)

	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	keep := func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() }
	var ln net.Listener
	if err := p.Do(func() (err error) { ln, err = net.Listen("tcp4", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			keep(c)
		}
	}()

	setConntrackMax(t, p, tableSize)
	start := time.Now()
	err := p.Do(func() error {
		for i := range tableSize {
			c, err := net.DialTimeout("tcp4", ln.Addr().String(), 3*time.Second)
			if err != nil {
				return fmt.Errorf("connection %d of %d: %w", i+1, tableSize, err)
			}
			keep(c)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("filling the table: %v (something else holds entries in %s)", err, p.Netns)
	}
	if !waitFor(func() bool { _, c, _ := kernelConntrack(t, p.Netns); return c == tableSize }) {
		_, c, _ := kernelConntrack(t, p.Netns)
		t.Fatalf("nf_conntrack_count is %v after %d connections, want %d", c, tableSize, tableSize)
	}

	// New flows: UDP datagrams to distinct ports and TCP connects. Each needs
	// a table entry, none can get one.
	t.Logf("table filled in %v", time.Since(start).Round(time.Millisecond))
	const datagrams, connects = 300, 10
	refused := 0
	err = p.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for i := range datagrams {
			err := unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 40000 + i})
			if errors.Is(err, unix.EPERM) {
				refused++
			} else if err != nil {
				return err
			}
		}
		for i := range connects {
			c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", 41000+i), 50*time.Millisecond)
			if err == nil {
				c.Close()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if refused != datagrams {
		t.Errorf("%d of %d datagrams refused with EPERM, want all (table full of assured entries)", refused, datagrams)
	}

	t.Logf("flood sent after %v", time.Since(start).Round(time.Millisecond))
	stats, count := checkConntrack(t, a, p.Netns)
	t.Logf("compared after %v", time.Since(start).Round(time.Millisecond))
	drops := stats["drop"] - before["drop"]
	t.Logf("kernel: drop +%v, early_drop +%v, insert_failed +%v, entries %v of %d", drops, stats["early_drop"]-before["early_drop"], stats["insert_failed"]-before["insert_failed"], count, tableSize)
	if drops < datagrams+connects {
		t.Errorf("kernel drop rose by %v, want at least %d (one per datagram, one or more per connect)", drops, datagrams+connects)
	}
	if count != tableSize {
		t.Errorf("entries %v, want the table full at %d", count, tableSize)
	}
	if stats["early_drop"] != before["early_drop"] {
		t.Errorf("early_drop rose by %v; assured entries are never evicted", stats["early_drop"]-before["early_drop"])
	}
}

// The table fills with unassured UDP flows (no reply); the kernel then makes
// room for a new flow by evicting an unassured entry within 8 hash buckets of
// the new one's (early_drop) or, finding none, refuses it (drop). Which of the
// two happens to one flow is up to the hash; over thousands of flows both
// happen: with 256 entries in nf_conntrack_buckets (262144 here)
// one flow in about 128 finds an entry to evict, so about 45 of the 5744 flows
// past the limit do, and none doing so has a probability below 1e-19.
func TestConntrackEarlyDrop(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	p := l.AddPod("ctearly")
	a := startIn(t, p.Netns)
	_, agentPort, _ := net.SplitHostPort(a.Addr)
	trackIPv4(t, p, agentPort)
	before, _, _ := kernelConntrack(t, p.Netns)
	setConntrackMax(t, p, tableSize)

	const flows = 6000
	err := p.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		for i := range flows {
			err := unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 20000 + i})
			if err != nil && !errors.Is(err, unix.EPERM) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stats, count := checkConntrack(t, a, p.Netns)
	drops, early := stats["drop"]-before["drop"], stats["early_drop"]-before["early_drop"]
	t.Logf("kernel: drop +%v, early_drop +%v, entries %v of %d after %d new UDP flows", drops, early, count, tableSize, flows)
	if drops == 0 {
		t.Errorf("no conntrack drops after %d new flows into a table of %d", flows, tableSize)
	}
	if count > tableSize {
		t.Errorf("entries %v above the limit %d", count, tableSize)
	}
	if early == 0 {
		t.Errorf("early_drop stayed 0 after %d new UDP flows into a full table of %d unassured entries", flows, tableSize)
	}
}
