package query

import (
	"fmt"
	"slices"

	"github.com/netlens/netlens/pkg/models"
)

// Filter is one filter list of a query and the label it matches.
type Filter struct {
	Label  string
	Values []string
}

// FilterList is f's filters in a fixed order (cluster, node, namespace, pod,
// reason, interface), empty ones included.
func FilterList(f models.Filters) []Filter {
	return []Filter{
		{"cluster", f.Cluster}, {"node", f.Node}, {"namespace", f.Namespace},
		{"pod", f.Pod}, {"reason", f.Reason}, {"interface", f.Interface},
	}
}

// MetricLabels is a metric a query reads and the labels its series have as
// a mode sees them: prometheus mode adds the node and cluster labels of the
// scrape configuration, direct mode the node of each agent.
type MetricLabels struct {
	Metric string
	Labels []string
}

// LabelNotices are the notices of a query whose group-by labels or filters
// a metric it reads lacks: that metric's series are summed without the
// label, and the filter does not restrict them. Both modes answer such a
// query alike (the same series) and say so in these words.
func LabelNotices(q models.Query, schema models.Schema, metrics []MetricLabels) []string {
	var out []string
	add := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !slices.Contains(out, msg) {
			out = append(out, msg)
		}
	}
	for _, m := range metrics {
		for _, g := range q.GroupBy {
			if !slices.Contains(m.Labels, g) {
				add("%s: %s has no %q label in the %s schema, so it is not grouped by it", q.QueryType, m.Metric, g, schema)
			}
		}
		for _, f := range FilterList(q.Filters) {
			if len(f.Values) > 0 && !slices.Contains(m.Labels, f.Label) {
				add("%s: the %s filter does not apply (%s has no %q label in the %s schema) and is ignored", q.QueryType, f.Label, m.Metric, f.Label, schema)
			}
		}
	}
	return out
}

// NodesFilterNotice is the notice of a nodes table filtered by a label that
// nodes have not (only node and cluster apply).
func NodesFilterNotice(label string) string {
	return fmt.Sprintf("nodes: the %s filter does not apply to the nodes table and is ignored", label)
}
