//go:build linux

package kubernetes

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	allowedPort = 8080
	deniedPort  = 7777
	// kube-router's rule that rejects what no policy admits names the pod.
	rejectComment = "rule to REJECT traffic destined for POD name:payments-0 namespace: billing"
)

// A real NetworkPolicy enforcer on the lab: kube-router's firewall, run in
// the lab's node namespace against the API server, enforces a default-deny
// ingress policy with one allow rule between the lab's pods. It drops
// exactly the denied flow (packets sent minus received), its own reject rule
// counts those packets, and Netlens counts exactly those drops for both
// pods, with the reason the kernel gives (NETFILTER_DROP).
func TestNetworkPolicyEnforcedByKubeRouter(t *testing.T) {
	ac := startAgentCluster(t, clusterOptions{noDenyRule: true})
	hostRulesBefore := hostKubeRouterState(t)

	forwarder := ac.lab.ForwardToHost(t, strings.TrimPrefix(ac.URL, "https://"))
	kubeconfig := filepath.Join(t.TempDir(), "kube-router.kubeconfig")
	if err := ac.WriteKubeconfigVia(kubeconfig, "https://"+forwarder, ac.AdminToken); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "kube-router.log")
	kr, err := controlplane.StartKubeRouter(controlplane.KubeRouterOptions{Bin: ac.bin, Netns: ac.lab.NodeNetns,
		Kubeconfig: kubeconfig, Node: node, Log: logPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kr.Stop()
		if t.Failed() {
			out, _ := exec.Command("tail", "-c", "6000", logPath).Output()
			t.Logf("kube-router log (tail):\n%s", out)
		}
	})

	received := map[int]*atomic.Uint64{allowedPort: {}, deniedPort: {}}
	for port, n := range received {
		ac.listenUDP(t, port, n)
	}
	sent := map[int]uint64{}
	send := func(port, n int) {
		t.Helper()
		if err := ac.client.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(ac.server.IPv4, uint16(port)), n, 100) }); err != nil {
			t.Fatal(err)
		}
		sent[port] += uint64(n)
	}
	// Before any policy, both flows pass.
	send(allowedPort, 10)
	send(deniedPort, 10)
	testenv.Eventually(t, "both flows to pass before any policy", func() bool {
		return received[allowedPort].Load() == 10 && received[deniedPort].Load() == 10
	})

	ac.applyPolicies(t)
	// The enforcer programs its rules some time after the policies exist:
	// one datagram at a time until one is rejected (each is either received
	// or counted by the reject rule, so no wait is guessed).
	waitFor(t, "kube-router to enforce the policies", func() bool {
		before := received[deniedPort].Load()
		send(deniedPort, 1)
		var rejected bool
		waitFor(t, "the probe to be received or rejected", func() bool {
			n, err := controlplane.RuleCounter(ac.lab.NodeNetns, rejectComment)
			if err != nil {
				t.Fatal(err)
			}
			rejected = n > 0
			return rejected || received[deniedPort].Load() > before
		})
		if kr.Exited() {
			t.Fatal("kube-router exited")
		}
		return rejected
	})

	send(deniedPort, 100)
	send(allowedPort, 100)
	testenv.Eventually(t, "the allowed flow's 100 datagrams to arrive", func() bool { return received[allowedPort].Load() == 110 })
	dropped := func() uint64 { return sent[deniedPort] - received[deniedPort].Load() }
	testenv.Eventually(t, "the enforcer's reject rule to count every denied datagram", func() bool {
		n, err := controlplane.RuleCounter(ac.lab.NodeNetns, rejectComment)
		if err != nil {
			t.Fatal(err)
		}
		return n == dropped()
	})
	if received[allowedPort].Load() != sent[allowedPort] {
		t.Errorf("the allowed flow lost %d datagrams", sent[allowedPort]-received[allowedPort].Load())
	}
	if dropped() < 101 {
		t.Fatalf("only %d datagrams of the denied flow were dropped, want at least 101", dropped())
	}
	testenv.Eventually(t, "Netlens to count exactly the enforcer's drops for both pods", func() bool {
		return ac.podDrops(t, ac.serverPod, "ingress") == float64(dropped()) && ac.podDrops(t, ac.clientPod, "egress") == float64(dropped())
	})
	if n, err := controlplane.RuleCounter(ac.lab.NodeNetns, "payments-allow-shop"); err != nil || n == 0 {
		t.Errorf("the allow policy's rules counted %d packets (%v), want the allowed flow", n, err)
	}
	t.Logf("sent %v, received allowed %d denied %d; kube-router rejected %d, Netlens counted %d",
		sent, received[allowedPort].Load(), received[deniedPort].Load(), dropped(), dropped())

	kr.Stop()
	if after := hostKubeRouterState(t); after != hostRulesBefore {
		t.Errorf("kube-router changed the host's own rules or ipsets:\nbefore: %s\nafter: %s", hostRulesBefore, after)
	}
}

// applyPolicies isolates the server's namespace for ingress and admits UDP
// to allowedPort from the shop namespace.
func (ac *agentCluster) applyPolicies(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	udp := udpPolicyPort(allowedPort)
	for _, p := range []*networkingv1.NetworkPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "default-deny-ingress"},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "payments-allow-shop"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "payments-0"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}}}},
					Ports: []networkingv1.NetworkPolicyPort{udp},
				}},
			}},
	} {
		if _, err := ac.Admin.NetworkingV1().NetworkPolicies("billing").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func udpPolicyPort(port int) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(int32(port))
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolUDP), Port: &p}
}

// listenUDP counts the datagrams the server pod receives on port.
func (ac *agentCluster) listenUDP(t *testing.T, port int, n *atomic.Uint64) {
	t.Helper()
	var c *net.UDPConn
	if err := ac.server.Do(func() (err error) {
		c, err = net.ListenUDP("udp", &net.UDPAddr{Port: port})
		if err == nil {
			err = c.SetReadBuffer(4 << 20)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFromUDP(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
}

// hostKubeRouterState is what kube-router would leave in the test's own
// namespace if it ran there: its chains and its ipsets.
func hostKubeRouterState(t *testing.T) string {
	t.Helper()
	var kept []string
	rules, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	sets, err := exec.Command("ipset", "list", "-n").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(rules)+string(sets), "\n") {
		if strings.Contains(l, "KUBE-") || strings.Contains(l, "kube-router") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
