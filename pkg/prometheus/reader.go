// Package prometheus answers Netlens queries from a Prometheus-compatible
// HTTP API (Prometheus, Thanos, Mimir, Azure Monitor managed Prometheus): it
// translates each query type into PromQL for the netlens_* metrics or the AKS
// Network Observability add-on's networkobservability_* metrics, runs it on
// the configured server only, and builds Grafana data frames.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/common/model"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

var _ query.Reader = (*Reader)(nil)

// API paths, relative to the configured URL.
const (
	pathQuery      = "api/v1/query"
	pathQueryRange = "api/v1/query_range"
)

// Options are for tests and embedding; the zero value is what the plugin uses.
type Options struct {
	// Transport replaces the HTTP transport.
	Transport http.RoundTripper
	// AzureCredential replaces the Azure AD credential built from the settings.
	AzureCredential azcore.TokenCredential
}

// Reader answers queries from Prometheus. It is safe for concurrent use.
type Reader struct {
	base     *url.URL
	where    string // "Prometheus at <url>", for messages
	schema   models.Schema
	authName models.AuthType
	client   *http.Client
	auth     authorizer
	timeout  time.Duration
	scrape   time.Duration
	redact   redactor
}

// New builds a Reader for prometheus-mode settings (validated by
// models.LoadSettings). It does not contact the server: Health does.
func New(s *models.Settings, opts Options) (*Reader, error) {
	if s == nil {
		return nil, errors.New("no settings")
	}
	red := newRedactor(s)
	base, err := url.Parse(s.PrometheusURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil {
		return nil, fmt.Errorf("invalid Prometheus URL %q: give an http(s) URL without credentials, such as http://prometheus:9090", red.String(redactURL(s.PrometheusURL)))
	}
	base.RawQuery, base.Fragment = "", ""
	timeout := time.Duration(s.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = models.DefaultTimeoutSeconds * time.Second
	}
	scrape := DefaultScrapeInterval
	if s.ScrapeIntervalSeconds < 0 || s.ScrapeIntervalSeconds > 3600 {
		return nil, fmt.Errorf("scrape interval %d s is out of range: choose 1 to 3600 seconds (or leave it unset for 15 s)", s.ScrapeIntervalSeconds)
	} else if s.ScrapeIntervalSeconds > 0 {
		scrape = time.Duration(s.ScrapeIntervalSeconds) * time.Second
	}
	auth, err := newAuthorizer(s, opts)
	if err != nil {
		return nil, errors.New(red.String(err.Error()))
	}
	schema := s.Schema
	if schema == "" {
		schema = models.SchemaNetlens
	}
	authName := s.PrometheusAuth
	if authName == "" {
		authName = models.AuthNone
	}
	return &Reader{
		base: base, where: "Prometheus at " + base.String(), schema: schema, authName: authName,
		client: newHTTPClient(opts, timeout), auth: auth, timeout: timeout, scrape: scrape, redact: red,
	}, nil
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// Query answers one query. Everything it needs is in q and r, so alert rules
// evaluate exactly like panels.
func (r *Reader) Query(ctx context.Context, q models.Query, rg query.Range) backend.DataResponse {
	if q.Rate == nil {
		t := true
		q.Rate = &t
	}
	tm := computeTiming(rg, r.scrape)
	switch q.QueryType {
	case models.QueryEvents:
		return backend.ErrDataResponse(backend.StatusBadRequest, "drop events are a live stream of the agents: use direct mode (Prometheus stores no individual drops)")
	case models.QueryNodes:
		return r.nodes(ctx, q, rg)
	case models.QueryPromQL:
		if strings.TrimSpace(q.Expr) == "" {
			return backend.ErrDataResponse(backend.StatusBadRequest, "promql query has no expression")
		}
		expr := interpolate(q.Expr, tm, rg)
		frames, err := r.rangeFrames(ctx, expr, tm, series{legend: q.LegendFormat, unit: "", raw: true})
		if err != nil {
			return errResponse(err)
		}
		return backend.DataResponse{Frames: frames}
	}
	p, err := planQuery(r.schema, q)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	window := promDuration(tm.Window)
	var frames data.Frames
	for _, t := range p.targets {
		expr := t.expr(q, window)
		fs, err := r.rangeFrames(ctx, expr, tm, series{key: t.key, legend: q.LegendFormat, unit: t.unit(q), groupBy: t.groupBy(q.GroupBy), target: &t, queryType: q.QueryType})
		if err != nil {
			return errResponse(err)
		}
		frames = append(frames, fs...)
	}
	addNotices(frames, data.NoticeSeverityInfo, p.notices)
	return backend.DataResponse{Frames: frames}
}

func errResponse(err error) backend.DataResponse {
	var pe *Error
	if errors.As(err, &pe) {
		return backend.ErrDataResponse(pe.Status, pe.Msg)
	}
	return backend.ErrDataResponse(backend.StatusInternal, err.Error())
}

// series says how to name and label a result's series.
type series struct {
	key       string
	legend    string
	unit      string
	groupBy   []string
	target    *target
	queryType models.QueryType
	// raw keeps labels as Prometheus sent them, __name__ included (promql queries).
	raw bool
}

// rangeFrames runs a range query and returns one frame per series
// (TimeSeriesMulti), or one empty frame when there is none, so that the
// executed query and notices still reach the panel and alert rules see "no data".
func (r *Reader) rangeFrames(ctx context.Context, expr string, tm timing, s series) (data.Frames, error) {
	params := url.Values{
		"query": {expr},
		"start": {timeParam(tm.Start)},
		"end":   {timeParam(tm.End)},
		"step":  {stepParam(tm.Step)},
	}
	ar, err := r.call(ctx, http.MethodPost, pathQueryRange, params)
	if err != nil {
		var pe *Error
		if errors.As(err, &pe) && pe.Kind != "" {
			pe.Msg += r.redact.String(" (query: " + expr + ")")
		}
		return nil, err
	}
	m, err := decodeMatrix(ar.Data)
	if err != nil {
		return nil, r.fail(backend.StatusBadGateway, "", "%s answered a range query with an unexpected result: %v", r.where, err)
	}
	frames := buildFrames(m, s, expr)
	addNotices(frames, data.NoticeSeverityWarning, prefixAll("Prometheus warning: ", r.redactAll(ar.Warnings)))
	addNotices(frames, data.NoticeSeverityInfo, prefixAll("Prometheus info: ", r.redactAll(ar.Infos)))
	return frames, nil
}

func (r *Reader) redactAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.redact.String(s)
	}
	return out
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// buildFrames turns a matrix into TimeSeriesMulti frames: a time field and a
// value field per series, the series' labels on the value field.
func buildFrames(m []stream, s series, expr string) data.Frames {
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}, ExecutedQueryString: expr}
	}
	if len(m) == 0 {
		f := data.NewFrame(s.key, data.NewField("Time", nil, []time.Time{}), data.NewField("Value", nil, []float64{}))
		f.Meta = meta()
		return data.Frames{f}
	}
	frames := make(data.Frames, 0, len(m))
	for _, ss := range m {
		labels := make(data.Labels, len(ss.metric))
		for k, v := range ss.metric {
			name := k
			if !s.raw {
				if name == model.MetricNameLabel {
					continue
				}
				if s.target != nil {
					name = s.target.netlensName(name)
				}
			}
			labels[name] = v
		}
		times, vals := ss.times, ss.values
		if times == nil {
			times, vals = []time.Time{}, []float64{}
		}
		name := displayName(s, labels)
		vf := data.NewField("Value", labels, vals)
		vf.Config = &data.FieldConfig{DisplayNameFromDS: name, Unit: s.unit}
		f := data.NewFrame(name, data.NewField("Time", nil, times), vf)
		f.Meta = meta()
		frames = append(frames, f)
	}
	return frames
}

// displayName is the legend format with {{label}} replaced, or the target's
// key and the group-by labels' values, or (raw PromQL) metric{labels} as
// Grafana's Prometheus data source names series.
func displayName(s series, labels data.Labels) string {
	if s.legend != "" && s.legend != "__auto" {
		return expandLegend(s.legend, labels)
	}
	if s.raw {
		name := labels[model.MetricNameLabel]
		var kv []string
		for _, k := range sortedKeys(labels) {
			if k != model.MetricNameLabel {
				kv = append(kv, k+"="+Quote(labels[k]))
			}
		}
		if len(kv) == 0 {
			if name == "" {
				return "value"
			}
			return name
		}
		return name + "{" + strings.Join(kv, ", ") + "}"
	}
	var parts []string
	if s.key != "" {
		parts = append(parts, s.key)
	}
	for _, g := range s.groupBy {
		if v := labels[g]; v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return string(s.queryType)
	}
	return strings.Join(parts, " ")
}

// expandLegend replaces {{ name }} by the label's value (empty if absent).
func expandLegend(format string, labels data.Labels) string {
	var b strings.Builder
	for {
		i := strings.Index(format, "{{")
		if i < 0 {
			b.WriteString(format)
			return b.String()
		}
		j := strings.Index(format[i:], "}}")
		if j < 0 {
			b.WriteString(format)
			return b.String()
		}
		b.WriteString(format[:i])
		b.WriteString(labels[strings.TrimSpace(format[i+2:i+j])])
		format = format[i+j+2:]
	}
}

func sortedKeys(l data.Labels) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// addNotices puts notices on the first frame (Grafana shows a panel's notices
// from all its frames, so once is enough).
func addNotices(frames data.Frames, sev data.NoticeSeverity, texts []string) {
	if len(frames) == 0 || len(texts) == 0 {
		return
	}
	f := frames[0]
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	for _, t := range texts {
		f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: sev, Text: t})
	}
}

// instant runs an instant query at t and returns its vector.
func (r *Reader) instant(ctx context.Context, expr string, t time.Time) (model.Vector, *apiResponse, error) {
	params := url.Values{"query": {expr}}
	if !t.IsZero() {
		params.Set("time", timeParam(t))
	}
	ar, err := r.call(ctx, http.MethodPost, pathQuery, params)
	if err != nil {
		return nil, ar, err
	}
	var d struct {
		ResultType string       `json:"resultType"`
		Result     model.Vector `json:"result"`
	}
	if err := json.Unmarshal(ar.Data, &d); err != nil || d.ResultType != "vector" {
		return nil, ar, r.fail(backend.StatusBadGateway, "", "%s answered an instant query with an unexpected result (%s)", r.where, d.ResultType)
	}
	return d.Result, ar, nil
}

// nodes is a table of the agents at the end of the range: node, cluster,
// version, kernel, drop source, and the collectors that are down.
func (r *Reader) nodes(ctx context.Context, q models.Query, rg query.Range) backend.DataResponse {
	info, down := nodesExprs(r.schema, q.Filters)
	var notices []string
	for _, f := range query.FilterList(q.Filters) {
		if len(f.Values) > 0 && f.Label != "node" && f.Label != "cluster" {
			notices = append(notices, query.NodesFilterNotice(f.Label))
		}
	}
	at := rg.To
	vec, ar, err := r.instant(ctx, info, at)
	if err != nil {
		return errResponse(err)
	}
	warnings := ar.Warnings
	downBy := map[string][]string{}
	if down != "" {
		dv, dar, err := r.instant(ctx, down, at)
		if err != nil {
			return errResponse(err)
		}
		warnings = append(warnings, dar.Warnings...)
		for _, s := range dv {
			k := nodeKey(s.Metric)
			downBy[k] = append(downBy[k], string(s.Metric["collector"]))
		}
	} else {
		notices = append(notices, retinaNodesLimits)
	}
	type row struct{ node, cluster, version, kernel, source, down string }
	var rows []row
	for _, s := range vec {
		m := s.Metric
		node := string(m["node"])
		if node == "" {
			node = string(m["instance"])
		}
		d := downBy[nodeKey(m)]
		sort.Strings(d)
		rows = append(rows, row{node, string(m["cluster"]), string(m["version"]), string(m["kernel"]), string(m["drop_source"]), strings.Join(d, ", ")})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].cluster != rows[j].cluster {
			return rows[i].cluster < rows[j].cluster
		}
		return rows[i].node < rows[j].node
	})
	cols := make([][]string, 6)
	for _, rw := range rows {
		for i, v := range []string{rw.node, rw.cluster, rw.version, rw.kernel, rw.source, rw.down} {
			cols[i] = append(cols[i], v)
		}
	}
	names := []string{"node", "cluster", "version", "kernel", "drop_source", "collectors_down"}
	fields := make([]*data.Field, len(names))
	for i, n := range names {
		if cols[i] == nil {
			cols[i] = []string{}
		}
		fields[i] = data.NewField(n, nil, cols[i])
	}
	f := data.NewFrame("nodes", fields...)
	exec := info
	if down != "" {
		exec += "\n" + down
	}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, ExecutedQueryString: exec}
	frames := data.Frames{f}
	addNotices(frames, data.NoticeSeverityWarning, prefixAll("Prometheus warning: ", r.redactAll(warnings)))
	addNotices(frames, data.NoticeSeverityInfo, notices)
	return backend.DataResponse{Frames: frames}
}

func nodeKey(m model.Metric) string {
	n := m["node"]
	if n == "" {
		n = m["instance"]
	}
	return string(m["cluster"]) + "\x00" + string(n)
}

// Health checks that Prometheus answers with these credentials and holds the
// schema's metrics, and says how many agents (nodes) report.
func (r *Reader) Health(ctx context.Context) *backend.CheckHealthResult {
	expr := healthExpr(r.schema)
	vec, _, err := r.instant(ctx, expr, time.Time{})
	if err != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}
	}
	n := 0
	if len(vec) > 0 {
		n = int(vec[0].Value)
	}
	what, fix := "netlens metrics were found (netlens_agent_info has no series)", "check that Prometheus scrapes the netlens agents (the Helm chart's ServiceMonitor or scrape config; docs/install.md)"
	if r.schema == models.SchemaRetina {
		what, fix = "AKS Network Observability metrics were found (no networkobservability_forward_count or drop_count series)",
			"check that the cluster has the Network Observability add-on (Retina) and that this Prometheus (e.g. the Azure Monitor workspace) collects its metrics, or choose the netlens schema"
	}
	if n == 0 {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError,
			Message: fmt.Sprintf("%s is reachable (%s auth), but no %s: %s.", r.where, r.authName, what, fix)}
	}
	unit := "agent"
	if r.schema == models.SchemaRetina {
		unit = "node"
	}
	if n != 1 {
		unit += "s"
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk,
		Message: fmt.Sprintf("%s is reachable (%s auth): %d %s reporting %s metrics.", r.where, r.authName, n, unit, r.schema)}
}

// valueSources are, per label, the metrics whose values of it are listed
// (any of them; Prometheus ORs several match[] selectors).
func valueSources(schema models.Schema, label query.Label) ([]target, string, error) {
	if schema == models.SchemaRetina {
		podL := withNode("namespace", "pod", "workload", "direction", "reason")
		podS := map[string]string{"node": "instance", "pod": "podname", "workload": "workload_name"}
		switch label {
		case query.LabelNode:
			return []target{{metric: "networkobservability_forward_count", labels: nodeLabels, stored: retinaNode}, {metric: "networkobservability_drop_count", labels: withNode("reason"), stored: retinaNode}}, "instance", nil
		case query.LabelNamespace:
			return []target{{metric: "networkobservability_adv_drop_count", labels: podL, stored: podS}, {metric: "networkobservability_adv_forward_count", labels: withNode("namespace", "pod", "workload", "direction"), stored: podS}}, "namespace", nil
		case query.LabelPod:
			return []target{{metric: "networkobservability_adv_drop_count", labels: podL, stored: podS}, {metric: "networkobservability_adv_forward_count", labels: withNode("namespace", "pod", "workload", "direction"), stored: podS}}, "podname", nil
		case query.LabelReason:
			return []target{{metric: "networkobservability_drop_count", labels: withNode("reason"), stored: retinaNode}, {metric: "networkobservability_adv_drop_count", labels: podL, stored: podS}}, "reason", nil
		case query.LabelInterface:
			return []target{{metric: "networkobservability_interface_stats", labels: withNode("interface"), stored: map[string]string{"node": "instance", "interface": "interface_name"}}}, "interface_name", nil
		}
	} else {
		pod := target{metric: "netlens_pod_drop_packets_total", labels: withNode("namespace", "pod", "workload", "direction", "reason")}
		switch label {
		case query.LabelNode:
			return []target{{metric: "netlens_agent_info", labels: nodeLabels}, pod}, "node", nil
		case query.LabelNamespace:
			return []target{pod}, "namespace", nil
		case query.LabelPod:
			return []target{pod}, "pod", nil
		case query.LabelReason:
			return []target{{metric: "netlens_drop_packets_total", labels: withNode("reason", "location", "protocol")}, pod}, "reason", nil
		case query.LabelInterface:
			return []target{{metric: "netlens_interface_packets_total", labels: withNode("interface", "direction")}, {metric: "netlens_nic_stat_total", labels: withNode("interface", "driver", "queue", "stat")}}, "interface", nil
		}
	}
	return nil, "", fmt.Errorf("no values for label %q: want one of %v", label, query.Labels)
}

// Values lists label's values among the series matching f in the range, via
// /api/v1/label/<name>/values with match[] selectors (filters escaped like
// queries'). A source metric is used when it has every filtered label; when
// none has, each source is used with the filters it has.
func (r *Reader) Values(ctx context.Context, label query.Label, f models.Filters, rg query.Range) ([]string, error) {
	srcs, stored, err := valueSources(r.schema, label)
	if err != nil {
		return nil, err
	}
	var full []target
	for _, t := range srcs {
		ok := true
		for _, fl := range query.FilterList(f) {
			if len(fl.Values) > 0 && !slices.Contains(t.labels, fl.Label) {
				ok = false
			}
		}
		if ok {
			full = append(full, t)
		}
	}
	if len(full) == 0 {
		full = srcs
	}
	params := url.Values{}
	for _, t := range full {
		params.Add("match[]", t.selector(f))
	}
	if !rg.From.IsZero() {
		params.Set("start", timeParam(rg.From))
	}
	if !rg.To.IsZero() {
		params.Set("end", timeParam(rg.To))
	}
	// stored comes from the table above, never from the caller.
	ar, err := r.call(ctx, http.MethodGet, "api/v1/label/"+url.PathEscape(stored)+"/values", params)
	if err != nil {
		return nil, err
	}
	var vals []string
	if err := json.Unmarshal(ar.Data, &vals); err != nil {
		return nil, r.fail(backend.StatusBadGateway, "", "%s answered a label values request with an unexpected result: %v", r.where, err)
	}
	sort.Strings(vals)
	return slices.Compact(vals), nil
}
