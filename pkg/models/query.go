package models

import (
	"encoding/json"
	"fmt"
	"slices"
)

// QueryType selects what a query asks for.
type QueryType string

const (
	QueryDrops      QueryType = "drops"
	QueryPodDrops   QueryType = "podDrops"
	QueryNIC        QueryType = "nic"
	QueryInterfaces QueryType = "interfaces"
	QueryNetstat    QueryType = "netstat"
	QueryEvents     QueryType = "events"
	QueryNodes      QueryType = "nodes"
	QueryPromQL     QueryType = "promql"
)

// QueryTypes lists every query type, in the order editors show them.
var QueryTypes = []QueryType{QueryDrops, QueryPodDrops, QueryNIC, QueryInterfaces, QueryNetstat, QueryEvents, QueryNodes, QueryPromQL}

// GroupByLabels are the labels a query may group by: the metric contract's
// labels plus the node and cluster labels the scrape config adds. Only these
// names ever reach a PromQL `by (...)` clause.
var GroupByLabels = []string{
	"cluster", "node", "namespace", "pod", "workload", "direction", "reason", "location", "protocol",
	"interface", "driver", "queue", "stat", "counter", "group", "name", "cpu",
}

// Filters restrict a query; each list is OR-ed, lists are AND-ed. Values are
// user input: they reach PromQL only as escaped label matchers.
type Filters struct {
	Cluster   []string `json:"cluster,omitempty"`
	Node      []string `json:"node,omitempty"`
	Namespace []string `json:"namespace,omitempty"`
	Pod       []string `json:"pod,omitempty"`
	Reason    []string `json:"reason,omitempty"`
	Interface []string `json:"interface,omitempty"`
}

// Query is the JSON of one panel query.
type Query struct {
	QueryType QueryType `json:"queryType"`
	GroupBy   []string  `json:"groupBy,omitempty"`
	Filters   Filters   `json:"filters,omitempty"`
	// Value is "packets" (default) or "bytes".
	Value string `json:"value,omitempty"`
	// Rate asks for per-second rates instead of counter values; defaults to true.
	Rate *bool `json:"rate,omitempty"`
	// Expr is the raw PromQL of a promql query.
	Expr string `json:"expr,omitempty"`
	// LegendFormat names series, as in Grafana's Prometheus data source ({{label}}).
	LegendFormat string `json:"legendFormat,omitempty"`
}

// ParseQuery decodes and validates a query's JSON.
func ParseQuery(raw json.RawMessage) (Query, error) {
	var q Query
	if err := json.Unmarshal(raw, &q); err != nil {
		return Query{}, fmt.Errorf("query is not valid JSON: %w", err)
	}
	if q.QueryType == "" {
		q.QueryType = QueryDrops
	}
	if !slices.Contains(QueryTypes, q.QueryType) {
		return Query{}, fmt.Errorf("unknown query type %q: want one of %v", q.QueryType, QueryTypes)
	}
	switch q.Value {
	case "":
		q.Value = "packets"
	case "packets", "bytes":
	default:
		return Query{}, fmt.Errorf("value %q is not supported: want packets or bytes", q.Value)
	}
	if q.Rate == nil {
		rate := true
		q.Rate = &rate
	}
	for _, g := range q.GroupBy {
		if !slices.Contains(GroupByLabels, g) {
			return Query{}, fmt.Errorf("cannot group by %q: want some of %v", g, GroupByLabels)
		}
	}
	if q.QueryType == QueryPromQL && q.Expr == "" {
		return Query{}, fmt.Errorf("promql query has no expression")
	}
	return q, nil
}
