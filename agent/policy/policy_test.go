package policy

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// policies parses NetworkPolicies written as YAML documents.
func policies(t testing.TB, docs ...string) []networkingv1.NetworkPolicy {
	t.Helper()
	var out []networkingv1.NetworkPolicy
	for _, d := range docs {
		var p networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict([]byte(d), &p); err != nil {
			t.Fatalf("%v\n%s", err, d)
		}
		out = append(out, p)
	}
	return out
}

func newSet(t testing.TB, docs ...string) *Set {
	t.Helper()
	s, err := NewSet(policies(t, docs...), []corev1.Namespace{
		ns("default", nil), ns("myproject", map[string]string{"project": "myproject"}), ns("other", map[string]string{"team": "x"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ns(name string, l map[string]string) corev1.Namespace {
	n := corev1.Namespace{}
	n.Name, n.Labels = name, l
	return n
}

func pod(namespace, name, ip string, l map[string]string, ports ...NamedPort) Endpoint {
	return Endpoint{IP: netip.MustParseAddr(ip), Pod: &Pod{Namespace: namespace, Name: name, Labels: l, Ports: ports}}
}

// outside is an address known to be no pod; unknown one that may be a pod
// whose labels are not known.
func outside(ip string) Endpoint { return Endpoint{IP: netip.MustParseAddr(ip), External: true} }
func unknown(ip string) Endpoint { return Endpoint{IP: netip.MustParseAddr(ip)} }

func tcp(src, dst Endpoint, port uint16) Flow {
	return Flow{Src: src, Dst: dst, Protocol: corev1.ProtocolTCP, Port: port}
}

// The NetworkPolicy documentation's main example: pods role=db in default
// accept TCP 6379 from 172.17.0.0/16 except 172.17.1.0/24, from namespaces
// project=myproject and from pods role=frontend of default; they may send
// TCP 5978 to 10.0.0.0/24 only.
const docsExample = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: test-network-policy, namespace: default, resourceVersion: "42"}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}
        - namespaceSelector: {matchLabels: {project: myproject}}
        - podSelector: {matchLabels: {role: frontend}}
      ports: [{protocol: TCP, port: 6379}]
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
      ports: [{protocol: TCP, port: 5978}]
`

func TestDocumentationExamples(t *testing.T) {
	db := pod("default", "db-0", "10.1.0.5", map[string]string{"role": "db"})
	frontend := pod("default", "web-0", "10.1.0.6", map[string]string{"role": "frontend"})
	backend := pod("default", "api-0", "10.1.0.7", map[string]string{"role": "backend"})
	mine := pod("myproject", "x-0", "10.1.1.1", map[string]string{"app": "x"})
	theirs := pod("other", "y-0", "10.1.2.1", map[string]string{"role": "frontend"})
	udp := func(src, dst Endpoint, port uint16) Flow {
		return Flow{Src: src, Dst: dst, Protocol: corev1.ProtocolUDP, Port: port}
	}
	cases := []struct {
		name     string
		docs     []string
		flow     Flow
		ingress  Decision
		egress   Decision
		allowed  string // "policy rule" that allows ingress, if any
		contains string // in the verdict's words
	}{
		{"the frontend may reach the db", []string{docsExample}, tcp(frontend, db, 6379), Allowed, NotIsolated, "default/test-network-policy 0", "allowed by"},
		{"the backend may not", []string{docsExample}, tcp(backend, db, 6379), Denied, NotIsolated, "", "denied by the isolation of default/test-network-policy"},
		{"nor the frontend on another port", []string{docsExample}, tcp(frontend, db, 5432), Denied, NotIsolated, "", "no rule allows TCP"},
		{"nor over UDP", []string{docsExample}, udp(frontend, db, 6379), Denied, NotIsolated, "", ""},
		{"any pod of myproject may", []string{docsExample}, tcp(mine, db, 6379), Allowed, NotIsolated, "default/test-network-policy 0", ""},
		{"a frontend of another namespace may not (podSelector alone is the policy's namespace)", []string{docsExample}, tcp(theirs, db, 6379), Denied, NotIsolated, "", ""},
		{"an address in the block may", []string{docsExample}, tcp(outside("172.17.3.4"), db, 6379), Allowed, NoPod, "default/test-network-policy 0", ""},
		{"an address in the block's except may not", []string{docsExample}, tcp(outside("172.17.1.9"), db, 6379), Denied, NoPod, "", ""},
		{"the db may send to the block's port", []string{docsExample}, tcp(db, outside("10.0.0.9"), 5978), NoPod, Allowed, "", ""},
		{"but nowhere else", []string{docsExample}, tcp(db, outside("10.0.1.9"), 5978), NoPod, Denied, "", "egress of default/db-0 denied"},
		{"pods the policy does not select are not isolated", []string{docsExample}, tcp(backend, frontend, 80), NotIsolated, NotIsolated, "", "no policy selects these pods"},
		// Default deny all ingress, and allow all ingress.
		{"default deny ingress", []string{`
metadata: {name: default-deny-ingress, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}`}, tcp(frontend, backend, 80), Denied, NotIsolated, "", "default/default-deny-ingress"},
		{"allow all ingress beside it", []string{`
metadata: {name: default-deny-ingress, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}`, `
metadata: {name: allow-all-ingress, namespace: default}
spec: {podSelector: {}, ingress: [{}], policyTypes: [Ingress]}`}, tcp(frontend, backend, 80), Allowed, NotIsolated, "default/allow-all-ingress 0", ""},
		// Default deny egress: only egress isolated.
		{"default deny egress", []string{`
metadata: {name: default-deny-egress, namespace: default}
spec: {podSelector: {}, policyTypes: [Egress]}`}, tcp(frontend, backend, 80), NotIsolated, Denied, "", "egress of default/web-0 denied"},
		// Without policyTypes a policy with only ingress rules isolates ingress only.
		{"policyTypes defaults to ingress", []string{`
metadata: {name: only-ingress, namespace: default}
spec: {podSelector: {matchLabels: {role: backend}}, ingress: [{from: [{podSelector: {matchLabels: {role: frontend}}}]}]}`},
			tcp(backend, frontend, 80), NotIsolated, NotIsolated, "", ""},
		// A namespaceSelector and podSelector in one peer are AND; in two peers OR.
		{"namespace and pod selector in one peer: both must match", []string{`
metadata: {name: and, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {role: client}}}]}]`},
			tcp(theirs, db, 6379), Denied, NotIsolated, "", ""},
		{"in two peers either may match", []string{`
metadata: {name: or, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}, {podSelector: {matchLabels: {role: client}}}]}]`},
			tcp(theirs, db, 6379), Allowed, NotIsolated, "default/or 0", ""},
		// A namespace by name: the label the API server sets.
		{"a namespace by its name label", []string{`
metadata: {name: by-name, namespace: default}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: myproject}}}]}]`},
			tcp(mine, backend, 80), Allowed, NotIsolated, "default/by-name 0", ""},
		// matchExpressions.
		{"matchExpressions NotIn", []string{`
metadata: {name: not-in, namespace: default}
spec:
  podSelector: {matchExpressions: [{key: role, operator: In, values: [db, backend]}]}
  ingress: [{from: [{podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [backend]}]}}]}]`},
			tcp(frontend, backend, 80), Allowed, NotIsolated, "default/not-in 0", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newSet(t, c.docs...).Evaluate(c.flow)
			if v.Ingress.Decision != c.ingress || v.Egress.Decision != c.egress {
				t.Errorf("ingress %s, egress %s; want %s, %s (%s)", v.Ingress.Decision, v.Egress.Decision, c.ingress, c.egress, v)
			}
			if c.allowed != "" {
				if a := v.Ingress.AllowedBy; a == nil || a.String()+" "+itoa(a.Rule) != c.allowed {
					t.Errorf("allowed by %+v, want %s", a, c.allowed)
				}
			}
			if !strings.Contains(v.String(), c.contains) {
				t.Errorf("verdict %q does not say %q", v, c.contains)
			}
		})
	}
}

// endPort: a range of ports; named ports: the destination pod's container
// port of that name and protocol.
func TestPortsRangesAndNames(t *testing.T) {
	s := newSet(t, `
metadata: {name: ports, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - {protocol: TCP, port: 32000, endPort: 32768}
        - {protocol: UDP, port: dns}
        - {protocol: SCTP}`)
	named := NamedPort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}
	db := pod("default", "db-0", "10.1.0.5", map[string]string{"role": "db"}, named)
	client := pod("default", "c", "10.1.0.9", nil)
	for _, c := range []struct {
		flow Flow
		want Decision
	}{
		{tcp(client, db, 32000), Allowed},
		{tcp(client, db, 32768), Allowed},
		{tcp(client, db, 32769), Denied},
		{tcp(client, db, 31999), Denied},
		{Flow{Src: client, Dst: db, Protocol: corev1.ProtocolUDP, Port: 53}, Allowed},
		{Flow{Src: client, Dst: db, Protocol: corev1.ProtocolUDP, Port: 54}, Denied},
		{Flow{Src: client, Dst: db, Protocol: corev1.ProtocolSCTP, Port: 9}, Allowed},
		// A rule with ports never allows ICMP.
		{Flow{Src: client, Dst: db, Protocol: "ICMP"}, Denied},
	} {
		if v := s.Evaluate(c.flow); v.Ingress.Decision != c.want {
			t.Errorf("%s: %s, want %s (%s)", c.flow, v.Ingress.Decision, c.want, v)
		}
	}
}

// What cannot be judged is said: a source that is not a known pod against
// a pod selector, and a named port of an unknown destination.
func TestUnknownWhenLabelsAreMissing(t *testing.T) {
	s := newSet(t, docsExample)
	db := pod("default", "db-0", "10.1.0.5", map[string]string{"role": "db"})
	v := s.Evaluate(tcp(unknown("10.1.9.9"), db, 6379))
	if v.Ingress.Decision != Unknown || v.Decision() != Unknown || len(v.Ingress.Unjudged) == 0 {
		t.Fatalf("from an address that is no known pod: %s %+v", v.Ingress.Decision, v.Ingress)
	}
	if !strings.Contains(v.String(), "10.1.9.9 is not a known pod") {
		t.Errorf("the verdict does not say what was unknown: %s", v)
	}
	// A port the rule does not name is denied whatever the source's labels.
	if v := s.Evaluate(tcp(unknown("10.1.9.9"), db, 80)); v.Ingress.Decision != Denied {
		t.Errorf("port 80 from an unknown source: %s, want denied", v.Ingress.Decision)
	}
	egress := newSet(t, `
metadata: {name: named-egress, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: http}]}]`)
	if v := egress.Evaluate(tcp(pod("default", "a", "10.1.0.1", nil), unknown("10.9.0.1"), 80)); v.Egress.Decision != Unknown {
		t.Errorf("a named port of an unknown destination: %s, want unknown", v.Egress.Decision)
	}
}

// Policies that cannot be compiled are named and left out; the others work.
func TestBadPolicyLeftOut(t *testing.T) {
	ps := policies(t, `
metadata: {name: bad, namespace: default}
spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: not-a-cidr}}]}]}`, `
metadata: {name: good, namespace: default}
spec: {podSelector: {}, policyTypes: [Ingress]}`)
	s, err := NewSet(ps, nil)
	if err == nil || !strings.Contains(err.Error(), "default/bad") {
		t.Fatalf("err = %v, want the bad policy named", err)
	}
	if s.Len() != 1 {
		t.Fatalf("%d policies in the set, want the good one", s.Len())
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
