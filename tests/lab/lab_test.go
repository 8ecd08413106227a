package lab_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

func requireLab(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip", "ping", "iptables", "sysctl")
}

// Pods on the lab's bridge reach each other over IPv4 and IPv6.
func TestPodsReachEachOther(t *testing.T) {
	requireLab(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	if a.IPv4 == b.IPv4 || a.IPv6 == b.IPv6 {
		t.Fatalf("pods share an address: %v %v / %v %v", a.IPv4, b.IPv4, a.IPv6, b.IPv6)
	}
	for _, dst := range []string{b.IPv4.String(), b.IPv6.String()} {
		if out, err := a.Run("ping", "-c", "2", "-i", "0.2", "-W", "2", dst); err != nil {
			t.Fatalf("a cannot ping b at %s: %v\n%s", dst, err, out)
		}
	}
}

// An iptables rule in the node namespace acts as a network policy on bridged
// pod-to-pod traffic, and its packet counter is exact ground truth.
func TestIptablesRuleDropsBridgedTraffic(t *testing.T) {
	requireLab(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	l.MustNodeRun("iptables", "-I", "FORWARD", "-s", a.IPv4.String(), "-d", b.IPv4.String(),
		"-p", "icmp", "-j", "DROP", "-m", "comment", "--comment", "netlens-lab-deny")

	const sent = 5
	out, err := a.Run("ping", "-c", strconv.Itoa(sent), "-i", "0.2", "-W", "1", b.IPv4.String())
	if err == nil {
		t.Fatalf("ping passed a DROP rule:\n%s", out)
	}
	rules := l.MustNodeRun("iptables", "-L", "FORWARD", "-v", "-n", "-x")
	if got := ruleCount(t, rules, "netlens-lab-deny"); got != sent {
		t.Fatalf("deny rule counted %d packets, want %d:\n%s", got, sent, rules)
	}
	// The other direction is not denied.
	if out, err := b.Run("ping", "-c", "1", "-W", "2", a.IPv6.String()); err != nil {
		t.Fatalf("b -> a over IPv6 should pass: %v\n%s", err, out)
	}
}

// Do runs Go code inside the pod's namespace: the pod sees its own eth0 address.
func TestDoEntersPodNamespace(t *testing.T) {
	requireLab(t)
	l := lab.New(t)
	a := l.AddPod("a")
	var addrs string
	if err := a.Do(func() error {
		out, err := exec.Command("ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
		addrs = string(out)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(addrs, a.IPv4.String()+"/") {
		t.Fatalf("inside Do, eth0 lacks %s:\n%s", a.IPv4, addrs)
	}
	if _, err := os.Stat("/sys/class/net/veth-a"); err == nil {
		t.Fatal("the pod's host veth leaked into the test's own namespace")
	}
}

// TestMain leaves TestChildFailsWithLab out unless this binary runs as the
// child of TestTeardownAfterFailedTest: it fails on purpose. It is excluded
// with -test.skip, so that it does not show up as a skipped test.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("NETLENS_LAB_CHILD") != "1" {
		skip := "^TestChildFailsWithLab$"
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		if err := flag.Set("test.skip", skip); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// A lab whose test fails still leaves no namespace behind. The failing test runs
// in a child process (this test binary re-executed), so its failure is real.
func TestTeardownAfterFailedTest(t *testing.T) {
	requireLab(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildFailsWithLab$", "-test.v")
	cmd.Env = append(os.Environ(), "NETLENS_LAB_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--- FAIL: TestChildFailsWithLab") {
		t.Fatalf("child test should have failed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`lab prefix (\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("child did not report its lab:\n%s", out)
	}
	names, err := lab.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, m[1]) {
			t.Fatalf("namespace %s survived the failed test; all lab namespaces: %v", n, names)
		}
	}
}

// TestChildFailsWithLab is TestTeardownAfterFailedTest's failing test, run
// only in its child process (TestMain leaves it out of every other run).
func TestChildFailsWithLab(t *testing.T) {
	l := lab.New(t)
	l.AddPod("a")
	l.AddPod("b")
	fmt.Printf("lab prefix %s\n", l.Prefix)
	names, _ := lab.Namespaces()
	if !slices.Contains(names, l.NodeNetns) {
		t.Fatalf("node namespace %s was not created", l.NodeNetns)
	}
	t.Fatal("failing on purpose")
}

// Namespaces of a process that died without cleaning up are swept by the next lab.
func TestSweepRemovesStaleNamespaces(t *testing.T) {
	requireLab(t)
	// A pid that cannot be running: above the kernel's pid_max.
	stale := lab.NamePrefix + "4194305-1-node"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", stale).Run() })
	lab.Sweep(t)
	names, err := lab.Namespaces()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, stale) {
		t.Fatalf("stale namespace %s was not swept", stale)
	}
}

// ruleCount returns the packet counter of the iptables rule whose comment is comment.
func ruleCount(t *testing.T, listing, comment string) int {
	t.Helper()
	for _, line := range strings.Split(listing, "\n") {
		if strings.Contains(line, comment) {
			f := strings.Fields(line)
			n, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("bad iptables line %q", line)
			}
			return n
		}
	}
	t.Fatalf("no rule with comment %q in:\n%s", comment, listing)
	return 0
}
