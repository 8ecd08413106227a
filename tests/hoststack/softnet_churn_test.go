package hoststack_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
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

// softnetShell parses /proc/net/softnet_stat with the shell's printf (hex to
// decimal), independently of the agent: one line per CPU of
// "cpu processed dropped time_squeeze flow_limit". The CPU is the index
// column where the kernel prints one (13 or more columns), else the row.
const softnetShell = `n=0
while read -r p d t c4 c5 c6 c7 c8 c9 c10 f c12 i rest; do
  cpu=$n; [ -n "$i" ] && cpu=$(printf %d "0x$i")
  printf '%d %d %d %d %d\n' "$cpu" "0x$p" "0x$d" "0x$t" "0x${f:-0}"
  n=$((n+1))
done < /proc/net/softnet_stat`

type softnetRow struct{ processed, dropped, squeeze, flow float64 }

func kernelSoftnet(t *testing.T) map[string]softnetRow {
	t.Helper()
	out, err := exec.Command("sh", "-c", softnetShell).Output()
	if err != nil {
		t.Fatalf("parsing /proc/net/softnet_stat in sh: %v", err)
	}
	rows := map[string]softnetRow{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) != 5 {
			t.Fatalf("sh softnet line %q", l)
		}
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[i+1], 64)
		}
		rows[f[0]] = softnetRow{v[0], v[1], v[2], v[3]}
	}
	return rows
}

// The agent's per-CPU softnet counters equal /proc/net/softnet_stat as the
// shell reads it. dropped, time_squeeze and flow_limit are compared at a
// quiescent moment; processed moves with every packet the host receives, so
// it must lie between the kernel's values just before and just after the scrape.
func TestSoftnetMatchesKernel(t *testing.T) {
	requirePrivileges(t)
	a := agentproc.Start(t, isolated...)
	checkSoftnet(t, a)
}

// Backlog overflow, made on purpose. A broadcast into the lab's bridge is
// flooded to every pod's veth within one softirq, so each one enqueues a
// packet per pod on this CPU's backlog at once; with the machine-wide
// net.core.netdev_max_backlog lowered to 2 for the burst (and restored right
// after: a moment's limit that only bursts of more than two packets in one
// softirq reach), most of them overflow it. The softnet "dropped" column
// rises, and the agent reports the kernel's per-CPU values exactly.
func TestSoftnetBacklogDrops(t *testing.T) {
	requirePrivileges(t)
	a := agentproc.Start(t, isolated...)
	l := lab.New(t)
	var pods []*lab.Pod
	for i := range 12 {
		pods = append(pods, l.AddPod(fmt.Sprintf("b%d", i)))
	}
	// The subnet's broadcast address: the last one of the lab's /24.
	b := l.Subnet4.Addr().As4()
	b[3] = 255
	dst := &unix.SockaddrInet4{Addr: b, Port: 9}
	const broadcasts = 100

	droppedSum := func() (n float64) {
		for _, r := range kernelSoftnet(t) {
			n += r.dropped
		}
		return n
	}
	before := droppedSum()
	restore := setBacklog(t, 2)
	err := pods[0].Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return err
		}
		for range broadcasts {
			if err := unix.Sendto(fd, []byte("backlog"), 0, dst); err != nil {
				return err
			}
		}
		return nil
	})
	restore()
	if err != nil {
		t.Fatal(err)
	}
	dropped := droppedSum() - before
	t.Logf("%d broadcasts to %d pods: the backlog dropped %v packets", broadcasts, len(pods)-1, dropped)
	// Each flood enqueues 11 packets at once and the backlog takes 3 (a queue
	// of up to 2, plus one): at least one drop per broadcast.
	if dropped < broadcasts {
		t.Fatalf("the backlog dropped %v packets for %d floods of %d packets each into a limit of 2", dropped, broadcasts, len(pods)-1)
	}
	checkSoftnet(t, a)
}

// setBacklog sets net.core.netdev_max_backlog to n and returns a function that
// restores it (also run at cleanup, checked).
func setBacklog(t *testing.T, n int) func() {
	t.Helper()
	const path = "/proc/sys/net/core/netdev_max_backlog"
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	restore := func() {
		once.Do(func() {
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Errorf("RESTORING netdev_max_backlog to %s FAILED: %v", strings.TrimSpace(string(orig)), err)
			}
		})
	}
	t.Cleanup(restore)
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	return restore
}

// checkSoftnet compares the agent's softnet series with the kernel's, per CPU.
func checkSoftnet(t *testing.T, a *agentproc.Agent) {
	t.Helper()
	dropsOnly := func() string {
		var b strings.Builder
		k := kernelSoftnet(t)
		cpus := make([]string, 0, len(k))
		for c := range k {
			cpus = append(cpus, c)
		}
		slices.Sort(cpus)
		for _, c := range cpus {
			fmt.Fprintf(&b, "%s %v %v %v\n", c, k[c].dropped, k[c].squeeze, k[c].flow)
		}
		return b.String()
	}
	_, _ = quiescent(t, a, dropsOnly)
	for deadline := time.Now().Add(testenv.Patience); ; {
		k1 := kernelSoftnet(t)
		m := a.Metrics(t)
		k2 := kernelSoftnet(t)
		if dropsOnly := func(k map[string]softnetRow) bool {
			for c := range k1 {
				r1, r2 := k1[c], k2[c]
				if r1.dropped != r2.dropped || r1.squeeze != r2.squeeze || r1.flow != r2.flow {
					return false
				}
			}
			return true
		}; !dropsOnly(k1) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		collectorUp(t, m, "softnet")
		for cpu, r1 := range k1 {
			r2 := k2[cpu]
			lbl := map[string]string{"cpu": cpu}
			check := func(metric string, want float64) {
				s := m.Series(metric, lbl)
				if len(s) != 1 || s[0].Value != want {
					t.Errorf("%s{cpu=%q} = %v, kernel %v", metric, cpu, s, want)
				}
			}
			check("netlens_softnet_dropped_total", r1.dropped)
			check("netlens_softnet_time_squeeze_total", r1.squeeze)
			check("netlens_softnet_flow_limit_total", r1.flow)
			if s := m.Series("netlens_softnet_processed_total", lbl); len(s) != 1 || s[0].Value < r1.processed || s[0].Value > r2.processed {
				t.Errorf("netlens_softnet_processed_total{cpu=%q} = %v, kernel %v before and %v after", cpu, s, r1.processed, r2.processed)
			}
		}
		for _, metric := range []string{"netlens_softnet_processed_total", "netlens_softnet_dropped_total", "netlens_softnet_time_squeeze_total", "netlens_softnet_flow_limit_total"} {
			if n := len(m.Series(metric, nil)); n != len(k1) {
				t.Errorf("%s has %d series, the kernel %d CPUs", metric, n, len(k1))
			}
		}
		return
	}
}

// Pods come and go while the agent, in the lab's node namespace, is scraped
// without pause: every scrape succeeds with the host stack collectors up, the
// series they export stay the same set, the agent's open files do not grow,
// and the pods' own counters (each pod makes a Udp NoPorts) never show up in
// the node namespace's figures.
func TestPodChurn(t *testing.T) {
	requirePrivileges(t)
	l := lab.New(t)
	a := startIn(t, l.NodeNetns)
	nodeNoPorts := func() float64 { return kernelNetstat(t, l.NodeNetns)["Udp/NoPorts"] }
	_, first := quiescent(t, a, nodeNoPorts)
	seriesSet := func(m agentproc.Metrics) string {
		var keys []string
		for _, name := range []string{"netlens_netstat_total", "netlens_softnet_dropped_total", "netlens_conntrack_stat_total", "netlens_conntrack_entries"} {
			for _, s := range m.Series(name, nil) {
				keys = append(keys, fmt.Sprint(name, s.Labels))
			}
		}
		slices.Sort(keys)
		return strings.Join(keys, "\n")
	}
	wantSet := seriesSet(first)
	a.CloseIdleConnections()
	fdsBefore := openFiles(t, a.PID())

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var scrapes int
	var problems []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			m, err := a.Scrape()
			mu.Lock()
			scrapes++
			switch {
			case err != nil:
				problems = append(problems, err.Error())
			case seriesSet(m) != wantSet:
				problems = append(problems, "series set changed:\n"+seriesSet(m))
			default:
				for _, c := range []string{"netstat", "softnet", "conntrack"} {
					if s := m.Series("netlens_agent_collector_up", map[string]string{"collector": c}); len(s) != 1 || s[0].Value != 1 {
						problems = append(problems, "collector "+c+" down")
					}
				}
			}
			mu.Unlock()
		}
	}()

	const pods = 12
	var churned []string
	for i := range pods {
		p := l.AddPod(fmt.Sprintf("churn%d", i))
		churned = append(churned, p.Netns)
		// A datagram to a closed port: the pod's Udp NoPorts, not the node's.
		if err := p.Do(func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Sendto(fd, []byte("x"), 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 9})
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run("ping", "-c", "1", "-W", "1", l.Gateway4.String()); err != nil {
			t.Logf("ping from %s: %v", p.Name, err)
		}
		if k := kernelNetstat(t, p.Netns)["Udp/NoPorts"]; k != 1 {
			t.Errorf("pod %s Udp NoPorts %v, want 1", p.Name, k)
		}
		if out, err := exec.Command("ip", "netns", "delete", p.Netns).CombinedOutput(); err != nil {
			t.Fatalf("deleting %s: %v %s", p.Netns, err, out)
		}
	}
	close(stop)
	wg.Wait()

	mu.Lock()
	t.Logf("%d scrapes during the churn of %d pods", scrapes, pods)
	if len(problems) > 0 {
		t.Errorf("%d of %d scrapes went wrong; first: %s", len(problems), scrapes, problems[0])
	}
	mu.Unlock()
	if scrapes < pods {
		t.Errorf("only %d scrapes ran while %d pods came and went", scrapes, pods)
	}

	node, last := quiescent(t, a, nodeNoPorts)
	if got := agentNetstat(last, "Udp", "NoPorts"); got != node {
		t.Errorf("agent Udp NoPorts %v, the node namespace's kernel %v (the pods' %d must not count)", got, node, pods)
	}
	// The agent closes its side of the connections the test just closed.
	a.CloseIdleConnections()
	fdsAfter := openFiles(t, a.PID())
	if !waitFor(func() bool { fdsAfter = openFiles(t, a.PID()); return fdsAfter <= fdsBefore+2 }) {
		t.Errorf("agent open files %d before the churn, %d after", fdsBefore, fdsAfter)
	}
	left, err := lab.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range churned {
		if slices.Contains(left, n) {
			t.Errorf("namespace %s still exists", n)
		}
	}
}

func openFiles(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
