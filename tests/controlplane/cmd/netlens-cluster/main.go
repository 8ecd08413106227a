//go:build linux

// Command netlens-cluster gives scripts/run.sh --cluster its cluster-shaped
// stack: the tests' control plane (etcd and kube-apiserver), the Helm
// chart installed on it (the agent on this host then acts with the chart's
// ServiceAccount token), the demo's node and pods as Node and Pod objects,
// the demo's deny rule as a real NetworkPolicy, and kube-router's firewall
// enforcing it in the demo's node namespace. It writes the agent's kubeconfig
// and an administrator's, says "ready" once kube-router enforces the policy,
// and runs until SIGINT or SIGTERM, then stops everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/lab"
)

type options struct {
	dir, bin, repo       string
	netns, node          string
	nodeIP               netip.Addr
	namespace            string
	clientIP, serverIP   netip.Addr
	allowPort            int
	agentKubeconfig      string
	adminKubeconfig      string
	enforcementPatience  time.Duration
	releaseName, chartNS string
}

func main() {
	var o options
	var nodeIP, clientIP, serverIP string
	flag.StringVar(&o.dir, "dir", "", "directory for the control plane's data, certificates and logs (required)")
	flag.StringVar(&o.bin, "bin", "", "directory of kube-apiserver and kube-router (scripts/build-controlplane.sh; required)")
	flag.StringVar(&o.repo, "repo", ".", "the repository (its Helm chart is installed)")
	flag.StringVar(&o.netns, "netns", "", "the demo's node network namespace, where kube-router runs (required)")
	flag.StringVar(&o.node, "node", "", "the Node's name; the agent's --node-name (required)")
	flag.StringVar(&nodeIP, "node-ip", "", "the node's address in its namespace (required)")
	flag.StringVar(&o.namespace, "namespace", "netlens-demo", "the demo pods' namespace")
	flag.StringVar(&clientIP, "client-ip", "", "the client pod's address (required)")
	flag.StringVar(&serverIP, "server-ip", "", "the server pod's address (required)")
	flag.IntVar(&o.allowPort, "allow-port", 8080, "the one TCP port of the server the NetworkPolicy admits from the client")
	flag.StringVar(&o.agentKubeconfig, "agent-kubeconfig", "", "where to write the agent's kubeconfig (required)")
	flag.StringVar(&o.adminKubeconfig, "admin-kubeconfig", "", "where to write an administrator's kubeconfig (required)")
	flag.Parse()
	o.releaseName, o.chartNS, o.enforcementPatience = "netlens", "netlens", 2*time.Minute
	var err error
	for _, a := range []struct {
		s  string
		to *netip.Addr
	}{{nodeIP, &o.nodeIP}, {clientIP, &o.clientIP}, {serverIP, &o.serverIP}} {
		if *a.to, err = netip.ParseAddr(a.s); err != nil {
			log.Fatalf("netlens-cluster: bad address %q: %v", a.s, err)
		}
	}
	if o.dir == "" || o.bin == "" || o.netns == "" || o.node == "" || o.agentKubeconfig == "" || o.adminKubeconfig == "" {
		log.Fatal("netlens-cluster: -dir, -bin, -netns, -node, -agent-kubeconfig and -admin-kubeconfig are required")
	}
	if err := run(o); err != nil {
		log.Fatalf("netlens-cluster: %v", err)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cp, err := controlplane.Start(controlplane.Options{Dir: o.dir, Bin: o.bin})
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	defer cp.Stop()
	log.Printf("kube-apiserver at %s (logs in %s)", cp.URL, o.dir)
	if err := cp.WriteKubeconfig(o.adminKubeconfig, cp.AdminToken); err != nil {
		return err
	}

	if err := cp.RegisterNode(ctx, o.node, o.nodeIP); err != nil {
		return err
	}
	if err := cp.CreateNamespace(ctx, o.chartNS, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}); err != nil {
		return err
	}
	helm := exec.CommandContext(ctx, "helm", "--kubeconfig", o.adminKubeconfig, "install", o.releaseName,
		filepath.Join(o.repo, "deploy", "helm", "netlens"), "-n", o.chartNS)
	if out, err := helm.CombinedOutput(); err != nil {
		return fmt.Errorf("helm install: %v\n%s", err, out)
	}
	if err := cp.ServiceAccountKubeconfig(ctx, o.agentKubeconfig, o.chartNS, o.releaseName); err != nil {
		return err
	}

	if err := cp.CreateNamespace(ctx, o.namespace, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}); err != nil {
		return err
	}
	for name, ip := range map[string]netip.Addr{"client": o.clientIP, "server": o.serverIP} {
		if _, err := cp.RunPod(ctx, controlplane.PodSpec{Namespace: o.namespace, Name: name, Node: o.node, HostIP: o.nodeIP,
			IPs: []netip.Addr{ip}, Labels: map[string]string{"app": name}}); err != nil {
			return err
		}
	}
	port := intstr.FromInt32(int32(o.allowPort))
	tcp := corev1.ProtocolTCP
	policy := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "server-allow-client-http"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "server"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
	if _, err := cp.Admin.NetworkingV1().NetworkPolicies(o.namespace).Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		return err
	}

	fwd, err := lab.ForwardIntoNetns(o.netns, strings.TrimPrefix(cp.URL, "https://"))
	if err != nil {
		return err
	}
	defer fwd.Close()
	routerConfig := filepath.Join(o.dir, "kube-router.kubeconfig")
	if err := cp.WriteKubeconfigVia(routerConfig, "https://"+fwd.Addr, cp.AdminToken); err != nil {
		return err
	}
	kr, err := controlplane.StartKubeRouter(controlplane.KubeRouterOptions{Bin: o.bin, Netns: o.netns,
		Kubeconfig: routerConfig, Node: o.node, Log: filepath.Join(o.dir, "kube-router.log")})
	if err != nil {
		return err
	}
	defer kr.Stop()
	reject := fmt.Sprintf("rule to REJECT traffic destined for POD name:server namespace: %s", o.namespace)
	if err := waitEnforced(ctx, kr, o.netns, reject, o.enforcementPatience); err != nil {
		return err
	}
	fmt.Printf("ready: NetworkPolicy %s/%s enforced by kube-router\n", o.namespace, policy.Name)
	<-ctx.Done()
	return nil
}

// waitEnforced waits until kube-router has programmed the server pod's
// reject rule.
func waitEnforced(ctx context.Context, kr *controlplane.KubeRouter, netns, reject string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", netns, "iptables-save").Output()
		if err == nil && strings.Contains(string(out), reject) {
			return nil
		}
		if kr.Exited() {
			return errors.New("kube-router exited (its log is in the -dir directory)")
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("kube-router did not program %q within %v", reject, patience)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
