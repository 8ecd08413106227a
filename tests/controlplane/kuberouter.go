//go:build linux

package controlplane

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubeRouter is kube-router's NetworkPolicy controller and nothing else of
// it (no routing, service proxy or CNI): iptables and ipset rules that
// enforce the API server's NetworkPolicies on the pods whose status names
// this node's address as hostIP. A test component, pinned in
// scripts/build-controlplane.sh, never shipped: the module proxy lists
// security reports against the version, so it sees only lab traffic.
type KubeRouter struct {
	proc *process
}

// KubeRouterOptions configure StartKubeRouter.
type KubeRouterOptions struct {
	// Bin is the directory holding kube-router (BinDir).
	Bin string
	// Netns is the network namespace it programs (the lab's node).
	Netns string
	// Kubeconfig reaches the API server from inside Netns.
	Kubeconfig string
	// Node is the Node object whose InternalIP is this node's address.
	Node string
	// Log is the file its output goes to.
	Log string
}

// StartKubeRouter runs kube-router's firewall in opts.Netns; Stop ends it.
// Its rules and ipsets live in that namespace and go with it.
func StartKubeRouter(opts KubeRouterOptions) (*KubeRouter, error) {
	if _, err := exec.LookPath("ipset"); err != nil {
		return nil, fmt.Errorf("kube-router needs ipset (Debian's ipset): %w", err)
	}
	p, err := startProcess(opts.Log, "ip", "netns", "exec", opts.Netns, filepath.Join(opts.Bin, "kube-router"),
		"--kubeconfig="+opts.Kubeconfig, "--hostname-override="+opts.Node,
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-cni=false",
		"--health-port=0", "--metrics-port=0", "--v=1")
	if err != nil {
		return nil, err
	}
	return &KubeRouter{proc: p}, nil
}

// Exited reports whether kube-router has stopped.
func (k *KubeRouter) Exited() bool { return k.proc.exited() }

// Stop ends kube-router.
func (k *KubeRouter) Stop() { k.proc.stop() }

// RuleCounter sums the packet counters of the iptables rules in netns whose
// comment contains comment (kube-router names the policy or pod a rule is
// for in its comment): the enforcer's own count.
func RuleCounter(netns, comment string) (uint64, error) {
	out, err := exec.Command("ip", "netns", "exec", netns, "iptables-save", "-c").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("iptables-save in %s: %v: %s", netns, err, out)
	}
	var sum uint64
	for _, line := range strings.Split(string(out), "\n") {
		// [packets:bytes] -A CHAIN ... -m comment --comment "..." ...
		if !strings.HasPrefix(line, "[") || !strings.Contains(line, comment) {
			continue
		}
		var p, b uint64
		if _, err := fmt.Sscanf(line, "[%d:%d]", &p, &b); err != nil {
			return 0, fmt.Errorf("iptables-save line %q: %w", line, err)
		}
		sum += p
	}
	return sum, nil
}
