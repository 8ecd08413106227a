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
// apply to it, and lists the filters that apply to none of them.
func selectors(sp spec, f models.Filters) (sels []string, ignored []string, err error) {
	byLabel := filterLists(f)
	used := map[string]bool{}
	for _, t := range sp.targets {
		var matchers []string
		for _, l := range []string{"namespace", "pod", "reason", "interface"} {
			vals := byLabel[l]
			if len(vals) == 0 || !slices.Contains(t.Labels, l) {
				continue
			}
			if len(vals) > maxFilterValues {
				return nil, nil, fmt.Errorf("filter %s has %d values, more than %d", l, len(vals), maxFilterValues)
			}
			used[l] = true
			matchers = append(matchers, query.Matcher(l, vals))
		}
		s := t.Metric
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
