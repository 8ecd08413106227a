package prometheus

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// Quote returns s as a PromQL double-quoted string literal. PromQL string
// literals use Go's escapes (the parser unquotes them with strconv.Unquote),
// so strconv.Quote round-trips every value exactly: backslashes, double
// quotes, newlines and other control characters are escaped, and no byte of s
// can end the literal early.
func Quote(s string) string { return strconv.Quote(s) }

// target is one PromQL expression a query type is answered with.
type target struct {
	// key names the target in display names when a query has several ("" when alone).
	key    string
	metric string
	// labels are the series' labels under their netlens names (node and
	// cluster included), mapped to stored names by stored.
	labels []string
	// stored maps netlens label names to the schema's names where they differ.
	stored map[string]string
	// fixed are extra matchers (already valid PromQL).
	fixed []string
	// always are labels every answer is grouped by (summing them would mix
	// different things, such as rx with tx).
	always []string
	// counter says the stored value is cumulative, so rate() applies. True for
	// the retina schema's cumulative gauges too (see retinaTargets).
	counter bool
	// unitRate and unitValue are the Grafana units of rates and of values.
	unitRate, unitValue string
}

func (t target) storedName(label string) string {
	if s, ok := t.stored[label]; ok {
		return s
	}
	return label
}

// netlensName maps a stored label name back to its netlens name.
func (t target) netlensName(stored string) string {
	for k, v := range t.stored {
		if v == stored {
			return k
		}
	}
	return stored
}

// plan is a query translated to PromQL: its targets and what the schema
// could not honour.
type plan struct {
	targets []target
	notices []string
}

func (p *plan) notice(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(p.notices, msg) {
		p.notices = append(p.notices, msg)
	}
}

const (
	unitPPS   = "pps"
	unitBps   = "Bps"
	unitCPS   = "cps"
	unitShort = "short"
	unitBytes = "decbytes"
)

var (
	nodeLabels = []string{"cluster", "node"}
	// retinaStored maps netlens label names to the AKS add-on's: node is the
	// scrape's `instance` (what the add-on's dashboards use as the Nodes
	// variable), pods and workloads are local-context labels, interface and
	// statistic names are the linuxutil plugin's.
	retinaNode = map[string]string{"node": "instance"}
)

func withNode(labels ...string) []string { return append(slices.Clone(nodeLabels), labels...) }

func valueWord(q models.Query) string {
	if q.Value == "bytes" {
		return "bytes"
	}
	return "packets"
}

func trafficUnits(q models.Query) (string, string) {
	if q.Value == "bytes" {
		return unitBps, unitBytes
	}
	return unitPPS, unitShort
}

// netlensTargets are the netlens_* metrics of the metric contract
// (query.NetlensTargets, shared with direct mode), with the node and cluster
// labels the scrape configs add.
func netlensTargets(q models.Query, p *plan) {
	for _, t := range query.NetlensTargets(q) {
		p.targets = append(p.targets, target{key: t.Key, metric: t.Metric, labels: withNode(t.Labels...), always: t.Always,
			counter: true, unitRate: t.UnitRate, unitValue: t.UnitValue})
	}
}

// What the retina schema lacks, stated once per query type.
const (
	retinaNICLimits = "retina schema: the AKS add-on exports no Rx cache full counter, no receive-buffer exhaustion counters " +
		"(rx_out_of_buffer, rx_no_memory, hc_rx_discards_no_wqe, ...) and no per-interface or per-queue NIC figures: " +
		"only ethtool statistics whose name contains \"err\" or \"drop\", non-zero, summed over all interfaces " +
		"(networkobservability_interface_stats, interface_name=\"all_interfaces\"). Those are shown."
	retinaInterfaceLimits = "retina schema: no per-interface counters. Traffic is networkobservability_forward_count/forward_bytes " +
		"per node and direction (counted on every interface, so it can exceed the real traffic); drops and errors are " +
		"ethtool statistics summed over all interfaces (interface_stats)."
	retinaNetstatLimits = "retina schema: only the add-on's curated, non-zero TcpExt/MPTcpExt counters (tcp_connection_stats) " +
		"and IpExt counters (ip_connection_stats); no softnet backlog drops, no conntrack statistics, no Udp/Ip SNMP counters."
	retinaNodesLimits = "retina schema: the add-on exports no agent info; nodes are listed from their " +
		"networkobservability_forward_count and drop_count series, without version, kernel or drop source."
	retinaPodDropsLimits = "retina schema: pod drops are networkobservability_adv_drop_count/adv_drop_bytes in local context " +
		"(labels namespace, podname, workload_name); they exist only with pod-level (advanced) metrics enabled."
)

// retinaTargets map query types onto the AKS Network Observability add-on's
// networkobservability_* metrics (research: /work/shared/research/retina.md).
//
// Counter semantics: the add-on registers its node-level and adv_* drop and
// forward metrics as Prometheus gauges, but sets them to cumulative values read
// from eBPF maps (its own dashboards apply rate() to them). So they are
// treated as counters here: rate() is right for them, and rate() reads a
// decrease (agent restart, or the add-on overwriting one reason's value with
// another errno's) as a reset, as it would for a counter. With rate off the
// stored value is shown as is.
func retinaTargets(q models.Query, p *plan) {
	v := "count"
	if q.Value == "bytes" {
		v = "bytes"
	}
	ur, uv := trafficUnits(q)
	statName := map[string]string{"node": "instance", "stat": "statistic_name", "interface": "interface_name"}
	switch q.QueryType {
	case models.QueryDrops:
		p.targets = []target{{metric: "networkobservability_drop_" + v, labels: withNode("reason", "direction"), stored: retinaNode, counter: true, unitRate: ur, unitValue: uv}}
		if q.Value == "bytes" {
			p.notice("retina schema: Windows nodes report no drop bytes (the add-on's hnsstats plugin has only drop_count).")
		}
	case models.QueryPodDrops:
		p.targets = []target{{metric: "networkobservability_adv_drop_" + v, labels: withNode("namespace", "pod", "workload", "direction", "reason"),
			stored: map[string]string{"node": "instance", "pod": "podname", "workload": "workload_name"}, counter: true, unitRate: ur, unitValue: uv}}
		p.notice(retinaPodDropsLimits)
	case models.QueryNIC:
		p.targets = []target{{key: "interface_stats", metric: "networkobservability_interface_stats", labels: withNode("interface", "stat"),
			stored: statName, always: []string{"stat"}, counter: true, unitRate: unitCPS, unitValue: unitShort}}
		p.notice(retinaNICLimits)
	case models.QueryInterfaces:
		fw := "networkobservability_forward_count"
		if q.Value == "bytes" {
			fw = "networkobservability_forward_bytes"
		}
		p.targets = []target{
			{key: valueWord(q), metric: fw, labels: withNode("direction"), stored: retinaNode, always: []string{"direction"}, counter: true, unitRate: ur, unitValue: uv},
			{key: "dropped", metric: "networkobservability_interface_stats", labels: withNode("interface", "stat"), stored: statName,
				fixed: []string{`statistic_name=~"rx_dropped|tx_dropped"`}, always: []string{"stat"}, counter: true, unitRate: unitPPS, unitValue: unitShort},
			{key: "errors", metric: "networkobservability_interface_stats", labels: withNode("interface", "stat"), stored: statName,
				fixed: []string{`statistic_name=~".*err.*"`}, always: []string{"stat"}, counter: true, unitRate: unitPPS, unitValue: unitShort},
		}
		p.notice(retinaInterfaceLimits)
	case models.QueryNetstat:
		nm := map[string]string{"node": "instance", "name": "statistic_name"}
		p.targets = []target{
			{key: "tcp", metric: "networkobservability_tcp_connection_stats", labels: withNode("name"), stored: nm, always: []string{"name"}, counter: true, unitRate: unitCPS, unitValue: unitShort},
			{key: "ip", metric: "networkobservability_ip_connection_stats", labels: withNode("name"), stored: nm, always: []string{"name"}, counter: true, unitRate: unitCPS, unitValue: unitShort},
		}
		p.notice(retinaNetstatLimits)
	}
}

// planQuery translates a drops, podDrops, nic, interfaces or netstat query.
func planQuery(schema models.Schema, q models.Query) (*plan, error) {
	p := &plan{}
	if schema == models.SchemaRetina {
		retinaTargets(q, p)
	} else {
		netlensTargets(q, p)
	}
	if len(p.targets) == 0 {
		return nil, fmt.Errorf("query type %q has no PromQL translation", q.QueryType)
	}
	for _, g := range q.GroupBy {
		// ParseQuery validated these; checked again because only these names
		// may ever reach a by (...) clause.
		if !slices.Contains(models.GroupByLabels, g) {
			return nil, fmt.Errorf("cannot group by %q: want some of %v", g, models.GroupByLabels)
		}
	}
	ms := make([]query.MetricLabels, len(p.targets))
	for i, t := range p.targets {
		ms[i] = query.MetricLabels{Metric: t.metric, Labels: t.labels}
	}
	for _, n := range query.LabelNotices(q, schema, ms) {
		p.notice("%s", n)
	}
	return p, nil
}

// selector is t's metric with the matchers of the filters that apply to it.
func (t target) selector(f models.Filters) string { return t.selectorWith(f, query.Matcher) }

// selectorWith is selector with the filters' matchers written by matcher
// (query.Matcher for user values, templateMatcher for dashboards).
func (t target) selectorWith(f models.Filters, matcher func(label string, values []string) string) string {
	ms := slices.Clone(t.fixed)
	for _, fl := range query.FilterList(f) {
		if len(fl.Values) > 0 && slices.Contains(t.labels, fl.Label) {
			ms = append(ms, matcher(t.storedName(fl.Label), fl.Values))
		}
	}
	if len(ms) == 0 {
		return t.metric
	}
	return t.metric + "{" + strings.Join(ms, ", ") + "}"
}

// groupBy is the target's grouping: its fixed labels, then the user's that exist.
func (t target) groupBy(user []string) []string {
	g := slices.Clone(t.always)
	for _, l := range user {
		if slices.Contains(t.labels, l) && !slices.Contains(g, l) {
			g = append(g, l)
		}
	}
	return g
}

// expr is the PromQL of t: sum by (<groupBy>) (rate(<selector>[<window>]))
// with rate, sum by (<groupBy>) (<selector>) without.
func (t target) expr(q models.Query, window string) string {
	return t.exprWith(q, window, query.Matcher)
}

// exprWith is expr with the filters' matchers written by matcher.
func (t target) exprWith(q models.Query, window string, matcher func(label string, values []string) string) string {
	inner := t.selectorWith(q.Filters, matcher)
	if *q.Rate && t.counter {
		inner = "rate(" + inner + "[" + window + "])"
	}
	g := t.groupBy(q.GroupBy)
	if len(g) == 0 {
		return "sum(" + inner + ")"
	}
	stored := make([]string, len(g))
	for i, l := range g {
		stored[i] = t.storedName(l)
	}
	return "sum by (" + strings.Join(stored, ", ") + ") (" + inner + ")"
}

func (t target) unit(q models.Query) string {
	if *q.Rate && t.counter {
		return t.unitRate
	}
	return t.unitValue
}

// nodesExprs are the instant queries of a nodes table: the agents, and their
// collectors that are down.
func nodesExprs(schema models.Schema, f models.Filters) (info, down string) {
	return nodesExprsWith(schema, f, query.Matcher)
}

// nodesExprsWith is nodesExprs with the filters' matchers written by matcher.
func nodesExprsWith(schema models.Schema, f models.Filters, matcher func(label string, values []string) string) (info, down string) {
	if schema == models.SchemaRetina {
		sel := func(m string) string {
			return target{metric: m, labels: nodeLabels, stored: retinaNode}.selectorWith(f, matcher)
		}
		return "group by (cluster, instance) (" + sel("networkobservability_forward_count") + " or " + sel("networkobservability_drop_count") + ")", ""
	}
	info = target{metric: "netlens_agent_info", labels: nodeLabels}.selectorWith(f, matcher)
	down = target{metric: "netlens_agent_collector_up", labels: nodeLabels}.selectorWith(f, matcher) + " == 0"
	return info, down
}

// healthExpr counts the agents (netlens) or nodes (retina) reporting.
func healthExpr(schema models.Schema) string {
	if schema == models.SchemaRetina {
		return "count(group by (cluster, instance) (networkobservability_forward_count or networkobservability_drop_count))"
	}
	return "count(netlens_agent_info)"
}
