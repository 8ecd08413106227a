package direct

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/netlens/netlens/pkg/models"
)

// target is one metric a query type reads, as the Prometheus mode's
// targets (pkg/prometheus): a key naming its series when a query has
// several, the labels it carries (filters on others do not apply), labels it
// is always grouped by, and its units.
type target struct {
	key, metric         string
	labels              []string
	always              []string
	unitRate, unitValue string
}

// spec is what one query type reads from the agents.
type spec struct {
	targets []target
}

func (sp spec) target(metric string) target {
	for _, t := range sp.targets {
		if t.metric == metric {
			return t
		}
	}
	return target{metric: metric}
}

// specFor maps a query type (and value: packets|bytes) to metrics, the same
// as the Prometheus mode (docs/datasource.md).
func specFor(q models.Query) (spec, error) {
	v, ur, uv := "packets", "pps", "short"
	if q.Value == "bytes" {
		v, ur, uv = "bytes", "Bps", "decbytes"
	}
	switch q.QueryType {
	case models.QueryDrops:
		return spec{[]target{{metric: "netlens_drop_" + v + "_total", labels: []string{"reason", "location", "protocol"}, unitRate: ur, unitValue: uv}}}, nil
	case models.QueryPodDrops:
		return spec{[]target{{metric: "netlens_pod_drop_" + v + "_total", labels: []string{"namespace", "pod", "workload", "direction", "reason"}, unitRate: ur, unitValue: uv}}}, nil
	case models.QueryNIC:
		return spec{[]target{
			{key: "rx_buffer_exhausted", metric: "netlens_nic_rx_buffer_exhausted_total", labels: []string{"interface", "driver", "counter"}, unitRate: "pps", unitValue: "short"},
			{key: "rx_cache_full", metric: "netlens_nic_rx_cache_full_total", labels: []string{"interface", "driver"}, unitRate: "cps", unitValue: "short"},
			{key: "nic_stat", metric: "netlens_nic_stat_total", labels: []string{"interface", "driver", "queue", "stat"}, always: []string{"stat"}, unitRate: "cps", unitValue: "short"},
		}}, nil
	case models.QueryInterfaces:
		l := []string{"interface", "direction"}
		return spec{[]target{
			{key: v, metric: "netlens_interface_" + v + "_total", labels: l, always: []string{"direction"}, unitRate: ur, unitValue: uv},
			{key: "dropped", metric: "netlens_interface_dropped_total", labels: l, always: []string{"direction"}, unitRate: "pps", unitValue: "short"},
			{key: "errors", metric: "netlens_interface_errors_total", labels: l, always: []string{"direction"}, unitRate: "pps", unitValue: "short"},
		}}, nil
	case models.QueryNetstat:
		return spec{[]target{
			{key: "netstat", metric: "netlens_netstat_total", labels: []string{"group", "name"}, always: []string{"group", "name"}, unitRate: "cps", unitValue: "short"},
			{key: "softnet_dropped", metric: "netlens_softnet_dropped_total", labels: []string{"cpu"}, unitRate: "pps", unitValue: "short"},
			{key: "softnet_time_squeeze", metric: "netlens_softnet_time_squeeze_total", labels: []string{"cpu"}, unitRate: "cps", unitValue: "short"},
			{key: "conntrack", metric: "netlens_conntrack_stat_total", labels: []string{"name"}, always: []string{"name"}, unitRate: "cps", unitValue: "short"},
		}}, nil
	}
	return spec{}, fmt.Errorf("query type %q has no series in direct mode", q.QueryType)
}

// maxSelector is the agent's limit on one selector.
const maxSelector = 4096

// maxFilterValues bounds the values of one filter list.
const maxFilterValues = 256

// selectors builds one series selector per target from the filters that
// apply to it, and lists the filters that apply to none of them.
func selectors(sp spec, f models.Filters) (sels []string, ignored []string, err error) {
	byLabel := filterLists(f)
	used := map[string]bool{}
	for _, t := range sp.targets {
		var matchers []string
		for _, l := range []string{"namespace", "pod", "reason", "interface"} {
			vals := byLabel[l]
			if len(vals) == 0 || !slices.Contains(t.labels, l) {
				continue
			}
			if len(vals) > maxFilterValues {
				return nil, nil, fmt.Errorf("filter %s has %d values, more than %d", l, len(vals), maxFilterValues)
			}
			used[l] = true
			matchers = append(matchers, Matcher(l, vals))
		}
		s := t.metric
		if len(matchers) > 0 {
			s += "{" + strings.Join(matchers, ",") + "}"
		}
		if len(s) > maxSelector {
			return nil, nil, fmt.Errorf("the filters make a selector of %d bytes, more than the agents accept (%d): use fewer values", len(s), maxSelector)
		}
		sels = append(sels, s)
	}
	for _, l := range []string{"namespace", "pod", "reason", "interface"} {
		if len(byLabel[l]) > 0 && !used[l] {
			ignored = append(ignored, l)
		}
	}
	if len(f.Cluster) > 0 {
		ignored = append(ignored, "cluster")
	}
	return sels, ignored, nil
}

func filterLists(f models.Filters) map[string][]string {
	return map[string][]string{"namespace": f.Namespace, "pod": f.Pod, "reason": f.Reason, "interface": f.Interface}
}

// Matcher is a PromQL label matcher selecting series whose label equals one
// of values: `label="v"` for one value, `label=~"v1|v2"` (each value quoted
// as a literal with regexp.QuoteMeta) for several. Values are escaped as
// PromQL (Go) string literals, so quotes, backslashes, newlines and any
// other byte stay inside the string. label must be a known label name: it
// is never user input.
func Matcher(label string, values []string) string {
	vals := slices.Clone(values)
	slices.Sort(vals)
	vals = slices.Compact(vals)
	if len(vals) == 1 {
		return label + "=" + strconv.Quote(vals[0])
	}
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return label + "=~" + strconv.Quote(strings.Join(quoted, "|"))
}
