package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// naive is a second evaluator, written from the API's definitions as
// literally as possible and without any of Set's machinery (no compiling,
// no index): every policy of the cluster is looked at for every flow, and
// selectors are converted on each use. The fuzz test holds Set to it.
func naive(ps []networkingv1.NetworkPolicy, nss []corev1.Namespace, f Flow) (in, eg Decision, inIso, egIso []string) {
	in, inIso = naiveDirection(ps, nss, f, true)
	eg, egIso = naiveDirection(ps, nss, f, false)
	return in, eg, inIso, egIso
}

func naiveDirection(ps []networkingv1.NetworkPolicy, nss []corev1.Namespace, f Flow, ingress bool) (Decision, []string) {
	self, remote := f.Src, f.Dst
	if ingress {
		self, remote = f.Dst, f.Src
	}
	if self.Pod == nil {
		return NoPod, nil
	}
	var iso []string
	anyYes, anyMaybe := false, false
	for _, p := range ps {
		if p.Namespace != self.Pod.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(self.Pod.Labels)) {
			continue
		}
		types := p.Spec.PolicyTypes
		if len(types) == 0 {
			types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(p.Spec.Egress) > 0 {
				types = append(types, networkingv1.PolicyTypeEgress)
			}
		}
		want := networkingv1.PolicyTypeEgress
		if ingress {
			want = networkingv1.PolicyTypeIngress
		}
		if !slices.Contains(types, want) {
			continue
		}
		iso = append(iso, p.Namespace+"/"+p.Name)
		type r struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []r
		if ingress {
			for _, x := range p.Spec.Ingress {
				rules = append(rules, r{x.From, x.Ports})
			}
		} else {
			for _, x := range p.Spec.Egress {
				rules = append(rules, r{x.To, x.Ports})
			}
		}
		for _, x := range rules {
			peerYes, peerMaybe := len(x.peers) == 0, false
			for _, peer := range x.peers {
				switch naivePeer(peer, p.Namespace, nss, remote) {
				case yes:
					peerYes = true
				case maybe:
					peerMaybe = true
				}
			}
			portYes, portMaybe := len(x.ports) == 0, false
			for _, port := range x.ports {
				switch naivePort(port, f) {
				case yes:
					portYes = true
				case maybe:
					portMaybe = true
				}
			}
			switch {
			case peerYes && portYes:
				anyYes = true
			case (peerYes || peerMaybe) && (portYes || portMaybe):
				anyMaybe = true
			}
		}
	}
	switch {
	case len(iso) == 0:
		return NotIsolated, nil
	case anyYes:
		return Allowed, iso
	case anyMaybe:
		return Unknown, iso
	}
	return Denied, iso
}

func naivePeer(peer networkingv1.NetworkPolicyPeer, policyNS string, nss []corev1.Namespace, remote Endpoint) match {
	if peer.IPBlock != nil {
		cidr := netip.MustParsePrefix(peer.IPBlock.CIDR)
		if !cidr.Contains(remote.IP) {
			return no
		}
		for _, e := range peer.IPBlock.Except {
			if netip.MustParsePrefix(e).Contains(remote.IP) {
				return no
			}
		}
		return yes
	}
	if remote.Pod == nil {
		if remote.External {
			return no
		}
		return maybe
	}
	if peer.NamespaceSelector == nil {
		if remote.Pod.Namespace != policyNS {
			return no
		}
	} else {
		nsLabels := map[string]string{corev1.LabelMetadataName: remote.Pod.Namespace}
		for _, n := range nss {
			if n.Name == remote.Pod.Namespace {
				for k, v := range n.Labels {
					nsLabels[k] = v
				}
				nsLabels[corev1.LabelMetadataName] = n.Name
			}
		}
		sel, _ := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if !sel.Matches(labels.Set(nsLabels)) {
			return no
		}
	}
	if peer.PodSelector != nil {
		sel, _ := metav1.LabelSelectorAsSelector(peer.PodSelector)
		if !sel.Matches(labels.Set(remote.Pod.Labels)) {
			return no
		}
	}
	return yes
}

func naivePort(port networkingv1.NetworkPolicyPort, f Flow) match {
	proto := corev1.ProtocolTCP
	if port.Protocol != nil {
		proto = *port.Protocol
	}
	if proto != f.Protocol {
		return no
	}
	if port.Port == nil {
		return yes
	}
	if port.Port.Type == intstr.String {
		if f.Dst.Pod == nil {
			if f.Dst.External {
				return no
			}
			return maybe
		}
		for _, np := range f.Dst.Pod.Ports {
			p := np.Protocol
			if p == "" {
				p = corev1.ProtocolTCP
			}
			if np.Name == port.Port.StrVal && p == f.Protocol && int(np.Port) == int(f.Port) {
				return yes
			}
		}
		return no
	}
	end := port.Port.IntVal
	if port.EndPort != nil {
		end = *port.EndPort
	}
	if int32(f.Port) >= port.Port.IntVal && int32(f.Port) <= end {
		return yes
	}
	return no
}

// world is a small cluster the fuzzer draws from: few labels, namespaces,
// addresses and ports, so that random policies often select and match.
var (
	fuzzKeys       = []string{"app", "role", "team"}
	fuzzValues     = []string{"a", "b", "c"}
	fuzzNamespaces = []string{"ns1", "ns2", "ns3"}
	fuzzIPs        = []string{"10.0.0.1", "10.0.0.2", "10.0.1.1", "10.0.1.2", "192.168.0.1", "fd00::1"}
	fuzzCIDRs      = []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.1.0/24", "10.0.0.1/32", "192.168.0.0/16", "fd00::/64", "0.0.0.0/0"}
	fuzzProtocols  = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP, "ICMP"}
	fuzzPorts      = []int32{53, 80, 443, 5432}
	fuzzPortNames  = []string{"http", "dns"}
)

// bytes hands out the fuzzer's input as small numbers.
type bytes struct {
	b []byte
	i int
}

func (r *bytes) n(max int) int {
	if r.i >= len(r.b) {
		return 0
	}
	v := int(r.b[r.i]) % max
	r.i++
	return v
}

func (r *bytes) labels() map[string]string {
	l := map[string]string{}
	for range r.n(3) {
		l[fuzzKeys[r.n(len(fuzzKeys))]] = fuzzValues[r.n(len(fuzzValues))]
	}
	return l
}

func (r *bytes) selector() *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	if r.n(2) == 0 {
		s.MatchLabels = r.labels()
	}
	for range r.n(3) {
		op := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}[r.n(4)]
		e := metav1.LabelSelectorRequirement{Key: fuzzKeys[r.n(len(fuzzKeys))], Operator: op}
		if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
			e.Values = []string{fuzzValues[r.n(len(fuzzValues))], fuzzValues[r.n(len(fuzzValues))]}
		}
		s.MatchExpressions = append(s.MatchExpressions, e)
	}
	return s
}

func (r *bytes) peer() networkingv1.NetworkPolicyPeer {
	var p networkingv1.NetworkPolicyPeer
	switch r.n(4) {
	case 0:
		p.IPBlock = &networkingv1.IPBlock{CIDR: fuzzCIDRs[r.n(len(fuzzCIDRs))]}
		for range r.n(2) {
			p.IPBlock.Except = append(p.IPBlock.Except, fuzzCIDRs[r.n(len(fuzzCIDRs))])
		}
	case 1:
		p.PodSelector = r.selector()
	case 2:
		p.NamespaceSelector = r.selector()
	default:
		p.PodSelector, p.NamespaceSelector = r.selector(), r.selector()
	}
	return p
}

func (r *bytes) port() networkingv1.NetworkPolicyPort {
	var p networkingv1.NetworkPolicyPort
	if r.n(3) > 0 {
		proto := fuzzProtocols[r.n(3)]
		p.Protocol = &proto
	}
	switch r.n(4) {
	case 0:
	case 1:
		v := intstr.FromString(fuzzPortNames[r.n(len(fuzzPortNames))])
		p.Port = &v
	default:
		v := intstr.FromInt32(fuzzPorts[r.n(len(fuzzPorts))])
		p.Port = &v
		if r.n(2) == 0 {
			end := v.IntVal + int32(r.n(400))
			p.EndPort = &end
		}
	}
	return p
}

func (r *bytes) policies() []networkingv1.NetworkPolicy {
	var ps []networkingv1.NetworkPolicy
	for i := range 1 + r.n(6) {
		var p networkingv1.NetworkPolicy
		p.Name, p.Namespace = fmt.Sprintf("p%d", i), fuzzNamespaces[r.n(len(fuzzNamespaces))]
		p.Spec.PodSelector = *r.selector()
		switch r.n(4) {
		case 1:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		case 2:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		case 3:
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		}
		for range r.n(3) {
			var rule networkingv1.NetworkPolicyIngressRule
			for range r.n(3) {
				rule.From = append(rule.From, r.peer())
			}
			for range r.n(3) {
				rule.Ports = append(rule.Ports, r.port())
			}
			p.Spec.Ingress = append(p.Spec.Ingress, rule)
		}
		for range r.n(3) {
			var rule networkingv1.NetworkPolicyEgressRule
			for range r.n(3) {
				rule.To = append(rule.To, r.peer())
			}
			for range r.n(3) {
				rule.Ports = append(rule.Ports, r.port())
			}
			p.Spec.Egress = append(p.Spec.Egress, rule)
		}
		ps = append(ps, p)
	}
	return ps
}

func (r *bytes) endpoint() Endpoint {
	e := Endpoint{IP: netip.MustParseAddr(fuzzIPs[r.n(len(fuzzIPs))])}
	switch r.n(3) {
	case 0:
		e.External = true
	case 1:
	default:
		e.Pod = &Pod{Namespace: fuzzNamespaces[r.n(len(fuzzNamespaces))], Name: "pod", Labels: r.labels()}
		for range r.n(3) {
			e.Pod.Ports = append(e.Pod.Ports, NamedPort{Name: fuzzPortNames[r.n(len(fuzzPortNames))],
				Protocol: fuzzProtocols[r.n(3)], Port: fuzzPorts[r.n(len(fuzzPorts))]})
		}
	}
	return e
}

// Set agrees with the naive evaluator on every flow of random clusters:
// each direction's decision and the policies that isolate it.
func FuzzSetAgreesWithNaive(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
		[]byte("network policies in large clusters with many namespaces"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := &bytes{b: in}
		ps := r.policies()
		var nss []corev1.Namespace
		for _, n := range fuzzNamespaces {
			nss = append(nss, ns(n, r.labels()))
		}
		s, err := NewSet(ps, nss)
		if err != nil {
			t.Fatalf("generated policies are valid, but: %v", err)
		}
		for range 1 + r.n(8) {
			flow := Flow{Src: r.endpoint(), Dst: r.endpoint(), Protocol: fuzzProtocols[r.n(len(fuzzProtocols))]}
			if flow.Protocol != "ICMP" {
				flow.Port = uint16(fuzzPorts[r.n(len(fuzzPorts))] + int32(r.n(2)*r.n(300)))
			}
			v := s.Evaluate(flow)
			in, eg, inIso, egIso := naive(ps, nss, flow)
			if v.Ingress.Decision != in || v.Egress.Decision != eg ||
				!slices.Equal(names(v.Ingress.Isolating), sorted(inIso)) || !slices.Equal(names(v.Egress.Isolating), sorted(egIso)) {
				t.Fatalf("%s: Set says ingress %s %v, egress %s %v; naive says %s %v, %s %v",
					flow, v.Ingress.Decision, names(v.Ingress.Isolating), v.Egress.Decision, names(v.Egress.Isolating), in, inIso, eg, egIso)
			}
		}
	})
}

func names(rs []Ref) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
