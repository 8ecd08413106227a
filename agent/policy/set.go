package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Set is a compiled, immutable set of NetworkPolicies and the labels of the
// namespaces they may select, indexed by namespace: a flow is judged against
// the policies of its two pods' namespaces only.
type Set struct {
	byNamespace map[string][]*compiled
	nsLabels    map[string]labels.Set
}

// compiled is a policy with its selectors and address blocks parsed once.
type compiled struct {
	ref             Ref
	podSelector     labels.Selector
	ingress, egress bool
	ingressRules    []rule
	egressRules     []rule
}

type rule struct {
	// all: the rule has no peers, so every peer matches.
	all   bool
	peers []peer
	// anyPort: the rule has no ports, so every port and protocol matches.
	anyPort bool
	ports   []port
}

type peer struct {
	// pods and namespaces are nil when the peer does not select by them.
	pods, namespaces labels.Selector
	block            *block
}

type block struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

type port struct {
	protocol corev1.Protocol
	// any: no port given, every port of the protocol matches.
	any      bool
	from, to int32
	named    string
}

// NewSet compiles policies; namespaces give the labels namespace selectors
// match (a namespace not given is known by its name label only, which the
// API server sets on every namespace). A policy that does not compile is
// left out and named in the error; the others are in the set.
func NewSet(policies []networkingv1.NetworkPolicy, namespaces []corev1.Namespace) (*Set, error) {
	s := &Set{byNamespace: map[string][]*compiled{}, nsLabels: map[string]labels.Set{}}
	for _, ns := range namespaces {
		l := labels.Set{}
		for k, v := range ns.Labels {
			l[k] = v
		}
		l[corev1.LabelMetadataName] = ns.Name
		s.nsLabels[ns.Name] = l
	}
	var errs []error
	for i := range policies {
		c, err := compile(&policies[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %s/%s: %w", policies[i].Namespace, policies[i].Name, err))
			continue
		}
		s.byNamespace[c.ref.Namespace] = append(s.byNamespace[c.ref.Namespace], c)
	}
	for _, cs := range s.byNamespace {
		slices.SortFunc(cs, func(a, b *compiled) int { return strings.Compare(a.ref.Name, b.ref.Name) })
	}
	return s, errors.Join(errs...)
}

// Len is the number of policies in the set.
func (s *Set) Len() int {
	n := 0
	for _, cs := range s.byNamespace {
		n += len(cs)
	}
	return n
}

func compile(p *networkingv1.NetworkPolicy) (*compiled, error) {
	sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("podSelector: %w", err)
	}
	c := &compiled{ref: Ref{Namespace: p.Namespace, Name: p.Name, ResourceVersion: p.ResourceVersion}, podSelector: sel}
	// Without policyTypes, a policy is for ingress, and for egress too if it
	// has egress rules.
	if len(p.Spec.PolicyTypes) == 0 {
		c.ingress, c.egress = true, len(p.Spec.Egress) > 0
	}
	for _, t := range p.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			c.ingress = true
		case networkingv1.PolicyTypeEgress:
			c.egress = true
		default:
			return nil, fmt.Errorf("policyTypes: unknown type %q", t)
		}
	}
	for i, r := range p.Spec.Ingress {
		cr, err := compileRule(r.From, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("ingress rule %d: %w", i, err)
		}
		c.ingressRules = append(c.ingressRules, cr)
	}
	for i, r := range p.Spec.Egress {
		cr, err := compileRule(r.To, r.Ports)
		if err != nil {
			return nil, fmt.Errorf("egress rule %d: %w", i, err)
		}
		c.egressRules = append(c.egressRules, cr)
	}
	return c, nil
}

func compileRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (rule, error) {
	r := rule{all: len(peers) == 0, anyPort: len(ports) == 0}
	for i, p := range peers {
		var cp peer
		var err error
		if p.PodSelector != nil {
			if cp.pods, err = metav1.LabelSelectorAsSelector(p.PodSelector); err != nil {
				return r, fmt.Errorf("peer %d podSelector: %w", i, err)
			}
		}
		if p.NamespaceSelector != nil {
			if cp.namespaces, err = metav1.LabelSelectorAsSelector(p.NamespaceSelector); err != nil {
				return r, fmt.Errorf("peer %d namespaceSelector: %w", i, err)
			}
		}
		if p.IPBlock != nil {
			b := &block{}
			if b.cidr, err = netip.ParsePrefix(p.IPBlock.CIDR); err != nil {
				return r, fmt.Errorf("peer %d ipBlock: %w", i, err)
			}
			b.cidr = b.cidr.Masked()
			for _, e := range p.IPBlock.Except {
				ep, err := netip.ParsePrefix(e)
				if err != nil {
					return r, fmt.Errorf("peer %d ipBlock except: %w", i, err)
				}
				b.except = append(b.except, ep.Masked())
			}
			cp.block = b
		}
		if cp.pods == nil && cp.namespaces == nil && cp.block == nil {
			return r, fmt.Errorf("peer %d selects nothing (no podSelector, namespaceSelector or ipBlock)", i)
		}
		r.peers = append(r.peers, cp)
	}
	for i, p := range ports {
		cp := port{protocol: corev1.ProtocolTCP, any: p.Port == nil}
		if p.Protocol != nil {
			cp.protocol = *p.Protocol
		}
		switch {
		case p.Port == nil:
		case p.Port.Type == intstr.String:
			cp.named = p.Port.StrVal
		default:
			cp.from, cp.to = p.Port.IntVal, p.Port.IntVal
			if p.EndPort != nil {
				if *p.EndPort < cp.from {
					return r, fmt.Errorf("port %d: endPort %d below port %d", i, *p.EndPort, cp.from)
				}
				cp.to = *p.EndPort
			}
		}
		r.ports = append(r.ports, cp)
	}
	return r, nil
}

// match is a three-valued answer: a rule matches, does not, or may (what
// it needs is not known).
type match int

const (
	no match = iota
	maybe
	yes
)

// Evaluate judges f against the set.
func (s *Set) Evaluate(f Flow) Verdict {
	v := Verdict{Flow: f, Ingress: Direction{Decision: NoPod}, Egress: Direction{Decision: NoPod}}
	if f.Dst.Pod != nil {
		v.Ingress = s.direction(f, f.Dst.Pod, f.Src, true)
	}
	if f.Src.Pod != nil {
		v.Egress = s.direction(f, f.Src.Pod, f.Dst, false)
	}
	return v
}

// direction judges the flow at pod (the destination for ingress, the source
// for egress) against the policies of pod's namespace; remote is the other end.
func (s *Set) direction(f Flow, pod *Pod, remote Endpoint, ingress bool) Direction {
	d := Direction{Decision: NotIsolated}
	best := no
	for _, c := range s.byNamespace[pod.Namespace] {
		if (ingress && !c.ingress) || (!ingress && !c.egress) || !c.podSelector.Matches(labels.Set(pod.Labels)) {
			continue
		}
		d.Isolating = append(d.Isolating, c.ref)
		rules := c.egressRules
		if ingress {
			rules = c.ingressRules
		}
		for i := range rules {
			m, why := s.matchRule(&rules[i], c.ref.Namespace, f, remote)
			switch {
			case m == yes && best != yes:
				best = yes
				d.AllowedBy = &RuleRef{Ref: c.ref, Rule: i}
			case m == maybe && best == no:
				best = maybe
				d.Unjudged = append(d.Unjudged, fmt.Sprintf("%s rule %d: %s", c.ref, i, why))
			case m == maybe && best == maybe:
				d.Unjudged = append(d.Unjudged, fmt.Sprintf("%s rule %d: %s", c.ref, i, why))
			}
		}
	}
	if len(d.Isolating) == 0 {
		return d
	}
	switch best {
	case yes:
		d.Decision, d.Unjudged = Allowed, nil
	case maybe:
		d.Decision = Unknown
	default:
		d.Decision = Denied
	}
	return d
}

// matchRule matches one rule of a policy in namespace ns; why says what
// was not known when the answer is maybe.
func (s *Set) matchRule(r *rule, ns string, f Flow, remote Endpoint) (match, string) {
	peers, whyPeer := yes, ""
	if !r.all {
		peers = no
		for i := range r.peers {
			m, why := s.matchPeer(&r.peers[i], ns, remote)
			if m > peers {
				peers, whyPeer = m, why
			}
			if peers == yes {
				break
			}
		}
	}
	if peers == no {
		return no, ""
	}
	ports, whyPort := yes, ""
	if !r.anyPort {
		ports = no
		for i := range r.ports {
			m, why := matchPort(&r.ports[i], f)
			if m > ports {
				ports, whyPort = m, why
			}
			if ports == yes {
				break
			}
		}
	}
	switch {
	case ports == no:
		return no, ""
	case peers == yes && ports == yes:
		return yes, ""
	case peers == maybe && ports == maybe:
		return maybe, whyPeer + "; " + whyPort
	case peers == maybe:
		return maybe, whyPeer
	default:
		return maybe, whyPort
	}
}

func (s *Set) matchPeer(p *peer, ns string, remote Endpoint) (match, string) {
	if p.block != nil {
		if !p.block.cidr.Contains(remote.IP) {
			return no, ""
		}
		for _, e := range p.block.except {
			if e.Contains(remote.IP) {
				return no, ""
			}
		}
		return yes, ""
	}
	if remote.Pod == nil && remote.External {
		return no, ""
	}
	if remote.Pod == nil {
		return maybe, fmt.Sprintf("%s is not a known pod, so its labels and namespace cannot be matched", remote.IP)
	}
	if p.namespaces == nil {
		if remote.Pod.Namespace != ns {
			return no, ""
		}
	} else if !p.namespaces.Matches(s.namespaceLabels(remote.Pod.Namespace)) {
		return no, ""
	}
	if p.pods != nil && !p.pods.Matches(labels.Set(remote.Pod.Labels)) {
		return no, ""
	}
	return yes, ""
}

func (s *Set) namespaceLabels(ns string) labels.Set {
	if l, ok := s.nsLabels[ns]; ok {
		return l
	}
	return labels.Set{corev1.LabelMetadataName: ns}
}

// matchPort matches the flow's protocol and destination port; a named port
// is the destination pod's container port of that name and protocol.
func matchPort(p *port, f Flow) (match, string) {
	if p.protocol != f.Protocol {
		return no, ""
	}
	switch {
	case p.any:
		return yes, ""
	case p.named != "":
		if f.Dst.Pod == nil && f.Dst.External {
			return no, ""
		}
		if f.Dst.Pod == nil {
			return maybe, fmt.Sprintf("port %q is named, and %s is not a known pod whose ports say which it is", p.named, f.Dst.IP)
		}
		for _, np := range f.Dst.Pod.Ports {
			proto := np.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if np.Name == p.named && proto == f.Protocol && np.Port == int32(f.Port) {
				return yes, ""
			}
		}
		return no, ""
	default:
		if int32(f.Port) >= p.from && int32(f.Port) <= p.to {
			return yes, ""
		}
		return no, ""
	}
}
