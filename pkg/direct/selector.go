package direct

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// spec is what one query type reads from the agents: the netlens_* metrics
// of the metric contract, the same as the Prometheus mode's (query.NetlensTargets).
type spec struct {
	targets []query.Target
}

func (sp spec) target(metric string) query.Target {
	for _, t := range sp.targets {
		if t.Metric == metric {
			return t
		}
	}
	return query.Target{Metric: metric}
}

func specFor(q models.Query) (spec, error) {
	if ts := query.NetlensTargets(q); ts != nil {
		return spec{ts}, nil
	}
	return spec{}, fmt.Errorf("query type %q has no series in direct mode", q.QueryType)
}

// maxSelector is the agent's limit on one selector.
const maxSelector = 4096

// maxFilterValues bounds the values of one filter list.
const maxFilterValues = 256

// selectors builds one series selector per target from the filters that
// apply to it (labelNotices says which do not).
func selectors(sp spec, f models.Filters) ([]string, error) {
	byLabel := filterLists(f)
	var sels []string
	for _, t := range sp.targets {
		var matchers []string
		for _, l := range []string{"namespace", "pod", "reason", "interface"} {
			vals := byLabel[l]
			if len(vals) == 0 || !slices.Contains(t.Labels, l) {
				continue
			}
			if len(vals) > maxFilterValues {
				return nil, fmt.Errorf("filter %s has %d values, more than %d", l, len(vals), maxFilterValues)
			}
			matchers = append(matchers, query.Matcher(l, vals))
		}
		s := t.Metric
		if len(matchers) > 0 {
			s += "{" + strings.Join(matchers, ",") + "}"
		}
		if len(s) > maxSelector {
			return nil, fmt.Errorf("the filters make a selector of %d bytes, more than the agents accept (%d): use fewer values", len(s), maxSelector)
		}
		sels = append(sels, s)
	}
	return sels, nil
}

// Notices of the cluster label, which the agents' series never have (the
// scrape configuration adds it in prometheus mode).
const (
	clusterGroupNotice  = "direct mode: the agents' series have no \"cluster\" label (scrape configurations add it in prometheus mode), so they are not grouped by it"
	clusterFilterNotice = "direct mode: the agents' series have no \"cluster\" label (scrape configurations add it in prometheus mode), so the cluster filter is ignored"
)

// labelNotices says which group-by labels and filters of q the metrics lack,
// in prometheus mode's words (query.LabelNotices): the series have the
// metric's own labels and node, added from each agent's status.
func labelNotices(sp spec, q models.Query) []string {
	var out []string
	if slices.Contains(q.GroupBy, "cluster") {
		out = append(out, clusterGroupNotice)
	}
	if len(q.Filters.Cluster) > 0 {
		out = append(out, clusterFilterNotice)
	}
	// The cluster notices above stand for every metric.
	q.GroupBy = slices.DeleteFunc(slices.Clone(q.GroupBy), func(l string) bool { return l == "cluster" })
	q.Filters.Cluster = nil
	ms := make([]query.MetricLabels, len(sp.targets))
	for i, t := range sp.targets {
		ms[i] = query.MetricLabels{Metric: t.Metric, Labels: append(slices.Clone(t.Labels), "node")}
	}
	return append(out, query.LabelNotices(q, models.SchemaNetlens, ms)...)
}

func filterLists(f models.Filters) map[string][]string {
	return map[string][]string{"namespace": f.Namespace, "pod": f.Pod, "reason": f.Reason, "interface": f.Interface}
}
