package prometheus

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// PromQL for Grafana's own Prometheus data source (the dashboards in
// dashboards/prometheus and dashboards/aks): the same translation the backend
// runs, so that a dashboard and the Netlens data source agree on every query,
// but with Grafana template variables where the backend has user values.

// TemplateExpr is the PromQL of one target of a query, written for Grafana's
// Prometheus data source (see TemplateExprs).
type TemplateExpr struct {
	// Key names the target, as in the backend's series names ("" when the
	// query type reads one metric).
	Key string
	// Metric is the metric the target reads.
	Metric string
	// Expr is the PromQL.
	Expr string
	// Unit is the Grafana unit of the answer.
	Unit string
	// GroupBy are the labels the answer is grouped by, under the schema's
	// names (instance for node in the retina schema), in the backend's order.
	GroupBy []string
	// Stored maps each label of the target (netlens name, node and cluster
	// included) to its name in the schema.
	Stored map[string]string
	// Lacks are the query's group-by and filter labels this target does not
	// have: the backend ignores them with a notice.
	Lacks []string
}

// TemplateExprs translates q (a drops, podDrops, nic, interfaces or netstat
// query) into the PromQL the backend runs for it in schema, with two
// differences for dashboards, whose queries Grafana's own Prometheus data
// source interpolates:
//
//   - each filter is written as `label=~"<values joined by |>"` with the values
//     as given, for template variables such as $node: Grafana expands a
//     multi-value variable into a regular expression of its regexp-escaped
//     values, and All into the variable's allValue (".*"). The backend, which
//     receives user values instead, quotes each value (query.Matcher).
//   - window (such as "$__rate_interval") is the rate() window as written.
//
// Filter values here are the dashboard author's, never a user's; they are still
// written as PromQL string literals (strconv.Quote), so that no value can end
// the matcher. The notices are those the backend puts on the panel (what the
// schema lacks).
func TemplateExprs(schema models.Schema, q models.Query, window string) ([]TemplateExpr, []string, error) {
	if q.Rate == nil {
		rate := true
		q.Rate = &rate
	}
	if window == "" {
		return nil, nil, errors.New("no rate window")
	}
	p, err := planQuery(schema, q)
	if err != nil {
		return nil, nil, err
	}
	out := make([]TemplateExpr, 0, len(p.targets))
	for _, t := range p.targets {
		te := TemplateExpr{Key: t.key, Metric: t.metric, Expr: t.exprWith(q, window, templateMatcher), Unit: t.unit(q),
			Stored: make(map[string]string, len(t.labels))}
		for _, g := range t.groupBy(q.GroupBy) {
			te.GroupBy = append(te.GroupBy, t.storedName(g))
		}
		for _, l := range t.labels {
			te.Stored[l] = t.storedName(l)
		}
		for _, g := range q.GroupBy {
			if !slices.Contains(t.labels, g) && !slices.Contains(te.Lacks, g) {
				te.Lacks = append(te.Lacks, g)
			}
		}
		for _, f := range query.FilterList(q.Filters) {
			if len(f.Values) > 0 && !slices.Contains(t.labels, f.Label) && !slices.Contains(te.Lacks, f.Label) {
				te.Lacks = append(te.Lacks, f.Label)
			}
		}
		out = append(out, te)
	}
	return out, p.notices, nil
}

// TemplateNodesExprs are the instant queries of the nodes table (the agents,
// and their collectors that are down; down is "" in the retina schema), with
// filters written as in TemplateExprs.
func TemplateNodesExprs(schema models.Schema, f models.Filters) (info, down string) {
	return nodesExprsWith(schema, f, templateMatcher)
}

// TemplateValuesSelector is the series selector and the label (under the
// schema's name) that the values of label are listed from, with filters
// written as in TemplateExprs: for a Prometheus query variable,
// label_values(<selector>, <label>). Of the metrics the backend lists the
// label's values from (which it ORs), it is the first one having every
// filtered label, as label_values takes one selector.
func TemplateValuesSelector(schema models.Schema, label query.Label, f models.Filters) (selector, stored string, err error) {
	srcs, stored, err := valueSources(schema, label)
	if err != nil {
		return "", "", err
	}
	for _, t := range srcs {
		ok := true
		for _, fl := range query.FilterList(f) {
			if len(fl.Values) > 0 && !slices.Contains(t.labels, fl.Label) {
				ok = false
			}
		}
		if ok {
			return t.selectorWith(f, templateMatcher), stored, nil
		}
	}
	return "", "", fmt.Errorf("no metric lists %s values with the filters given", label)
}

// templateMatcher writes `label=~"v1|v2"` with the values as they are
// (template variables or regular expressions), as a PromQL string literal.
func templateMatcher(label string, values []string) string {
	return label + "=~" + strconv.Quote(strings.Join(values, "|"))
}
