package bench

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/netlens/netlens/agent/policy"
)

// BenchmarkPolicyEvaluate judges flows against 1,000 NetworkPolicies in 100
// namespaces (a default deny, and allow rules with pod and namespace
// selectors, an ipBlock with except, ports, a named port and a port range
// in each namespace), between pods of random namespaces. It reports the
// median time of one evaluation (ns-median; the target is 50 us)
// and the heap the compiled set holds (set-bytes).
//
//	go test ./bench/ -run '^$' -bench PolicyEvaluate -benchtime 100000x -count 3
func BenchmarkPolicyEvaluate(b *testing.B) {
	const namespaces, perNamespace = 100, 10
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ps, nss := manyPolicies(namespaces, perNamespace)
	set, err := policy.NewSet(ps, nss)
	if err != nil {
		b.Fatal(err)
	}
	ps, nss = nil, nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	if set.Len() != namespaces*perNamespace {
		b.Fatalf("%d policies compiled", set.Len())
	}

	pods := make([]policy.Endpoint, 0, 1000)
	for i := range 1000 {
		pods = append(pods, policy.Endpoint{IP: netip.AddrFrom4([4]byte{10, byte(i / 250), byte(i % 250), 1}), Pod: &policy.Pod{
			Namespace: fmt.Sprintf("ns-%02d", i%namespaces), Name: fmt.Sprintf("pod-%d", i),
			Labels: map[string]string{"app": fmt.Sprintf("app-%d", i%perNamespace), "tier": []string{"web", "api", "db"}[i%3]},
			Ports:  []policy.NamedPort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080}},
		}})
	}
	ports := []uint16{80, 443, 5432, 8080, 9000}
	times := make([]time.Duration, 0, b.N)
	denied := 0
	b.ResetTimer()
	for i := range b.N {
		f := policy.Flow{Src: pods[(i*7919)%len(pods)], Dst: pods[(i*104729)%len(pods)], Protocol: corev1.ProtocolTCP, Port: ports[i%len(ports)]}
		start := time.Now()
		v := set.Evaluate(f)
		times = append(times, time.Since(start))
		if v.Decision() == policy.Denied {
			denied++
		}
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "ns-median")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "ns-p99")
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "set-bytes")
	b.ReportMetric(float64(denied)/float64(b.N), "denied-share")
	if b.N >= 1000 && (denied == 0 || denied == b.N) {
		b.Fatalf("%d of %d flows denied: the policies do not discriminate", denied, b.N)
	}
}

// manyPolicies makes perNamespace policies in each of n namespaces.
func manyPolicies(n, perNamespace int) ([]networkingv1.NetworkPolicy, []corev1.Namespace) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	var ps []networkingv1.NetworkPolicy
	var nss []corev1.Namespace
	for i := range n {
		name := fmt.Sprintf("ns-%02d", i)
		nss = append(nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"team": fmt.Sprintf("team-%d", i%10), "env": []string{"prod", "dev"}[i%2]}}})
		ps = append(ps, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: name},
			Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{{}}}})
		for j := 1; j < perNamespace; j++ {
			port := intstr.FromInt32(int32(8000 + j))
			named := intstr.FromString("http")
			end := int32(9100)
			low := intstr.FromInt32(9000)
			ps = append(ps, networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("allow-%d", j), Namespace: name},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%d", j)}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{
						{From: []networkingv1.NetworkPolicyPeer{
							{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}},
							{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("team-%d", j)}},
								PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
									{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"api", "web"}}}}},
						}, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}, {Protocol: &tcp, Port: &named}}},
						{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.3.0.0/16"}}}},
							Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &low, EndPort: &end}}},
					},
				}})
		}
	}
	return ps, nss
}
