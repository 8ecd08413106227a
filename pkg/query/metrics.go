package query

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/netlens/netlens/pkg/models"
)

// Grafana units of the answers.
const (
	UnitPPS      = "pps"
	UnitBPS      = "Bps"
	UnitCPS      = "cps"
	UnitShort    = "short"
	UnitDecBytes = "decbytes"
)

// Target is one netlens_* metric a query type reads (docs/metrics.md), the
// same in both modes.
type Target struct {
	// Key names the target's series when a query reads several.
	Key    string
	Metric string
	// Labels are the metric's own labels: filters on others do not apply.
	// The node and cluster labels that scrape configs add are not listed.
	Labels []string
	// Always are labels the answer is always grouped by.
	Always []string
	// UnitRate is the unit of rates, UnitValue of counter values.
	UnitRate, UnitValue string
}

// NetlensTargets are the metrics a query type reads in the netlens schema,
// nil for query types answered otherwise (nodes, events, promql).
func NetlensTargets(q models.Query) []Target {
	v, ur, uv := "packets", UnitPPS, UnitShort
	if q.Value == "bytes" {
		v, ur, uv = "bytes", UnitBPS, UnitDecBytes
	}
	switch q.QueryType {
	case models.QueryDrops:
		return []Target{{Metric: "netlens_drop_" + v + "_total", Labels: []string{"reason", "location", "protocol"}, UnitRate: ur, UnitValue: uv}}
	case models.QueryPodDrops:
		return []Target{{Metric: "netlens_pod_drop_" + v + "_total", Labels: []string{"namespace", "pod", "workload", "direction", "reason"}, UnitRate: ur, UnitValue: uv}}
	case models.QueryNIC:
		return []Target{
			{Key: "rx_buffer_exhausted", Metric: "netlens_nic_rx_buffer_exhausted_total", Labels: []string{"interface", "driver", "counter"}, UnitRate: UnitPPS, UnitValue: UnitShort},
			{Key: "rx_cache_full", Metric: "netlens_nic_rx_cache_full_total", Labels: []string{"interface", "driver"}, UnitRate: UnitCPS, UnitValue: UnitShort},
			{Key: "nic_stat", Metric: "netlens_nic_stat_total", Labels: []string{"interface", "driver", "queue", "stat"}, Always: []string{"stat"}, UnitRate: UnitCPS, UnitValue: UnitShort},
		}
	case models.QueryInterfaces:
		l := []string{"interface", "direction"}
		return []Target{
			{Key: v, Metric: "netlens_interface_" + v + "_total", Labels: l, Always: []string{"direction"}, UnitRate: ur, UnitValue: uv},
			{Key: "dropped", Metric: "netlens_interface_dropped_total", Labels: l, Always: []string{"direction"}, UnitRate: UnitPPS, UnitValue: UnitShort},
			{Key: "errors", Metric: "netlens_interface_errors_total", Labels: l, Always: []string{"direction"}, UnitRate: UnitPPS, UnitValue: UnitShort},
		}
	case models.QueryNetstat:
		return []Target{
			{Key: "netstat", Metric: "netlens_netstat_total", Labels: []string{"group", "name"}, Always: []string{"group", "name"}, UnitRate: UnitCPS, UnitValue: UnitShort},
			{Key: "softnet_dropped", Metric: "netlens_softnet_dropped_total", Labels: []string{"cpu"}, UnitRate: UnitPPS, UnitValue: UnitShort},
			{Key: "softnet_time_squeeze", Metric: "netlens_softnet_time_squeeze_total", Labels: []string{"cpu"}, UnitRate: UnitCPS, UnitValue: UnitShort},
			{Key: "conntrack", Metric: "netlens_conntrack_stat_total", Labels: []string{"name"}, Always: []string{"name"}, UnitRate: UnitCPS, UnitValue: UnitShort},
		}
	}
	return nil
}

// Matcher is a label matcher, in PromQL and the agents' selector syntax
// alike, selecting series whose label is any of values: `label="v"` for one
// value, `label=~"a|b"` with each value regexp-quoted for several; "" for
// none. Values are user input: quoted as Go string literals (which both
// parsers unquote with Go's rules), no byte of a value can end the string or
// the matcher. label is never user input. Values are sorted and duplicates
// dropped, so that one set of values always makes one matcher.
func Matcher(label string, values []string) string {
	uniq := slices.Compact(slices.Sorted(slices.Values(values)))
	switch len(uniq) {
	case 0:
		return ""
	case 1:
		return label + "=" + strconv.Quote(uniq[0])
	}
	parts := make([]string, len(uniq))
	for i, v := range uniq {
		parts[i] = regexp.QuoteMeta(v)
	}
	return label + "=~" + strconv.Quote(strings.Join(parts, "|"))
}
