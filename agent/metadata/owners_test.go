package metadata

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/netlens/netlens/tests/testenv"
)

// The owners of this node's pods are got one by one, once per owner, and
// nothing else is read of ReplicaSets and Jobs: no list, no watch.
// Other nodes' pods (--cluster-pods) are named from their names.
func TestOwnersGotOncePerOwnerOnly(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "shop", UID: "uid-web-5d8f",
		OwnerReferences: []metav1.OwnerReference{*controller("Deployment", "web")}}}
	other := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "far-1a2b", Namespace: "shop", UID: "uid-far-1a2b",
		OwnerReferences: []metav1.OwnerReference{*controller("Deployment", "far-away")}}}
	hash := map[string]string{"pod-template-hash": "5d8f"}
	objs := []runtime.Object{rs, other,
		kpod(podSpec{name: "web-5d8f-a", ips: []string{"10.3.0.1"}, owner: controller("ReplicaSet", "web-5d8f"), labels: hash}),
		kpod(podSpec{name: "web-5d8f-b", ips: []string{"10.3.0.2"}, owner: controller("ReplicaSet", "web-5d8f"), labels: hash}),
		kpod(podSpec{name: "far-1a2b-c", node: "node-2", ips: []string{"10.3.1.1"}, owner: controller("ReplicaSet", "far-1a2b"),
			labels: map[string]string{"pod-template-hash": "1a2b"}}),
	}
	k, client := startKube(t, KubernetesOptions{ClusterPods: true}, objs...)
	for _, uid := range []string{"uid-web-5d8f-a", "uid-web-5d8f-b"} {
		if p, _ := k.PodByUID(uid); p.WorkloadKind != "Deployment" || p.Workload != "web" {
			t.Errorf("%s: workload %s %q, want Deployment web", uid, p.WorkloadKind, p.Workload)
		}
	}
	// Named from the names, which here say something else than the owner would.
	if p, _ := k.PodByUID("uid-far-1a2b-c"); p.Workload != "far" {
		t.Errorf("another node's pod: workload %q, want %q from its names (not looked up)", p.Workload, "far")
	}
	gets := 0
	for _, a := range client.Actions() {
		r := a.GetResource().Resource
		if r != "replicasets" && r != "jobs" {
			continue
		}
		if a.GetVerb() != "get" {
			t.Errorf("the source did %s %s: only gets of single owners are allowed", a.GetVerb(), r)
		}
		gets++
	}
	if gets != 1 {
		t.Errorf("%d gets of owners, want 1 (one owner of this node's pods)", gets)
	}
}

// A lookup that fails (no permission) leaves the name-based workload, shows
// in Err, and is tried again: once allowed, the pod is renamed.
func TestOwnerLookupFailureIsRetried(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-7c9d", Namespace: "shop", UID: "uid-api-7c9d",
		OwnerReferences: []metav1.OwnerReference{*controller("Rollout", "api")}}}
	pod := kpod(podSpec{name: "api-7c9d-a", ips: []string{"10.3.2.1"}, owner: controller("ReplicaSet", "api-7c9d"),
		labels: map[string]string{"pod-template-hash": "7c9d"}})
	client := fake.NewClientset(rs, pod)
	var refuse atomic.Bool
	refuse.Store(true)
	client.PrependReactor("get", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if refuse.Load() {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "api-7c9d", errors.New("RBAC"))
		}
		return false, nil, nil
	})
	k, err := NewKubernetesForClient(client, KubernetesOptions{NodeName: testNode, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	k.owners.retry = 50 * time.Millisecond
	k.Start()
	t.Cleanup(func() { k.Close() })
	if p, _ := k.PodByUID("uid-api-7c9d-a"); p.WorkloadKind != "Deployment" || p.Workload != "api" {
		t.Errorf("before the lookup: %s %q, want Deployment api from the names", p.WorkloadKind, p.Workload)
	}
	if err := k.Err(); err == nil || !strings.Contains(err.Error(), "getting replicasets") || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Errorf("Err = %v, want the refused get of replicasets", err)
	}
	refuse.Store(false)
	testenv.Eventually(t, "the pod renamed after its Rollout once the lookup is allowed", func() bool {
		p, _ := k.PodByUID("uid-api-7c9d-a")
		return p.WorkloadKind == "Rollout" && p.Workload == "api"
	})
}

// A rename that comes after the pod left does not bring it back.
func TestRenameOfAPodThatLeft(t *testing.T) {
	h := NewHistory(0, 0)
	now := time.Now()
	p := Pod{UID: "u1", Name: "a", IPs: []netip.Addr{netip.MustParseAddr("10.4.0.1")}}
	h.Set(p, now, now)
	h.Rename("u1", "Deployment", "web")
	if q, _ := h.Current("u1"); q.Workload != "web" {
		t.Fatalf("renamed pod: %+v", q)
	}
	if q, ok := h.Lookup(netip.MustParseAddr("10.4.0.1"), now, now); !ok || q.Workload != "web" {
		t.Fatalf("renamed pod by address: %+v %v", q, ok)
	}
	h.Remove("u1", now.Add(time.Second))
	h.Rename("u1", "Deployment", "other")
	if _, ok := h.Current("u1"); ok {
		t.Fatal("a rename brought a pod that left back")
	}
}

// Past the answers kept, all are forgotten; a pod whose owner's answer is
// gone keeps the workload it was named with when it changes.
func TestForgottenOwnerKeepsTheWorkload(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"a", "b"} {
		objs = append(objs, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: n + "-1f2e", Namespace: "shop", UID: types.UID("uid-" + n + "-1f2e"),
			OwnerReferences: []metav1.OwnerReference{*controller("Rollout", n)}}})
	}
	client := fake.NewClientset(objs...)
	k, err := NewKubernetesForClient(client, KubernetesOptions{NodeName: testNode, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	k.owners.max = 1
	k.Start()
	t.Cleanup(func() { k.Close() })
	for i, n := range []string{"a", "b"} {
		pod := kpod(podSpec{name: n + "-1f2e-x", ips: []string{fmt.Sprintf("10.3.3.%d", i+1)}, owner: controller("ReplicaSet", n+"-1f2e"),
			labels: map[string]string{"pod-template-hash": "1f2e"}})
		if _, err := client.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "pod "+n+" named after its Rollout", func() bool {
			p, _ := k.PodByUID("uid-" + n + "-1f2e-x")
			return p.WorkloadKind == "Rollout" && p.Workload == n
		})
	}
	// b's answer pushed a's out; a changes while owners cannot be got (so
	// that a new lookup cannot hide a flip of the label).
	client.PrependReactor("get", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("unreachable")
	})
	pod, err := client.CoreV1().Pods("shop").Get(ctx, "a-1f2e-x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.PodIPs = append(pod.Status.PodIPs, corev1.PodIP{IP: "fd00::1"})
	if _, err := client.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the update seen", func() bool {
		p, _ := k.PodByUID("uid-a-1f2e-x")
		return len(p.IPs) == 2
	})
	if p, _ := k.PodByUID("uid-a-1f2e-x"); p.WorkloadKind != "Rollout" || p.Workload != "a" {
		t.Errorf("after its owner's answer was forgotten: %s %q, want Rollout a kept", p.WorkloadKind, p.Workload)
	}
}
