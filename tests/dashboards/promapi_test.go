package dashboards_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// A small client of Prometheus's HTTP API: the reference the dashboards'
// PromQL is run against, as Grafana's Prometheus data source would.

type promSeries struct {
	Labels map[string]string
	Times  []time.Time
	Values []float64
}

type promAnswer struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Warnings  []string
	Data      json.RawMessage `json:"data"`
}

// result is the data of a query answer.
func (a *promAnswer) result() (string, json.RawMessage) {
	var d struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	_ = json.Unmarshal(a.Data, &d)
	return d.ResultType, d.Result
}

func promCall(base, path string, params url.Values) (*promAnswer, error) {
	// GET: Prometheus 2.42's label values endpoint takes no POST.
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var a promAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, undecodable answer: %v", path, resp.StatusCode, err)
	}
	if a.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, a.ErrorType, a.Error)
	}
	return &a, nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func parseSampleValue(v any) float64 {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// promRange runs a range query.
func promRange(base, expr string, start, end time.Time, step time.Duration) ([]promSeries, error) {
	a, err := promCall(base, "/api/v1/query_range", url.Values{
		"query": {expr}, "start": {promTime(start)}, "end": {promTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
	if err != nil {
		return nil, err
	}
	var m []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	typ, res := a.result()
	if err := json.Unmarshal(res, &m); err != nil || typ != "matrix" {
		return nil, fmt.Errorf("range query answered %s: %v", typ, err)
	}
	out := make([]promSeries, 0, len(m))
	for _, s := range m {
		ps := promSeries{Labels: s.Metric}
		for _, v := range s.Values {
			sec, _ := v[0].(float64)
			ps.Times = append(ps.Times, time.UnixMilli(int64(math.Round(sec*1000))).UTC())
			ps.Values = append(ps.Values, parseSampleValue(v[1]))
		}
		out = append(out, ps)
	}
	return out, nil
}

// promInstant runs an instant query at t.
func promInstant(base, expr string, t time.Time) ([]promSeries, error) {
	a, err := promCall(base, "/api/v1/query", url.Values{"query": {expr}, "time": {promTime(t)}})
	if err != nil {
		return nil, err
	}
	var v []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	typ, res := a.result()
	if err := json.Unmarshal(res, &v); err != nil || typ != "vector" {
		return nil, fmt.Errorf("instant query answered %s: %v", typ, err)
	}
	out := make([]promSeries, 0, len(v))
	for _, s := range v {
		out = append(out, promSeries{Labels: s.Metric, Times: []time.Time{t}, Values: []float64{parseSampleValue(s.Value[1])}})
	}
	return out, nil
}

// promLabelValues is what label_values(selector, label) lists.
func promLabelValues(base, label, selector string, start, end time.Time) ([]string, error) {
	a, err := promCall(base, "/api/v1/label/"+url.PathEscape(label)+"/values", url.Values{
		"match[]": {selector}, "start": {promTime(start)}, "end": {promTime(end)},
	})
	if err != nil {
		return nil, err
	}
	var vals []string
	if err := json.Unmarshal(a.Data, &vals); err != nil {
		return nil, err
	}
	return vals, nil
}

var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// substitute fills Grafana's variables into a dashboard expression as
// Grafana's Prometheus data source would: values are regular expressions
// (a multi-value selection is "(a|b)" of regexp-escaped values, All is the
// variable's allValue), $__rate_interval is a duration.
func substitute(expr string, vars map[string]string) string {
	return templateVar.ReplaceAllStringFunc(expr, func(m string) string {
		sm := templateVar.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// regexOf is how Grafana writes a selection of values into a regex matcher.
func regexOf(values ...string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = regexp.QuoteMeta(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "(" + strings.Join(q, "|") + ")"
}

// rawCounters rewrites an expression's rate(<selector>[w]) into <selector>:
// the panel's aggregation of the counters' values, whose difference between
// two instants is exactly what was counted in between.
func rawCounters(e parser.Expr) (parser.Expr, bool) {
	changed := false
	var walk func(parser.Expr) parser.Expr
	walk = func(e parser.Expr) parser.Expr {
		switch n := e.(type) {
		case *parser.Call:
			if n.Func.Name == "rate" && len(n.Args) == 1 {
				if ms, ok := n.Args[0].(*parser.MatrixSelector); ok {
					changed = true
					return ms.VectorSelector
				}
			}
			for i := range n.Args {
				n.Args[i] = walk(n.Args[i])
			}
		case *parser.AggregateExpr:
			n.Expr = walk(n.Expr)
		case *parser.ParenExpr:
			n.Expr = walk(n.Expr)
		case *parser.BinaryExpr:
			n.LHS, n.RHS = walk(n.LHS), walk(n.RHS)
		}
		return e
	}
	return walk(e), changed
}

// metricsOf lists the metric names an expression selects.
func metricsOf(e parser.Expr) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			out = append(out, vs.Name)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func sumValues(ss []promSeries, match map[string]string) float64 {
	total := 0.0
outer:
	for _, s := range ss {
		for k, v := range match {
			if s.Labels[k] != v {
				continue outer
			}
		}
		for _, v := range s.Values {
			total += v
		}
	}
	return total
}
