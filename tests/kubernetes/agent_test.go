//go:build linux

package kubernetes

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	// node is the lab's node: its Node object, the agent's --node-name.
	node = "lab-node"
	// agentUser is the chart's ServiceAccount as the API server names it.
	agentUser  = "system:serviceaccount:" + namespace + ":" + release
	denyPort   = 7000
	denyRule   = "nl-k8s-deny"
	dropReason = "NETFILTER_DROP"
)

// agentCluster is a control plane with the chart's RBAC installed, a lab
// node whose pods are Pod objects, an iptables rule dropping the client's
// UDP to the server, and the agent watching the node's pods with the chart's
// ServiceAccount token.
type agentCluster struct {
	*cluster
	lab            *lab.Lab
	client, server *lab.Pod
	// clientPod and serverPod are their Pod objects.
	clientPod, serverPod *corev1.Pod
	agent                *agentproc.Agent
	kubeconfig           string
	audit                *auditLog
}

// clusterOptions change startAgentCluster's setup.
type clusterOptions struct {
	// noDenyRule leaves the client's traffic to NetworkPolicies.
	noDenyRule bool
	// inCluster runs the agent as in a pod: no --kubeconfig, the API server
	// from KUBERNETES_SERVICE_HOST and _PORT, the ServiceAccount's token and
	// CA where the kubelet mounts them (inClusterAgent).
	inCluster bool
}

func startAgentCluster(t *testing.T, opts clusterOptions) *agentCluster {
	t.Helper()
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "iptables")
	audit := newAuditLog(t, agentUser)
	c := newCluster(t, audit.flags()...)
	ctx := context.Background()
	if err := c.CreateNamespace(ctx, namespace, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}); err != nil {
		t.Fatal(err)
	}
	// The chart's ServiceAccount, ClusterRole and binding, as installed.
	c.mustHelm("install", release, chart, "-n", namespace)
	ac := &agentCluster{cluster: c, audit: audit, kubeconfig: filepath.Join(t.TempDir(), "agent.kubeconfig")}
	if err := c.ServiceAccountKubeconfig(ctx, ac.kubeconfig, namespace, release); err != nil {
		t.Fatal(err)
	}

	ac.lab = lab.New(t)
	ac.client, ac.server = ac.lab.AddPod("client"), ac.lab.AddPod("server")
	if err := c.RegisterNode(ctx, node, ac.lab.Gateway4); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"shop", "billing"} {
		if err := c.CreateNamespace(ctx, ns, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}); err != nil {
			t.Fatal(err)
		}
	}
	rs := ac.deploymentReplicaSet(t, "shop", "web")
	var err error
	ac.clientPod, err = c.RunPod(ctx, ac.podSpec("shop", "web-5f7c9-abcde", ac.client, &metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}))
	if err != nil {
		t.Fatal(err)
	}
	ac.serverPod = ac.runServer(t, "billing", "payments-0")
	ac.cronJobPod(t, "shop", "nightly")
	if !opts.noDenyRule {
		ac.lab.MustNodeRun("iptables", "-I", "FORWARD", "-s", ac.client.IPv4.String(), "-d", ac.server.IPv4.String(),
			"-p", "udp", "--dport", fmt.Sprint(denyPort), "-m", "comment", "--comment", denyRule, "-j", "DROP")
	}

	if opts.inCluster {
		ac.agent = agentproc.StartWith(t, agentproc.Options{Binary: ac.inClusterAgent(t)}, append([]string{"--node-name", node}, agentproc.StateFlags(t)...)...)
	} else {
		ac.agent = agentproc.Start(t, append([]string{"--kubeconfig", ac.kubeconfig, "--node-name", node}, agentproc.StateFlags(t)...)...)
	}
	testenv.Eventually(t, "the agent to list its node's pods", func() bool {
		st := ac.agent.Status(t)
		return st.Metadata == "kubernetes:node="+node && st.MetaError == ""
	})
	return ac
}

func (ac *agentCluster) podSpec(ns, name string, p *lab.Pod, owner *metav1.OwnerReference) controlplane.PodSpec {
	return controlplane.PodSpec{Namespace: ns, Name: name, Node: node, HostIP: ac.lab.Gateway4,
		IPs: []netip.Addr{p.IPv4, p.IPv6}, Owner: owner, Labels: map[string]string{"app": name}}
}

// runServer runs the server lab pod's Pod object under name, owned by a
// StatefulSet named after the namespace's workload.
func (ac *agentCluster) runServer(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := ac.RunPod(context.Background(), ac.podSpec(ns, name, ac.server, &metav1.OwnerReference{
		APIVersion: "apps/v1", Kind: "StatefulSet", Name: "payments", UID: types.UID("statefulset-payments"), Controller: ptr.To(true)}))
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// deploymentReplicaSet creates a Deployment and the ReplicaSet its
// controller would, so that the agent names the pod's workload through the
// ReplicaSet it watches.
func (ac *agentCluster) deploymentReplicaSet(t *testing.T, ns, name string) *appsv1.ReplicaSet {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": name}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: controlplane.PauseSpec()}
	d, err := ac.Admin.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ac.Admin.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name + "-5f7c9",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// cronJobPod runs a pod of a Job a CronJob made, on the node (no lab
// namespace behind it): the agent gets the Job to name the pod's workload.
func (ac *agentCluster) cronJobPod(t *testing.T, ns, cronJob string) {
	t.Helper()
	ctx := context.Background()
	spec := controlplane.PauseSpec()
	spec.RestartPolicy = corev1.RestartPolicyNever
	job, err := ac.Admin.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: cronJob + "-29000000",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cronJob, UID: types.UID("cronjob-" + cronJob), Controller: ptr.To(true)}}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.RunPod(ctx, controlplane.PodSpec{Namespace: ns, Name: job.Name + "-x7k2p", Node: node, HostIP: ac.lab.Gateway4,
		Owner: &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}); err != nil {
		t.Fatal(err)
	}
}

// send sends n datagrams from the client to the server's denied port.
func (ac *agentCluster) send(t *testing.T, n int) {
	t.Helper()
	if err := ac.client.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(ac.server.IPv4, denyPort), n, 100) }); err != nil {
		t.Fatal(err)
	}
}

// denied is the rule's counter: the packets the kernel dropped.
func (ac *agentCluster) denied(t *testing.T) uint64 {
	t.Helper()
	p, _ := ac.lab.RuleCounter(t, "iptables", denyRule)
	return p
}

// podDrops is the agent's count of the rule's drops for one pod and direction.
func (ac *agentCluster) podDrops(t *testing.T, pod *corev1.Pod, direction string) float64 {
	t.Helper()
	return ac.agent.Metrics(t).Sum("netlens_pod_drop_packets_total", map[string]string{
		"namespace": pod.Namespace, "pod": pod.Name, "direction": direction, "reason": dropReason})
}

// inClusterAgent writes a wrapper that runs the agent as it runs in a pod:
// in a mount namespace of its own where /run/secrets/kubernetes.io/
// serviceaccount holds a token the API server issued for the chart's
// ServiceAccount, its CA and namespace (what the kubelet projects), with
// KUBERNETES_SERVICE_HOST and _PORT set, and no --kubeconfig.
func (ac *agentCluster) inClusterAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sa := filepath.Join(dir, "run", "secrets", "kubernetes.io", "serviceaccount")
	if err := os.MkdirAll(sa, 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(ac.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"token": []byte(ac.serviceAccountToken(t)), "ca.crt": ca, "namespace": []byte(namespace)} {
		if err := os.WriteFile(filepath.Join(sa, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(ac.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The lab's named network namespaces stay visible under /run/netns
	// (the agent names drops' namespaces from them).
	script := fmt.Sprintf(`#!/bin/sh
exec unshare --mount --propagation private sh -ec '
mkdir -p %[1]q/run/netns
mount --rbind /run/netns %[1]q/run/netns
mount --rbind %[1]q/run /run
exec env KUBERNETES_SERVICE_HOST=%[2]s KUBERNETES_SERVICE_PORT=%[3]s %[4]q "$@"' sh "$@"
`, dir, u.Hostname(), u.Port(), agentproc.Binary(t))
	wrapper := filepath.Join(dir, "netlens-agent-in-cluster")
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return wrapper
}

// The agent against a real API server, with the chart's ServiceAccount:
// drops between lab pods are named by the Pod objects whose status carries
// the lab's addresses (workloads through the ReplicaSet the agent watches),
// exactly as many as the rule counted. With a kubeconfig, and configured as
// in a pod.
func TestAgentNamesDropsByPodObjects(t *testing.T) {
	for _, inCluster := range []bool{false, true} {
		t.Run(map[bool]string{false: "kubeconfig", true: "in-cluster"}[inCluster], func(t *testing.T) {
			testAgentNamesDropsByPodObjects(t, clusterOptions{inCluster: inCluster})
		})
	}
}

func testAgentNamesDropsByPodObjects(t *testing.T, opts clusterOptions) {
	ac := startAgentCluster(t, opts)
	ac.send(t, 50)
	testenv.Eventually(t, "the agent to count the client's 50 drops as the rule did", func() bool {
		return ac.podDrops(t, ac.clientPod, "egress") == 50 && ac.denied(t) == 50
	})
	testenv.Eventually(t, "the server's 50 drops", func() bool { return ac.podDrops(t, ac.serverPod, "ingress") == 50 })
	m := ac.agent.Metrics(t)
	for _, want := range []struct{ pod, direction, workload string }{{"web-5f7c9-abcde", "egress", "web"}, {"payments-0", "ingress", "payments"}} {
		s := m.Series("netlens_pod_drop_packets_total", map[string]string{"pod": want.pod, "direction": want.direction})
		if len(s) != 1 || s[0].Labels["workload"] != want.workload {
			t.Errorf("%s %s series %+v, want one with workload %q", want.pod, want.direction, s, want.workload)
		}
	}
}

// auditLog is the API server's audit log of one user's requests.
type auditLog struct {
	user, policy, path string
}

func newAuditLog(t *testing.T, user string) *auditLog {
	t.Helper()
	dir := t.TempDir()
	a := &auditLog{user: user, policy: filepath.Join(dir, "audit-policy.yaml"), path: filepath.Join(dir, "audit.log")}
	policy := fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: [%q]
  - level: None
`, user)
	if err := os.WriteFile(a.policy, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *auditLog) flags() []string {
	return []string{"--audit-policy-file=" + a.policy, "--audit-log-path=" + a.path, "--audit-log-maxbackup=0"}
}

// waitFor polls cond every 100 ms: the conditions here read logs or send probes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.EventuallyEvery(t, 100*time.Millisecond, what, cond)
}
