package metadata

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/netlens/netlens/tests/testenv"
)

const testNode = "node-1"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type podSpec struct {
	name, node string
	ips        []string
	phase      corev1.PodPhase
	host       bool
	owner      *metav1.OwnerReference
	labels     map[string]string
}

func kpod(s podSpec) *corev1.Pod {
	if s.node == "" {
		s.node = testNode
	}
	if s.phase == "" {
		s.phase = corev1.PodRunning
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: "shop", UID: types.UID("uid-" + s.name), Labels: s.labels},
		Spec:       corev1.PodSpec{NodeName: s.node, HostNetwork: s.host},
		Status:     corev1.PodStatus{Phase: s.phase},
	}
	if s.owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*s.owner}
	}
	for i, ip := range s.ips {
		if i == 0 {
			p.Status.PodIP = ip
		}
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	return p
}

func controller(kind, name string) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: &yes}
}

func startKube(t *testing.T, opts KubernetesOptions, objs ...runtime.Object) (*Kubernetes, *fake.Clientset) {
	t.Helper()
	return startKubeAt(t, time.Now, opts, objs...)
}

// startKubeAt starts a source on a fake API server whose events are dated by now.
func startKubeAt(t *testing.T, now func() time.Time, opts KubernetesOptions, objs ...runtime.Object) (*Kubernetes, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	if opts.NodeName == "" {
		opts.NodeName = testNode
	}
	opts.Logger = quiet()
	k, err := NewKubernetesForClient(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	k.now = now
	k.Start()
	t.Cleanup(func() { k.Close() })
	if err := k.Err(); err != nil {
		t.Fatalf("not synced: %v", err)
	}
	return k, client
}

// owns reports whether uid ("": nobody) owns ip at the source's now.
func owns(k *Kubernetes, ip, uid string) func() bool {
	return func() bool {
		now := k.now()
		p, ok := k.PodByIP(netip.MustParseAddr(ip), now, now)
		if uid == "" {
			return !ok
		}
		return ok && p.UID == uid
	}
}

var ctx = context.Background()

// A pod added, updated and deleted through the API: it owns its address from
// the add, an update that changes its address moves the ownership, and after
// the delete it is neither found by address nor by UID.
func TestKubernetesPodAddUpdateDelete(t *testing.T) {
	k, client := startKube(t, KubernetesOptions{})
	pods := client.CoreV1().Pods("shop")
	if _, err := pods.Create(ctx, kpod(podSpec{name: "web", ips: []string{"10.0.0.2"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "web owns 10.0.0.2", owns(k, "10.0.0.2", "uid-web"))
	if p, ok := k.PodByUID("uid-web"); !ok || p.Name != "web" || p.Namespace != "shop" || p.Workload != "web" || p.WorkloadKind != "Pod" {
		t.Fatalf("by UID: %+v %v", p, ok)
	}
	if _, err := pods.Update(ctx, kpod(podSpec{name: "web", ips: []string{"10.0.0.3"}}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "web moves to 10.0.0.3", owns(k, "10.0.0.3", "uid-web"))
	testenv.Eventually(t, "10.0.0.2 is free", owns(k, "10.0.0.2", ""))
	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "web gone", func() bool { _, ok := k.PodByUID("uid-web"); return !ok })
	if owns(k, "10.0.0.3", "")() == false {
		t.Fatal("a deleted pod still owns its address")
	}
	if !strings.HasPrefix(k.Name(), "kubernetes:node="+testNode) {
		t.Errorf("name %q", k.Name())
	}
}

// IP reuse: pod A is deleted and pod B gets its address. A window spanning
// both names nobody; windows wholly inside each name the right pod. The
// clock stands still while the informers deliver an event, so each event is
// dated by the instant the test moved the clock to.
func TestKubernetesIPReuse(t *testing.T) {
	clock := newTestClock()
	k, client := startKubeAt(t, clock.Now, KubernetesOptions{})
	pods := client.CoreV1().Pods("shop")
	ip := netip.MustParseAddr("10.0.0.9")
	if _, err := pods.Create(ctx, kpod(podSpec{name: "a", ips: []string{ip.String()}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a owns the address", owns(k, ip.String(), "uid-a"))
	inA1 := clock.Advance(time.Second)
	inA2 := clock.Advance(time.Second)
	clock.Advance(time.Second)
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a released the address", owns(k, ip.String(), ""))
	clock.Advance(time.Second)
	if _, err := pods.Create(ctx, kpod(podSpec{name: "b", ips: []string{ip.String()}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b owns the address", owns(k, ip.String(), "uid-b"))
	inB1 := clock.Advance(time.Second)
	inB2 := clock.Advance(time.Second)

	if p, ok := k.PodByIP(ip, inA1, inB2); ok {
		t.Errorf("a window spanning a and b named %s", p.Name)
	}
	if p, ok := k.PodByIP(ip, inA1, inA2); !ok || p.UID != "uid-a" {
		t.Errorf("window inside a: %+v %v", p, ok)
	}
	if p, ok := k.PodByIP(ip, inB1, inB2); !ok || p.UID != "uid-b" {
		t.Errorf("window inside b: %+v %v", p, ok)
	}
	if p, ok := k.PodByIP(ip, inA1, inA1); !ok || p.UID != "uid-a" {
		t.Errorf("event time inside a: %+v %v", p, ok)
	}
}

// IP reuse where B's network came up (PodReadyToStartContainers) before A's
// deletion reached the agent: B's add takes the address, and the time both
// claim is attributed to neither.
func TestKubernetesIPReuseBeforeDeleteSeen(t *testing.T) {
	clock := newTestClock()
	k, client := startKubeAt(t, clock.Now, KubernetesOptions{})
	pods := client.CoreV1().Pods("shop")
	ip := netip.MustParseAddr("10.0.0.10")
	if _, err := pods.Create(ctx, kpod(podSpec{name: "a", ips: []string{ip.String()}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a owns the address", owns(k, ip.String(), "uid-a"))
	bReady := metav1.NewTime(clock.Advance(2 * time.Second)) // a whole second, as API times are
	clock.Advance(2 * time.Second)
	b := kpod(podSpec{name: "b", ips: []string{ip.String()}})
	b.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: bReady}}
	if _, err := pods.Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b owns the address", owns(k, ip.String(), "uid-b"))
	if p, ok := k.PodByIP(ip, bReady.Add(500*time.Millisecond), bReady.Add(500*time.Millisecond)); ok {
		t.Errorf("an instant both a and b claimed named %s", p.Name)
	}
	if p, ok := k.PodByIP(ip, bReady.Add(-100*time.Millisecond), bReady.Add(-100*time.Millisecond)); !ok || p.UID != "uid-a" {
		t.Errorf("before b's network came up: %+v %v, want a", p, ok)
	}
}

// Workloads from owner references: a ReplicaSet's pod belongs to the
// ReplicaSet's Deployment, a Job's pod to the Job's CronJob (both read from
// the cached owner), StatefulSet and DaemonSet pods to those, a bare pod to
// itself. An owner not in the cache is named from the names: a ReplicaSet
// <deployment>-<pod-template-hash>, a Job <cronjob>-<minutes>; a Job with
// another name stays a Job; a ReplicaSet without a Deployment stays one.
func TestKubernetesWorkloads(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "shop", UID: "uid-web-5d8f",
		OwnerReferences: []metav1.OwnerReference{*controller("Deployment", "web")}}}
	bareRS := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "solo", Namespace: "shop", UID: "uid-solo"}}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-x", Namespace: "shop", UID: "uid-nightly-x",
		OwnerReferences: []metav1.OwnerReference{*controller("CronJob", "nightly")}}}
	objs := []runtime.Object{rs, bareRS, job}
	cases := []struct {
		spec       podSpec
		kind, name string
	}{
		{podSpec{name: "web-5d8f-abcde", owner: controller("ReplicaSet", "web-5d8f"), labels: map[string]string{"pod-template-hash": "5d8f"}}, "Deployment", "web"},
		{podSpec{name: "solo-xyz", owner: controller("ReplicaSet", "solo")}, "ReplicaSet", "solo"},
		{podSpec{name: "nightly-x-q", owner: controller("Job", "nightly-x")}, "CronJob", "nightly"},
		{podSpec{name: "db-0", owner: controller("StatefulSet", "db")}, "StatefulSet", "db"},
		{podSpec{name: "agent-k2", owner: controller("DaemonSet", "agent")}, "DaemonSet", "agent"},
		{podSpec{name: "debug"}, "Pod", "debug"},
		// Owners not cached:
		{podSpec{name: "api-7c9d-zz", owner: controller("ReplicaSet", "api-7c9d"), labels: map[string]string{"pod-template-hash": "7c9d"}}, "Deployment", "api"},
		{podSpec{name: "backup-29000000-k", owner: controller("Job", "backup-29000000")}, "CronJob", "backup"},
		{podSpec{name: "migrate-2-k", owner: controller("Job", "migrate-2")}, "Job", "migrate-2"},
	}
	for i := range cases {
		cases[i].spec.ips = []string{fmt.Sprintf("10.2.0.%d", i+1)}
		objs = append(objs, kpod(cases[i].spec))
	}
	k, _ := startKube(t, KubernetesOptions{}, objs...)
	for i, c := range cases {
		p, ok := k.PodByUID("uid-" + c.spec.name)
		if !ok || p.WorkloadKind != c.kind || p.Workload != c.name {
			t.Errorf("%s: got %s %q (%v), want %s %q", c.spec.name, p.WorkloadKind, p.Workload, ok, c.kind, c.name)
		}
		now := time.Now()
		if q, ok := k.PodByIP(netip.MustParseAddr(fmt.Sprintf("10.2.0.%d", i+1)), now, now); !ok || q.Workload != c.name {
			t.Errorf("%s by address: %+v %v", c.spec.name, q, ok)
		}
	}
}

// Host-network pods share the node's address and never own it, not even
// when another pod's address is the same; they are still in the inventory.
func TestKubernetesHostNetworkNeverOwnsNodeIP(t *testing.T) {
	nodeIP := "192.168.1.10"
	k, client := startKube(t, KubernetesOptions{},
		kpod(podSpec{name: "kube-proxy", host: true, ips: []string{nodeIP}, owner: controller("DaemonSet", "kube-proxy")}))
	if owns(k, nodeIP, "")() == false {
		t.Fatal("a host-network pod from the first list owns the node IP")
	}
	if _, ok := k.PodByUID("uid-kube-proxy"); !ok {
		t.Fatal("a host-network pod is not in the inventory")
	}
	if _, err := client.CoreV1().Pods("shop").Create(ctx, kpod(podSpec{name: "cilium", host: true, ips: []string{nodeIP, "fd00::10"}}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "cilium listed", func() bool { _, ok := k.PodByUID("uid-cilium"); return ok })
	now := time.Now()
	for _, ip := range []string{nodeIP, "fd00::10"} {
		if p, ok := k.PodByIP(netip.MustParseAddr(ip), now, now); ok {
			t.Errorf("host-network pod %s owns %s", p.Name, ip)
		}
	}
}

// Finished pods (Succeeded, Failed) own no address: a pod that finishes
// releases its address, and one listed finished never owns one.
func TestKubernetesFinishedPodsOwnNothing(t *testing.T) {
	k, client := startKube(t, KubernetesOptions{},
		kpod(podSpec{name: "done", phase: corev1.PodSucceeded, ips: []string{"10.3.0.1"}}),
		kpod(podSpec{name: "broken", phase: corev1.PodFailed, ips: []string{"10.3.0.2"}}),
		kpod(podSpec{name: "job", ips: []string{"10.3.0.3"}}))
	for _, ip := range []string{"10.3.0.1", "10.3.0.2"} {
		if !owns(k, ip, "")() {
			t.Errorf("a finished pod owns %s", ip)
		}
	}
	if !owns(k, "10.3.0.3", "uid-job")() {
		t.Fatal("the running pod does not own its address")
	}
	if _, err := client.CoreV1().Pods("shop").Update(ctx, kpod(podSpec{name: "job", phase: corev1.PodSucceeded, ips: []string{"10.3.0.3"}}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the finished pod releases its address", owns(k, "10.3.0.3", ""))
	if _, ok := k.PodByUID("uid-job"); !ok {
		t.Error("a finished pod is still in the inventory by UID")
	}
}

// IPv6-only and dual-stack pods own every address of status.podIPs;
// IPv4-mapped IPv6 queries find the IPv4 owner.
func TestKubernetesIPv6AndDualStack(t *testing.T) {
	k, _ := startKube(t, KubernetesOptions{},
		kpod(podSpec{name: "dual", ips: []string{"10.4.0.1", "fd00:4::1"}}),
		kpod(podSpec{name: "v6", ips: []string{"fd00:4::2"}}))
	for ip, uid := range map[string]string{"10.4.0.1": "uid-dual", "fd00:4::1": "uid-dual", "::ffff:10.4.0.1": "uid-dual", "fd00:4::2": "uid-v6"} {
		if !owns(k, ip, uid)() {
			t.Errorf("%s: want %s", ip, uid)
		}
	}
}

// Pods of other nodes are named only with ClusterPods (the remote end of a
// drop); without it the source keeps to its node even if the server does not
// apply the field selector (the fake clientset does not).
func TestKubernetesClusterPods(t *testing.T) {
	objs := []runtime.Object{
		kpod(podSpec{name: "local", ips: []string{"10.5.0.1"}}),
		kpod(podSpec{name: "remote", node: "node-2", ips: []string{"10.5.1.1"}}),
	}
	local, _ := startKube(t, KubernetesOptions{}, objs...)
	if !owns(local, "10.5.0.1", "uid-local")() || !owns(local, "10.5.1.1", "")() {
		t.Error("node-only source: want the local pod and not the remote one")
	}
	if _, ok := local.PodByUID("uid-remote"); ok {
		t.Error("node-only source lists another node's pod")
	}
	cluster, _ := startKube(t, KubernetesOptions{ClusterPods: true}, objs...)
	if !owns(cluster, "10.5.0.1", "uid-local")() || !owns(cluster, "10.5.1.1", "uid-remote")() {
		t.Error("cluster source: want both pods")
	}
	if cluster.Name() != "kubernetes:cluster" {
		t.Errorf("name %q", cluster.Name())
	}
}

// Pods in the first list own their addresses from when their network came
// up, so drops counted before the agent started (pinned tables, a window
// from the previous agent's last drain) are attributed.
func TestKubernetesFirstListReachesBack(t *testing.T) {
	up := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	p := kpod(podSpec{name: "old", ips: []string{"10.6.0.1"}})
	p.Status.StartTime = &up
	k, _ := startKube(t, KubernetesOptions{}, p)
	if got, ok := k.PodByIP(netip.MustParseAddr("10.6.0.1"), up.Add(time.Minute), time.Now()); !ok || got.UID != "uid-old" {
		t.Fatalf("window since before the agent started: %+v %v", got, ok)
	}
	if _, ok := k.PodByIP(netip.MustParseAddr("10.6.0.1"), up.Add(-time.Minute), time.Now()); ok {
		t.Fatal("a window from before the pod started names it")
	}
}

// An unreachable API server does not stop the source: Start returns after
// its sync timeout, Err says what is wrong, no address is attributed, and
// Close stops the retrying informers.
func TestKubernetesUnreachableAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://%s"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := NewKubernetes(KubernetesOptions{Kubeconfig: kubeconfig, NodeName: testNode, SyncTimeout: 1500 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	k.probeUnsynced = 100 * time.Millisecond
	start := time.Now()
	k.Start()
	// Its own sync timeout, not the default one (nor for ever): the margin
	// between the two absorbs a slow machine.
	if d := time.Since(start); d >= DefaultSyncTimeout {
		t.Fatalf("Start took %s with a sync timeout of 1.5s", d)
	}
	err = k.Err()
	if err == nil || !strings.Contains(err.Error(), "not listed yet") {
		t.Fatalf("Err = %v, want the pods not listed", err)
	}
	// The source finds out why: the server refuses connections.
	testenv.Eventually(t, "Err names the cause", func() bool {
		err = k.Err()
		return err != nil && strings.Contains(err.Error(), "connection refused")
	})
	t.Logf("Err: %v", err)
	now := time.Now()
	if _, ok := k.PodByIP(netip.MustParseAddr("10.0.0.1"), now, now); ok {
		t.Fatal("an address is attributed without an inventory")
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
}

// Without a kubeconfig outside a cluster, the source is a configuration error.
func TestKubernetesNotInCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	if _, err := NewKubernetes(KubernetesOptions{NodeName: testNode}); err == nil {
		t.Fatal("want an error outside a cluster without --kubeconfig")
	}
}
