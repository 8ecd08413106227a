//go:build linux

// Package lab builds a small Kubernetes-like node out of Linux network
// namespaces, for tests that need real packets: a "node" namespace holding a
// bridge (bridge netfilter on, so iptables/nftables rules act as network
// policies on pod-to-pod traffic) and one namespace per "pod", each joined to
// the bridge by a veth pair, with IPv4 and IPv6 addresses.
//
// Everything a lab creates lives inside namespaces whose names start with
// "nllab-<pid>-", so deleting those namespaces removes every interface, address
// and rule with them. Labs are torn down by t.Cleanup even when the test fails,
// and New sweeps namespaces left by test processes that died (timeouts, kill).
//
// A lab needs root and iproute2; call testenv.RequireRoot first.
package lab

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// NamePrefix starts the name of every namespace a lab creates.
const NamePrefix = "nllab-"

var labSeq atomic.Uint32

// Lab is one node with its pods.
type Lab struct {
	t testing.TB
	// Prefix is the common start of this lab's namespace names.
	Prefix string
	// NodeNetns is the namespace holding the bridge; it plays the node's root namespace.
	NodeNetns string
	// Bridge is the bridge's name inside NodeNetns.
	Bridge string
	// Subnet4 and Subnet6 are the pod networks; the node owns the first address of each.
	Subnet4, Subnet6 netip.Prefix
	// Gateway4 and Gateway6 are the node's addresses on the bridge.
	Gateway4, Gateway6 netip.Addr

	mu     sync.Mutex
	pods   []*Pod
	closed bool
}

// Pod is a network namespace attached to the lab's bridge.
type Pod struct {
	// Name is the pod's short name, unique in its lab.
	Name string
	// Netns is the pod's network namespace name (under /run/netns).
	Netns string
	// IPv4 and IPv6 are the pod's addresses on eth0.
	IPv4, IPv6 netip.Addr
	// HostVeth is the node-side end of the pod's veth pair (inside the node namespace).
	HostVeth string

	lab *Lab
}

// New creates a node namespace with a bridge and registers its teardown with t.Cleanup.
func New(t testing.TB) *Lab {
	t.Helper()
	Sweep(t)
	seq := labSeq.Add(1)
	pid := os.Getpid()
	prefix := fmt.Sprintf("%s%d-%d-", NamePrefix, pid, seq)
	// Distinct subnets per lab and process, so addresses identify one lab's pods
	// even to a host-wide observer such as the eBPF drop tracepoint.
	third, fourthWord := int(seq%256), pid%65536
	second := 64 + pid%64
	l := &Lab{
		t:         t,
		Prefix:    prefix,
		NodeNetns: prefix + "node",
		Bridge:    "br0",
		Subnet4:   netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", second, third)),
		Subnet6:   netip.MustParsePrefix(fmt.Sprintf("fd6e:6c%02x:%x:%x::/64", seq%256, fourthWord, seq)),
	}
	l.Gateway4 = l.Subnet4.Addr().Next()
	l.Gateway6 = l.Subnet6.Addr().Next()
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab teardown: %v", err)
		}
	})

	l.must("ip", "netns", "add", l.NodeNetns)
	l.must(l.nodeCmd("ip", "link", "set", "lo", "up")...)
	l.must(l.nodeCmd("ip", "link", "add", l.Bridge, "type", "bridge")...)
	l.must(l.nodeCmd("ip", "addr", "add", prefixString(l.Gateway4, l.Subnet4), "dev", l.Bridge)...)
	l.must(l.nodeCmd("ip", "addr", "add", prefixString(l.Gateway6, l.Subnet6), "dev", l.Bridge, "nodad")...)
	l.must(l.nodeCmd("ip", "link", "set", l.Bridge, "up")...)
	// Policies on bridged pod-to-pod traffic need bridge netfilter in this namespace.
	for _, k := range []string{"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"} {
		l.must(l.nodeCmd("sysctl", "-q", "-w", k+"=1")...)
	}
	return l
}

// AddPod creates a pod namespace named name (at most 10 characters), joins it to
// the bridge and gives it the next free IPv4 and IPv6 addresses.
func (l *Lab) AddPod(name string) *Pod {
	l.t.Helper()
	if len(name) == 0 || len(name) > 10 || strings.ContainsAny(name, "/ \t") {
		l.t.Fatalf("lab: bad pod name %q (1-10 characters, no spaces or slashes)", name)
	}
	l.mu.Lock()
	n := len(l.pods)
	for _, p := range l.pods {
		if p.Name == name {
			l.mu.Unlock()
			l.t.Fatalf("lab: pod %q exists", name)
		}
	}
	p := &Pod{Name: name, Netns: l.Prefix + name, HostVeth: "veth-" + name, lab: l}
	l.pods = append(l.pods, p)
	l.mu.Unlock()

	// .1 is the gateway, pods start at .2.
	p.IPv4 = nthAddr(l.Subnet4.Addr(), n+2)
	p.IPv6 = nthAddr(l.Subnet6.Addr(), n+2)

	l.must("ip", "netns", "add", p.Netns)
	l.must(l.nodeCmd("ip", "link", "add", p.HostVeth, "type", "veth", "peer", "name", "eth0", "netns", p.Netns)...)
	l.must(l.nodeCmd("ip", "link", "set", p.HostVeth, "master", l.Bridge, "up")...)
	l.must(p.cmd("ip", "link", "set", "lo", "up")...)
	l.must(p.cmd("ip", "addr", "add", prefixString(p.IPv4, l.Subnet4), "dev", "eth0")...)
	l.must(p.cmd("ip", "addr", "add", prefixString(p.IPv6, l.Subnet6), "dev", "eth0", "nodad")...)
	l.must(p.cmd("ip", "link", "set", "eth0", "up")...)
	l.must(p.cmd("ip", "route", "add", "default", "via", l.Gateway4.String())...)
	l.must(p.cmd("ip", "-6", "route", "add", "default", "via", l.Gateway6.String())...)
	return p
}

// Pods returns the lab's pods in creation order.
func (l *Lab) Pods() []*Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Pod(nil), l.pods...)
}

// NodeRun runs a command in the node namespace and returns its combined output.
func (l *Lab) NodeRun(args ...string) (string, error) {
	return run(l.nodeCmd(args...)...)
}

// MustNodeRun is NodeRun that fails the test on error.
func (l *Lab) MustNodeRun(args ...string) string {
	l.t.Helper()
	return l.must(l.nodeCmd(args...)...)
}

// Run runs a command inside the pod's namespace and returns its combined output.
func (p *Pod) Run(args ...string) (string, error) {
	return run(p.cmd(args...)...)
}

// MustRun is Run that fails the test on error.
func (p *Pod) MustRun(args ...string) string {
	p.lab.t.Helper()
	return p.lab.must(p.cmd(args...)...)
}

// Do runs fn on an OS thread that has entered the pod's network namespace, so
// sockets fn opens belong to the pod. It returns fn's error.
func (p *Pod) Do(fn func() error) error {
	return inNetns(p.Netns, fn)
}

// Close deletes every namespace of the lab. It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []string
	for _, p := range l.pods {
		if err := deleteNetns(p.Netns); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := deleteNetns(l.NodeNetns); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Sweep deletes lab namespaces left by test processes that no longer run.
func Sweep(t testing.TB) {
	t.Helper()
	names, err := Namespaces()
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	for _, n := range names {
		pid, ok := ownerPID(n)
		if !ok || processAlive(pid) {
			continue
		}
		if err := deleteNetns(n); err != nil {
			t.Logf("lab: sweeping stale namespace %s: %v", n, err)
		}
	}
}

// Namespaces lists every lab namespace on the machine (any process's).
func Namespaces() ([]string, error) {
	entries, err := os.ReadDir("/run/netns")
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing /run/netns: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), NamePrefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (l *Lab) nodeCmd(args ...string) []string {
	return append([]string{"ip", "netns", "exec", l.NodeNetns}, args...)
}

func (p *Pod) cmd(args ...string) []string {
	return append([]string{"ip", "netns", "exec", p.Netns}, args...)
}

func (l *Lab) must(args ...string) string {
	l.t.Helper()
	out, err := run(args...)
	if err != nil {
		l.t.Fatalf("lab: %v", err)
	}
	return out
}

func run(args ...string) (string, error) {
	var b bytes.Buffer
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return b.String(), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(b.String()))
	}
	return b.String(), nil
}

func deleteNetns(name string) error {
	if _, err := os.Stat("/run/netns/" + name); os.IsNotExist(err) {
		return nil
	}
	_, err := run("ip", "netns", "delete", name)
	return err
}

func ownerPID(netns string) (int, bool) {
	rest := strings.TrimPrefix(netns, NamePrefix)
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}

func prefixString(a netip.Addr, p netip.Prefix) string {
	return netip.PrefixFrom(a, p.Bits()).String()
}

func nthAddr(base netip.Addr, n int) netip.Addr {
	a := base
	for range n {
		a = a.Next()
	}
	return a
}

func inNetns(name string, fn func() error) error {
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		return fmt.Errorf("opening namespace %s: %w", name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is left locked (and so discarded when the goroutine ends)
		// unless it returns to its original namespace.
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering namespace %s: %w", name, err)
			return
		}
		fnErr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- fnErr
	}()
	return <-errc
}
