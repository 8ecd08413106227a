package direct

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// historyDefault is the agents' default history when their status does not say.
const historyDefault = 15 * time.Minute

// Query answers one query from every agent. Agents that fail are notices on
// the frames; only when every agent fails is the answer an error.
func (r *Reader) Query(ctx context.Context, q models.Query, rg query.Range) backend.DataResponse {
	switch q.QueryType {
	case models.QueryNodes:
		return r.nodesQuery(ctx, q)
	case models.QueryEvents:
		return r.eventsQuery(ctx, q, rg)
	case models.QueryPromQL:
		return backend.ErrDataResponse(backend.StatusBadRequest, "PromQL queries need prometheus mode: direct mode reads the agents, which do not evaluate PromQL")
	}
	sp, err := specFor(q)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	sels, err := selectors(sp, q.Filters)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	labelNotices := labelNotices(sp, q)
	urls, notices, errResp := r.agentsOrError(ctx)
	if errResp != nil {
		return *errResp
	}
	rate := q.Rate == nil || *q.Rate
	// Steps finer than the agents' sampling carry no information (as
	// Grafana's Prometheus data source never steps below the scrape interval).
	grg := rg
	grg.Interval = max(grg.Interval, r.sampleInterval())
	g := NewGrid(grg)
	keepName := len(sp.targets) > 1
	fo := r.fanOut(ctx, urls, q.Filters.Node, statusTTL, func(ctx context.Context, a *answer) error {
		iv := secs(a.status.History.IntervalSeconds)
		need := g.Start - lookback.Milliseconds()
		if rate {
			need = g.Start - RateWindow(g, iv)
		}
		var err error
		a.series, err = r.series(ctx, a.url, sels, time.UnixMilli(need), rg.From, rg.To, keepOf(a.status))
		return err
	}, func(a *answer) {
		// Evaluated in the agent's goroutine, while others are still answering.
		a.groups = evaluate(inputOf(*a), sp, q.GroupBy, keepName, g, rate)
		a.series = api.SeriesResponse{}
	})
	answers := fo.answers
	msg, failed, ok := failures(answers)
	if ok == 0 {
		return backend.ErrDataResponse(backend.StatusBadGateway, "no agent answered: "+msg)
	}
	notices = append(notices, fo.notices...)
	if failed > 0 {
		notices = append(notices, msg)
	}
	if n := skippedAll(answers, q.Filters.Node); n != "" {
		notices = append(notices, n)
	}
	if n := historyNotice(answers, rg, r.now()); n != "" {
		notices = append(notices, n)
	}
	parts := make([][]Group, 0, len(answers))
	for _, a := range answers {
		if a.err == nil && !a.skipped {
			parts = append(parts, a.groups)
		}
	}
	groups := Sum(parts)
	frames := timeSeriesFrames(groups, g, sp, q, rate)
	meta := frames[0].Meta
	meta.ExecutedQueryString = strings.Join(sels, "\n")
	for _, n := range notices {
		meta.Notices = append(meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	// What the metrics lack, in the words and at the severity of prometheus mode.
	for _, n := range labelNotices {
		meta.Notices = append(meta.Notices, data.Notice{Severity: data.NoticeSeverityInfo, Text: n})
	}
	return backend.DataResponse{Frames: frames}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// keepOf is how much history the agent keeps.
func keepOf(st api.Status) time.Duration {
	if k := secs(st.History.DurationSeconds); k > 0 {
		return k
	}
	return historyDefault
}

// skippedAll is a notice when the node filter left no agent.
func skippedAll(answers []answer, nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	for _, a := range answers {
		if a.err == nil && !a.skipped {
			return ""
		}
	}
	return fmt.Sprintf("no reachable agent runs on node %s", strings.Join(nodes, ", "))
}

// historyNotice says when the range starts before the agents' history.
func historyNotice(answers []answer, rg query.Range, now time.Time) string {
	keep := time.Duration(0)
	for _, a := range answers {
		if a.err == nil {
			keep = max(keep, secs(a.status.History.DurationSeconds))
		}
	}
	if keep == 0 {
		keep = historyDefault
	}
	oldest := now.Add(-keep)
	if rg.From.After(oldest.Add(-time.Minute)) {
		return ""
	}
	return fmt.Sprintf("direct mode shows only what the agents keep: the last %s (since %s); the range starts at %s, so its earlier part has no data. Use prometheus mode for longer ranges",
		keep, oldest.UTC().Format(time.TimeOnly), rg.From.UTC().Format(time.DateTime))
}

// Input is one agent's series for Merge.
type Input struct {
	// Node is the agent's node name (its status), added as the node label.
	Node string
	// Interval is how often the agent samples (its history interval).
	Interval time.Duration
	Series   []api.Series
}

func inputOf(a answer) Input {
	iv := secs(a.series.IntervalSeconds)
	if iv <= 0 {
		iv = secs(a.status.History.IntervalSeconds)
	}
	return Input{Node: a.status.Node, Interval: iv, Series: a.series.Series}
}

// Group is one output series: the group-by labels and a value per step
// (NaN where no input series had one).
type Group struct {
	Labels data.Labels
	Values []float64
}

// Merge evaluates every input series on the grid (per-second rate or raw
// counter value) and sums them by the groupBy labels (node from the agent),
// as `sum by (groupBy) (rate(...))`. keepName keeps series of different
// metrics apart (__name__). Groups are sorted by their labels.
func Merge(inputs []Input, groupBy []string, keepName bool, g Grid, rate bool) []Group {
	parts := make([][]Group, len(inputs))
	for i, in := range inputs {
		parts[i] = evaluate(in, spec{}, groupBy, keepName, g, rate)
	}
	return Sum(parts)
}

// evaluate is Merge's first half for one agent: its series evaluated on
// the grid and summed by group (groupBy plus the target's always-grouped
// labels). Fan-outs run it in each agent's goroutine, as soon as its
// answer arrives.
func evaluate(in Input, sp spec, groupBy []string, keepName bool, g Grid, rate bool) []Group {
	window := RateWindow(g, in.Interval)
	byKey := map[string]*Group{}
	var order []string
	for _, s := range in.Series {
		var vals []float64
		if rate {
			vals = Rates(s.Samples, g, window)
		} else {
			vals = Values(s.Samples, g)
		}
		lbls := data.Labels{}
		if keepName {
			lbls["__name__"] = s.Labels["__name__"]
		}
		for _, l := range append(slices.Clone(groupBy), sp.target(s.Labels["__name__"]).Always...) {
			v := s.Labels[l]
			if l == "node" {
				v = in.Node
			}
			if v != "" {
				lbls[l] = v
			}
		}
		key := lbls.String()
		grp := byKey[key]
		if grp == nil {
			byKey[key] = &Group{Labels: lbls, Values: vals}
			order = append(order, key)
			continue
		}
		addInto(grp.Values, vals)
	}
	out := make([]Group, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// addInto adds src to dst step by step; NaN (no value) is left out of the
// sum rather than making it NaN.
func addInto(dst, src []float64) {
	for i, v := range src {
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(dst[i]) {
			dst[i] = v
		} else {
			dst[i] += v
		}
	}
}

// Sum merges the groups of several agents by labels, sorted by labels.
func Sum(parts [][]Group) []Group {
	byKey := map[string]*Group{}
	for _, part := range parts {
		for _, grp := range part {
			key := grp.Labels.String()
			if have := byKey[key]; have != nil {
				addInto(have.Values, grp.Values)
				continue
			}
			g := grp
			g.Values = slices.Clone(grp.Values)
			byKey[key] = &g
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Group, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

// timeSeriesFrames makes one frame per group, as the Prometheus mode does
// (data plane "timeseries-multi"): a Time field and a Value field carrying
// the group's labels, its display name and unit; steps without a value are
// left out. With no group, one empty frame (Time and Value without rows)
// carries the type and any notice. The first frame is the one notices go on.
func timeSeriesFrames(groups []Group, g Grid, sp spec, q models.Query, rate bool) data.Frames {
	var frames data.Frames
	for _, grp := range groups {
		var ts []time.Time
		var vs []float64
		for i, v := range grp.Values {
			if !math.IsNaN(v) {
				ts = append(ts, time.UnixMilli(g.At(i)).UTC())
				vs = append(vs, v)
			}
		}
		if len(ts) == 0 {
			continue
		}
		t := sp.target(grp.Labels["__name__"])
		if len(sp.targets) == 1 {
			t = sp.targets[0]
		}
		lbls := data.Labels{}
		for k, v := range grp.Labels {
			if k != "__name__" {
				lbls[k] = v
			}
		}
		name := DisplayName(lbls, q.LegendFormat, t.Key, append(slices.Clone(q.GroupBy), t.Always...), string(q.QueryType))
		unit := t.UnitValue
		if rate {
			unit = t.UnitRate
		}
		val := data.NewField(data.TimeSeriesValueFieldName, lbls, vs)
		val.Config = &data.FieldConfig{DisplayNameFromDS: name, Unit: unit}
		f := data.NewFrame(name, data.NewField(data.TimeSeriesTimeFieldName, nil, ts), val)
		f.Meta = tsMeta()
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		f := data.NewFrame("", data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{}), data.NewField(data.TimeSeriesValueFieldName, nil, []float64{}))
		f.Meta = tsMeta()
		frames = data.Frames{f}
	}
	return frames
}

func tsMeta() *data.FrameMeta {
	return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
}

var legendRe = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

// DisplayName names a series as the Prometheus mode does: the legend format
// with {{label}} replaced by the label's value; else the target's key (when
// a query reads several metrics) and the values of the labels grouped by,
// space-separated; else the query type.
func DisplayName(lbls data.Labels, legend, key string, groupBy []string, queryType string) string {
	if legend != "" && legend != "__auto" {
		return legendRe.ReplaceAllStringFunc(legend, func(m string) string {
			return lbls[legendRe.FindStringSubmatch(m)[1]]
		})
	}
	var parts []string
	if key != "" {
		parts = append(parts, key)
	}
	seen := map[string]bool{}
	for _, l := range groupBy {
		if v := lbls[l]; v != "" && !seen[l] {
			seen[l] = true
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return queryType
	}
	return strings.Join(parts, " ")
}

// nodesQuery is a table of every agent's status: node, agent addresses,
// version, kernel, drop source, collectors down, reachable, error. An
// unreachable agent is a row (its node as last seen), not an error, since
// this table is where a user looks for it. An agent reachable at several
// URLs is one row.
func (r *Reader) nodesQuery(ctx context.Context, q models.Query) backend.DataResponse {
	urls, notices, errResp := r.agentsOrError(ctx)
	if errResp != nil {
		return *errResp
	}
	fo := r.fanOut(ctx, urls, nil, freshStatus, nil, nil)
	answers := fo.answers
	var node, agent, version, kernel, source, down, errs []string
	var reachable []bool
	for _, a := range answers {
		n := a.id.node
		if len(q.Filters.Node) > 0 && !slices.Contains(q.Filters.Node, n) {
			continue
		}
		var d []string
		for _, c := range a.status.Collectors {
			if !c.Up {
				d = append(d, c.Name)
			}
		}
		e := ""
		if a.err != nil {
			e = describeErr(a.err)
		}
		addrs := make([]string, len(a.urls))
		for i, u := range a.urls {
			addrs[i] = agentName(u)
		}
		node, agent, version, kernel = append(node, n), append(agent, strings.Join(addrs, ", ")), append(version, a.status.Version), append(kernel, a.status.Kernel)
		source, down, reachable, errs = append(source, a.status.DropSource), append(down, strings.Join(d, ", ")), append(reachable, a.err == nil), append(errs, e)
	}
	notices = append(notices, fo.notices...)
	if msg, failed, _ := failures(answers); failed > 0 {
		notices = append(notices, msg)
	}
	for _, fl := range query.FilterList(q.Filters) {
		switch {
		case len(fl.Values) == 0 || fl.Label == "node":
		case fl.Label == "cluster":
			notices = append(notices, clusterFilterNotice)
		default:
			notices = append(notices, query.NodesFilterNotice(fl.Label))
		}
	}
	f := data.NewFrame("nodes",
		data.NewField("node", nil, node),
		data.NewField("agent", nil, agent),
		data.NewField("version", nil, version),
		data.NewField("kernel", nil, kernel),
		data.NewField("drop_source", nil, source),
		data.NewField("collectors_down", nil, down),
		data.NewField("reachable", nil, reachable),
		data.NewField("error", nil, errs),
	)
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable}
	for _, n := range notices {
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	return backend.DataResponse{Frames: data.Frames{f}}
}

// valueSources are the metrics (and the filters they carry) Values reads a label from.
var (
	podDropTarget = query.Target{Metric: "netlens_pod_drop_packets_total", Labels: []string{"namespace", "pod", "reason"}}
	valueSources  = map[query.Label][]spec{
		query.LabelNamespace: {{[]query.Target{podDropTarget}}},
		query.LabelPod:       {{[]query.Target{podDropTarget}}},
		query.LabelReason: {
			{[]query.Target{{Metric: "netlens_drop_packets_total", Labels: []string{"reason"}}}},
			{[]query.Target{podDropTarget}},
		},
		query.LabelInterface: {{[]query.Target{
			{Metric: "netlens_interface_packets_total", Labels: []string{"interface"}},
			{Metric: "netlens_nic_rx_buffer_exhausted_total", Labels: []string{"interface"}},
		}}},
	}
)

// Values lists label's values on the agents (node: the agents' node names)
// among the series matching f in rg (the last 15 minutes if rg is zero).
// Unreachable agents are left out; if none answers it is an error.
func (r *Reader) Values(ctx context.Context, label query.Label, f models.Filters, rg query.Range) ([]string, error) {
	urls, dnsErr := r.disc.agents(ctx)
	if len(urls) == 0 {
		if dnsErr != nil {
			return nil, fmt.Errorf("agent discovery failed: %w", dnsErr)
		}
		return nil, fmt.Errorf("no agents configured")
	}
	if label == query.LabelNode {
		answers := r.fanOut(ctx, urls, nil, statusTTL, nil, nil).answers
		msg, _, ok := failures(answers)
		if ok == 0 {
			return nil, fmt.Errorf("no agent answered: %s", msg)
		}
		var out []string
		for _, a := range answers {
			if a.err == nil && a.status.Node != "" {
				out = append(out, a.status.Node)
			}
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	specs, known := valueSources[label]
	if !known {
		return nil, fmt.Errorf("unknown label %q: want one of %v", label, query.Labels)
	}
	var sels []string
	for _, sp := range specs {
		// A metric without a filtered label (drop reasons have no pod)
		// would list values the filter should exclude.
		if len(specs) > 1 && !carries(sp, f) {
			continue
		}
		s, err := selectors(sp, models.Filters{Namespace: f.Namespace, Pod: f.Pod, Reason: f.Reason, Interface: f.Interface})
		if err != nil {
			return nil, err
		}
		sels = append(sels, s...)
	}
	if len(sels) == 0 {
		return nil, nil
	}
	to, from := rg.To, rg.From
	if to.IsZero() {
		to = r.now()
	}
	if from.IsZero() || !from.Before(to) {
		from = to.Add(-historyDefault)
	}
	answers := r.fanOut(ctx, urls, f.Node, statusTTL, func(ctx context.Context, a *answer) error {
		var err error
		a.series, err = r.series(ctx, a.url, sels, from, from, to, keepOf(a.status))
		return err
	}, nil).answers
	msg, _, ok := failures(answers)
	if ok == 0 {
		return nil, fmt.Errorf("no agent answered: %s", msg)
	}
	var out []string
	for _, a := range answers {
		if a.err != nil || a.skipped {
			continue
		}
		for _, s := range a.series.Series {
			if v := s.Labels[string(label)]; v != "" {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// carries reports whether the spec's metrics have every label f filters on
// (node aside: it selects agents).
func carries(sp spec, f models.Filters) bool {
	for l, vals := range filterLists(f) {
		for _, t := range sp.targets {
			if len(vals) > 0 && !slices.Contains(t.Labels, l) {
				return false
			}
		}
	}
	return true
}
