// Package policy evaluates a flow against Kubernetes NetworkPolicies
// (networking.k8s.io/v1) with the API's semantics, to say which policies a
// dropped flow ran into and why: which policies select the destination pod
// for ingress and the source pod for egress (isolating it), and whether any
// rule of theirs allows the flow (pod and namespace selectors, ipBlock with
// except, ports, named ports, endPort, protocols).
//
// A verdict is recomputed from the policies, not read from the datapath: it
// says what the policies mean, which an enforcer may implement differently
// (ipBlock on pod addresses is implementation-defined, for one). Where the
// evaluator lacks what a rule needs (the labels of a remote pod, the named
// ports of an unknown destination), the direction is Unknown and the
// verdict says what could not be judged.
package policy

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Pod is what the evaluator knows of a pod.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	// Ports are the pod's named container ports, for rules that name a port.
	Ports []NamedPort
}

// NamedPort is a container port with a name.
type NamedPort struct {
	Name     string
	Protocol corev1.Protocol
	Port     int32
}

// Endpoint is one end of a flow.
type Endpoint struct {
	IP netip.Addr
	// Pod holds IP; nil when not known.
	Pod *Pod
	// External, with no Pod, says that IP is no pod at all (outside the
	// pod network, or not in a cluster-wide inventory): pod and namespace
	// selectors cannot match it. Without it an unknown address may be a
	// pod whose labels are not known.
	External bool
}

// Flow is a packet's flow as the evaluator judges it.
type Flow struct {
	Src, Dst Endpoint
	// Protocol is TCP, UDP or SCTP, or another IP protocol by name (ICMP),
	// which only rules without ports allow.
	Protocol corev1.Protocol
	// Port is the destination port (0 for protocols without ports).
	Port uint16
}

func (f Flow) String() string {
	if f.Port == 0 {
		return fmt.Sprintf("%s %s -> %s", f.Protocol, f.Src.IP, f.Dst.IP)
	}
	return fmt.Sprintf("%s %s -> %s", f.Protocol, f.Src.IP, netip.AddrPortFrom(f.Dst.IP, f.Port))
}

// Ref names a policy as it was evaluated.
type Ref struct {
	Namespace, Name string
	// ResourceVersion is the policy's version the verdict was computed with.
	ResourceVersion string `json:",omitempty"`
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// RuleRef names one rule of a policy: the index in its ingress or egress list.
type RuleRef struct {
	Ref
	Rule int
}

// Decision is a direction's outcome.
type Decision string

const (
	// NotIsolated: no policy selects the pod for this direction: all allowed.
	NotIsolated Decision = "not-isolated"
	// Allowed: policies select the pod and one of their rules allows the flow.
	Allowed Decision = "allowed"
	// Denied: policies select the pod and none of their rules allows the flow.
	Denied Decision = "denied"
	// Unknown: no rule allows it for sure, but some rule might (what it
	// needs is not known).
	Unknown Decision = "unknown"
	// NoPod: this end is not a known pod, so no policy of the cluster
	// applies to it in this direction.
	NoPod Decision = "no-pod"
)

// Direction is the verdict for one direction: ingress at the destination
// pod, egress at the source pod.
type Direction struct {
	Decision Decision
	// Isolating are the policies that select the pod for this direction,
	// by namespace and name.
	Isolating []Ref `json:",omitempty"`
	// AllowedBy is the first rule, in that order, that allows the flow.
	AllowedBy *RuleRef `json:",omitempty"`
	// Unjudged says what could not be judged, when Decision is Unknown.
	Unjudged []string `json:",omitempty"`
}

// Verdict is the evaluation of a flow in both directions.
type Verdict struct {
	Flow    Flow `json:"-"`
	Ingress Direction
	Egress  Direction
}

// Decision is the flow's outcome: denied if a direction denies it,
// unknown if none does but one cannot be judged, allowed if a policy allows
// it, else not isolated (no policy applies).
func (v Verdict) Decision() Decision {
	ds := []Decision{v.Ingress.Decision, v.Egress.Decision}
	for _, want := range []Decision{Denied, Unknown, Allowed} {
		for _, d := range ds {
			if d == want {
				return want
			}
		}
	}
	return NotIsolated
}

// String says the verdict in words.
func (v Verdict) String() string {
	var parts []string
	for _, d := range []struct {
		name string
		dir  Direction
		pod  *Pod
	}{{"ingress", v.Ingress, v.Flow.Dst.Pod}, {"egress", v.Egress, v.Flow.Src.Pod}} {
		switch d.dir.Decision {
		case Denied:
			parts = append(parts, fmt.Sprintf("%s of %s/%s denied by the isolation of %s (no rule allows %s)",
				d.name, d.pod.Namespace, d.pod.Name, refs(d.dir.Isolating), v.Flow))
		case Unknown:
			parts = append(parts, fmt.Sprintf("%s of %s/%s: policies %s, and no rule surely allows %s: %s",
				d.name, d.pod.Namespace, d.pod.Name, refs(d.dir.Isolating), v.Flow, strings.Join(d.dir.Unjudged, "; ")))
		case Allowed:
			parts = append(parts, fmt.Sprintf("%s of %s/%s allowed by %s rule %d", d.name, d.pod.Namespace, d.pod.Name,
				d.dir.AllowedBy.Ref, d.dir.AllowedBy.Rule))
		}
	}
	if len(parts) == 0 {
		return "no policy selects these pods"
	}
	return strings.Join(parts, "; ")
}

func refs(rs []Ref) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}
