package dashgen

import (
	"fmt"
	"strings"

	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/pkg/models"
)

// reasonText is one reason's explanation as the reasons table shows it.
type reasonText struct{ reason, text string }

// reasonTexts explain the drop reasons of a schema: Netlens's reason catalog
// (agent/reasons, the same the agent API, the data source and the app use)
// for the netlens schema; the AKS add-on's own reasons for the retina schema.
func reasonTexts(schema models.Schema) ([]reasonText, error) {
	if schema == models.SchemaRetina {
		return retinaReasons, nil
	}
	all, err := reasons.All()
	if err != nil {
		return nil, err
	}
	out := make([]reasonText, 0, len(all))
	for _, e := range all {
		t := e.Reason + ": " + e.Meaning + " Likely cause: " + e.Cause
		if len(e.Check) > 0 {
			t += " Check: " + e.Check[0]
		}
		out = append(out, reasonText{e.Reason, t})
	}
	return out, nil
}

// retinaReasons are the drop reasons of the AKS add-on's dropreason plugin
// (the kernel functions it hooks; research on Retina's code), which are not
// the kernel's skb drop reasons of Netlens's catalog.
var retinaReasons = []reasonText{
	{"IPTABLE_RULE_DROP", "IPTABLE_RULE_DROP: a netfilter hook (nf_hook_slow) dropped the packet: an iptables/nftables rule, " +
		"usually a Kubernetes NetworkPolicy. Likely cause: a policy denying this traffic. Check: " +
		"`kubectl get networkpolicy -A` selecting the pods involved; Netlens's NETFILTER_DROP explanation applies."},
	{"IPTABLE_NAT_DROP", "IPTABLE_NAT_DROP: NAT (nf_nat_inet_fn) dropped the packet. Likely cause: no free source port or " +
		"mapping for SNAT/masquerading, or a NAT rule dropping. Check: `conntrack -S` (insert_failed, drop) and the NAT " +
		"rules (`iptables -t nat -S`) on the node."},
	{"TCP_CONNECT_BASIC", "TCP_CONNECT_BASIC: an outgoing TCP connect (tcp_v4_connect) failed on the node (egress). " +
		"Likely cause: no route, no free local port, or a refused socket operation. Check: the pod's connection errors and " +
		"`ss -s` on the node (ephemeral port exhaustion)."},
	{"TCP_ACCEPT_BASIC", "TCP_ACCEPT_BASIC: accepting an incoming TCP connection (inet_csk_accept) failed (ingress). " +
		"Likely cause: the listener's accept queue overflowing or the application not accepting fast enough. Check: " +
		"TcpExt ListenOverflows/ListenDrops and the application's backlog."},
	{"CONNTRACK_ADD_DROP", "CONNTRACK_ADD_DROP: connection tracking (__nf_conntrack_confirm) dropped the packet while " +
		"adding its connection. Likely cause: a full conntrack table or an insert race (UDP, DNS). Check: `conntrack -S` " +
		"(insert_failed, drop), nf_conntrack_count against nf_conntrack_max."},
}

// reasonMappings is a Grafana value mapping from each reason to its
// explanation.
func reasonMappings(schema models.Schema) (any, error) {
	texts, err := reasonTexts(schema)
	if err != nil {
		return nil, err
	}
	opts := make(map[string]any, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t.text) == "" {
			return nil, fmt.Errorf("reason %s has no explanation", t.reason)
		}
		opts[t.reason] = map[string]any{"text": t.text, "index": i}
	}
	return []any{map[string]any{"type": "value", "options": opts}}, nil
}
