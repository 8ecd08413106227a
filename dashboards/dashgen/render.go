package dashgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/prometheus"
	"github.com/netlens/netlens/pkg/query"
)

// SchemaVersion is the Grafana dashboard schema version the files are written in.
const SchemaVersion = 41

// aboutPanelID is the id of the AKS flavour's text panel saying what the
// add-on lacks (above every definition's ids).
const aboutPanelID = 100

// Files renders every dashboard in every flavour: path under dashboards/
// (such as "drops.json" or "aks/nic.json") to file content.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, fl := range Flavours {
		for _, d := range Dashboards {
			b, err := Render(d, fl)
			if err != nil {
				return nil, fmt.Errorf("%s (%s): %w", d.Title, fl.Name, err)
			}
			out[path.Join(fl.Dir, d.File)] = b
		}
	}
	return out, nil
}

// Render writes one dashboard in one flavour, as indented JSON.
func Render(d Dashboard, fl Flavour) ([]byte, error) {
	r := renderer{d: d, fl: fl}
	dj, err := r.dashboard()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // PromQL's > and URLs' & stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(dj); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReasonsPanel is the plugin id of the app's drop reasons panel.
const ReasonsPanel = "netlens-reasons-panel"

type renderer struct {
	d  Dashboard
	fl Flavour
}

// UID is the uid of a dashboard in a flavour.
func UID(base string, fl Flavour) string { return base + fl.UIDSuffix }

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func (r renderer) ds() *dsRef {
	if r.fl.Netlens {
		return &dsRef{Type: DatasourceID, UID: "${" + DatasourceVar + "}"}
	}
	return &dsRef{Type: "prometheus", UID: "${" + DatasourceVar + "}"}
}

type dashboardJSON struct {
	ID                   *int        `json:"id"`
	UID                  string      `json:"uid"`
	Title                string      `json:"title"`
	Description          string      `json:"description"`
	Tags                 []string    `json:"tags"`
	Editable             bool        `json:"editable"`
	GraphTooltip         int         `json:"graphTooltip"`
	Refresh              string      `json:"refresh"`
	SchemaVersion        int         `json:"schemaVersion"`
	Version              int         `json:"version"`
	Time                 timeJSON    `json:"time"`
	Timezone             string      `json:"timezone"`
	FiscalYearStartMonth int         `json:"fiscalYearStartMonth"`
	LiveNow              bool        `json:"liveNow"`
	Links                []linkJSON  `json:"links"`
	Annotations          annotations `json:"annotations"`
	Templating           templating  `json:"templating"`
	Panels               []panelJSON `json:"panels"`
}

type timeJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type linkJSON struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Icon        string   `json:"icon"`
	Tooltip     string   `json:"tooltip"`
	URL         string   `json:"url,omitempty"`
	Tags        []string `json:"tags"`
	AsDropdown  bool     `json:"asDropdown"`
	TargetBlank bool     `json:"targetBlank"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
}

type annotations struct {
	List []annotation `json:"list"`
}

type annotation struct {
	BuiltIn    int    `json:"builtIn"`
	Datasource dsRef  `json:"datasource"`
	Enable     bool   `json:"enable"`
	Hide       bool   `json:"hide"`
	IconColor  string `json:"iconColor"`
	Name       string `json:"name"`
	Type       string `json:"type"`
}

type templating struct {
	List []variableJSON `json:"list"`
}

type variableJSON struct {
	Name             string    `json:"name"`
	Label            string    `json:"label"`
	Description      string    `json:"description,omitempty"`
	Type             string    `json:"type"`
	Datasource       *dsRef    `json:"datasource,omitempty"`
	Query            any       `json:"query"`
	Definition       string    `json:"definition,omitempty"`
	Current          *current  `json:"current,omitempty"`
	Hide             int       `json:"hide"`
	Refresh          *int      `json:"refresh,omitempty"`
	Regex            string    `json:"regex"`
	Sort             *int      `json:"sort,omitempty"`
	Multi            bool      `json:"multi"`
	IncludeAll       bool      `json:"includeAll"`
	AllValue         string    `json:"allValue,omitempty"`
	AllowCustomValue *bool     `json:"allowCustomValue,omitempty"`
	Options          []current `json:"options,omitempty"`
}

type current struct {
	Selected bool     `json:"selected"`
	Text     []string `json:"text"`
	Value    []string `json:"value"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type panelJSON struct {
	ID              int              `json:"id"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	Datasource      *dsRef           `json:"datasource,omitempty"`
	GridPos         gridPos          `json:"gridPos"`
	FieldConfig     fieldConfig      `json:"fieldConfig"`
	Options         map[string]any   `json:"options"`
	Targets         []any            `json:"targets,omitempty"`
	Transformations []transformation `json:"transformations,omitempty"`
}

type fieldConfig struct {
	Defaults  map[string]any `json:"defaults"`
	Overrides []override     `json:"overrides"`
}

type override struct {
	Matcher    matcher    `json:"matcher"`
	Properties []property `json:"properties"`
}

type matcher struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

type property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

type transformation struct {
	ID      string         `json:"id"`
	Filter  *matcher       `json:"filter,omitempty"`
	Options map[string]any `json:"options"`
}

// netlensTarget is a query of the Netlens data source (NetlensQuery in
// src/datasource/types.ts).
type netlensTarget struct {
	RefID        string          `json:"refId"`
	Datasource   *dsRef          `json:"datasource"`
	QueryType    string          `json:"queryType"`
	GroupBy      []string        `json:"groupBy,omitempty"`
	Filters      *models.Filters `json:"filters,omitempty"`
	Value        string          `json:"value,omitempty"`
	Rate         *bool           `json:"rate,omitempty"`
	LegendFormat string          `json:"legendFormat,omitempty"`
}

// promTarget is a query of Grafana's Prometheus data source.
type promTarget struct {
	RefID        string `json:"refId"`
	Datasource   *dsRef `json:"datasource"`
	EditorMode   string `json:"editorMode"`
	Expr         string `json:"expr"`
	LegendFormat string `json:"legendFormat,omitempty"`
	Range        bool   `json:"range"`
	Instant      bool   `json:"instant"`
	Format       string `json:"format,omitempty"`
}

func (r renderer) dashboard() (*dashboardJSON, error) {
	d, fl := r.d, r.fl
	desc := d.Description + " " + fl.About
	dj := &dashboardJSON{
		UID:         UID(d.UID, fl),
		Title:       d.Title + fl.TitleSuffix,
		Description: desc,
		Tags:        append([]string{"netlens", fl.Tag}, d.Tags...),
		// Generated: edits belong in dashgen; users copy the dashboard to change it
		// (dashboard-linter's uneditable-dashboard rule).
		Editable:      false,
		GraphTooltip:  1, // shared crosshair: spikes line up across panels
		Refresh:       d.Refresh,
		SchemaVersion: SchemaVersion,
		Version:       1,
		Time:          timeJSON{From: "now-1h", To: "now"},
		Timezone:      "browser",
		Links: []linkJSON{{
			Title: "Netlens dashboards", Type: "dashboards", Icon: "external link", Tags: []string{fl.Tag},
			AsDropdown: true, IncludeVars: true, KeepTime: true,
			Tooltip: "The other Netlens dashboards of this kind, with the same time range and variables",
		}},
		Annotations: annotations{List: []annotation{{
			BuiltIn: 1, Datasource: dsRef{Type: "grafana", UID: "-- Grafana --"}, Enable: true, Hide: true,
			IconColor: "rgba(0, 211, 255, 1)", Name: "Annotations & Alerts", Type: "dashboard",
		}}},
	}
	if fl.Netlens {
		dj.Links = append(dj.Links, linkJSON{
			Title: "Netlens app", Type: "link", Icon: "apps", URL: "/a/" + AppID + "/overview", Tags: []string{},
			Tooltip: "The Netlens app's pages: drops with live events, NIC, nodes",
		})
	}
	vars, err := r.variables()
	if err != nil {
		return nil, err
	}
	dj.Templating.List = vars

	var panels []panelJSON
	var omitted []string
	var limits []string
	for _, p := range d.Panels {
		pj, why, notes, err := r.panel(p)
		if err != nil {
			return nil, fmt.Errorf("panel %d %q: %w", p.ID, p.Title, err)
		}
		for _, n := range notes {
			if !slices.Contains(limits, n) {
				limits = append(limits, n)
			}
		}
		if why != "" {
			omitted = append(omitted, fmt.Sprintf("- **%s**: %s", p.Title, why))
			continue
		}
		panels = append(panels, *pj)
	}
	if fl.Schema == models.SchemaRetina {
		panels = append([]panelJSON{r.about(omitted, limits)}, panels...)
	} else if len(omitted) > 0 {
		return nil, fmt.Errorf("panels left out of the %s flavour: %v", fl.Name, omitted)
	}
	layout(panels)
	dj.Panels = panels
	return dj, nil
}

// layout places the panels left to right in rows of 24 columns.
func layout(panels []panelJSON) {
	x, y, rowH := 0, 0, 0
	for i := range panels {
		g := &panels[i].GridPos
		if x+g.W > 24 {
			x, y, rowH = 0, y+rowH, 0
		}
		g.X, g.Y = x, y
		x += g.W
		rowH = max(rowH, g.H)
	}
}

// about is the AKS flavour's first panel: what the add-on's metrics cannot
// show, so that a missing panel is explained rather than silently absent.
func (r renderer) about(omitted, limits []string) panelJSON {
	var b strings.Builder
	b.WriteString("This dashboard reads the AKS Network Observability add-on's `networkobservability_*` metrics " +
		"(node is the scrape's `instance` label). Drop reasons are the add-on's own (netfilter and TCP hooks), not the " +
		"kernel's skb drop reasons the Netlens agent reports.\n\n")
	if len(omitted) > 0 {
		b.WriteString("**Left out: panels of the Netlens version the add-on has no metrics for**\n\n")
		b.WriteString(strings.Join(omitted, "\n"))
		b.WriteString("\n\n")
	} else {
		b.WriteString("Every panel of the Netlens version is shown.\n\n")
	}
	if len(limits) > 0 {
		b.WriteString("**What the add-on's metrics lack**\n\n")
		for _, l := range limits {
			b.WriteString("- " + limitText(l) + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("The Netlens agent exports all of it, with the kernel's own drop reasons: see the Netlens version of this dashboard.")
	h := 4 + len(omitted) + len(limits)
	return panelJSON{
		ID: aboutPanelID, Type: "text", Title: "About this dashboard: the AKS add-on's metrics",
		Description: "What the AKS Network Observability add-on's metrics can and cannot show, compared with the Netlens agent's.",
		GridPos:     gridPos{W: 24, H: h},
		FieldConfig: fieldConfig{Defaults: map[string]any{}, Overrides: []override{}},
		Options:     map[string]any{"mode": "markdown", "content": b.String()},
	}
}

var labelTitles = map[string]string{
	"cluster": "Cluster", "node": "Node", "namespace": "Namespace", "pod": "Pod", "reason": "Reason", "interface": "Interface",
}

// variableFilters are the variables a variable's values are filtered by.
var variableFilters = map[string][]string{
	"cluster":   nil,
	"node":      {"cluster"},
	"namespace": {"cluster", "node"},
	"pod":       {"cluster", "node", "namespace"},
	"reason":    {"cluster", "node"},
	"interface": {"cluster", "node"},
}

func (r renderer) variables() ([]variableJSON, error) {
	ref := r.ds()
	dsQuery := "prometheus"
	if r.fl.Netlens {
		dsQuery = DatasourceID
	}
	one := 1
	out := []variableJSON{{
		Name: DatasourceVar, Label: "Data source", Type: "datasource", Query: dsQuery, Refresh: &one,
		Description: "The " + map[bool]string{true: "Netlens", false: "Prometheus"}[r.fl.Netlens] + " data source to read from",
	}}
	all := &current{Selected: true, Text: []string{"All"}, Value: []string{"$__all"}}
	for _, name := range r.d.Variables {
		title, ok := labelTitles[name]
		if !ok {
			return nil, fmt.Errorf("no variable %q", name)
		}
		var deps []string
		for _, dep := range variableFilters[name] {
			if slices.Contains(r.d.Variables, dep) {
				deps = append(deps, dep)
			}
		}
		two, sortAlpha := 2, 1
		v := variableJSON{
			Name: name, Label: title, Type: "query", Datasource: ref, Current: all, Refresh: &two, Sort: &sortAlpha,
			Multi: true, IncludeAll: true,
		}
		if r.fl.Netlens {
			v.AllValue = AllNetlens
			if name == "cluster" {
				// The data source lists no clusters (GET /values has no cluster).
				yes := true
				v = variableJSON{
					Name: name, Label: title, Type: "custom", Query: "", Current: all, Multi: true, IncludeAll: true,
					AllValue: AllNetlens, AllowCustomValue: &yes,
					Options:     []current{{Selected: true, Text: []string{"All"}, Value: []string{"$__all"}}},
					Description: "The Netlens data source does not list clusters: All, or type the cluster label's value to filter by it",
				}
				out = append(out, v)
				continue
			}
			text := name
			var params []string
			for _, dep := range deps {
				params = append(params, dep+"=$"+dep)
			}
			if len(params) > 0 {
				text += "?" + strings.Join(params, "&")
			}
			v.Query = map[string]string{"refId": "NetlensVariableQuery-" + name, "query": text}
			v.Definition = text
		} else {
			v.AllValue = AllRegex
			lbl, sel, err := r.valuesQuery(name, deps)
			if err != nil {
				return nil, err
			}
			v.Query = "label_values(" + sel + ", " + lbl + ")"
			v.Definition = v.Query.(string)
		}
		out = append(out, v)
	}
	return out, nil
}

// valuesQuery is the selector and label a Prometheus variable lists: the
// backend's own source of the label's values (prometheus.TemplateValuesSelector).
func (r renderer) valuesQuery(name string, deps []string) (string, string, error) {
	f := filters(deps...)
	if name == "cluster" {
		// The metric the node values come from (every agent / node has it).
		sel, _, err := prometheus.TemplateValuesSelector(r.fl.Schema, query.LabelNode, f)
		return "cluster", sel, err
	}
	sel, stored, err := prometheus.TemplateValuesSelector(r.fl.Schema, query.Label(name), f)
	return stored, sel, err
}

// shown is a query's targets in this flavour's schema that the panel shows.
type shown struct {
	q     Query
	exprs []prometheus.TemplateExpr
	// all are the keys of every target of the query type, in both schemas.
	all []string
}

// targets translates the panel's queries (drops ... netstat) in the schema
// and keeps the targets the query selects. why says why the panel cannot be
// shown in this schema; notes are the schema's limits the panel is subject to.
func (r renderer) targets(p Panel) ([]shown, string, []string, error) {
	var out []shown
	var notes []string
	for _, qu := range p.Queries {
		if qu.Q.QueryType == models.QueryNodes {
			out = append(out, shown{q: qu})
			continue
		}
		exprs, notices, err := prometheus.TemplateExprs(r.fl.Schema, qu.Q, RateWindow)
		if err != nil {
			return nil, "", nil, err
		}
		var all []string
		for _, s := range []models.Schema{models.SchemaNetlens, models.SchemaRetina} {
			es, _, err := prometheus.TemplateExprs(s, qu.Q, RateWindow)
			if err != nil {
				return nil, "", nil, err
			}
			for _, e := range es {
				if e.Key != "" && !slices.Contains(all, e.Key) {
					all = append(all, e.Key)
				}
			}
		}
		if qu.Legend != "" && len(exprs) > 1 {
			return nil, "", nil, fmt.Errorf("a legend on a %s query, which has several targets: series would lose their target's name", qu.Q.QueryType)
		}
		var keep []prometheus.TemplateExpr
		for _, e := range exprs {
			if len(qu.Keys) == 0 || slices.Contains(qu.Keys, e.Key) {
				keep = append(keep, e)
			}
		}
		for _, k := range qu.Keys {
			if !slices.Contains(all, k) {
				return nil, "", nil, fmt.Errorf("key %q is no target of %s queries", k, qu.Q.QueryType)
			}
		}
		var limits []string
		for _, n := range notices {
			if strings.HasPrefix(n, "retina schema: ") {
				limits = append(limits, n)
			}
		}
		if len(keep) == 0 {
			if r.fl.Schema != models.SchemaRetina {
				return nil, "", nil, fmt.Errorf("no target of %s with keys %v in the %s schema", qu.Q.QueryType, qu.Keys, r.fl.Schema)
			}
			var what []string
			for _, k := range qu.Keys {
				if t, ok := keyTitles[k]; ok {
					what = append(what, t)
				}
			}
			return nil, "the add-on exports no " + strings.Join(what, " and no ") + ".", limits, nil
		}
		for _, e := range keep {
			if len(e.Lacks) > 0 {
				if r.fl.Schema != models.SchemaRetina {
					return nil, "", nil, fmt.Errorf("%s has no %v label: every filter and group-by label must apply", e.Metric, e.Lacks)
				}
				return nil, fmt.Sprintf("the add-on's %s has no %s label.", e.Metric, strings.Join(e.Lacks, " or ")), nil, nil
			}
		}
		notes = append(notes, limits...)
		out = append(out, shown{q: qu, exprs: keep, all: all})
	}
	return out, "", notes, nil
}

// legend is how a target's series are named: the query's legend, else the
// backend's display name (pkg/prometheus displayName): the target's key when
// the query type reads several metrics, then the group-by labels' values.
func legend(s shown, e prometheus.TemplateExpr) string {
	if s.q.Legend != "" {
		// The legend names labels as the data source's frames do (netlens
		// names); the PromQL answer has the schema's.
		return legendLabel.ReplaceAllStringFunc(s.q.Legend, func(m string) string {
			l := legendLabel.FindStringSubmatch(m)[1]
			if stored, ok := e.Stored[l]; ok {
				return "{{" + stored + "}}"
			}
			return m
		})
	}
	var parts []string
	if e.Key != "" {
		parts = append(parts, e.Key)
	}
	for _, g := range e.GroupBy {
		parts = append(parts, "{{"+g+"}}")
	}
	if len(parts) == 0 {
		return string(s.q.Q.QueryType)
	}
	return strings.Join(parts, " ")
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// keyPattern matches the names of the series of the given targets (the
// backend names them "<key> <labels>").
func keyPattern(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = regexp.QuoteMeta(k)
	}
	return "^(" + strings.Join(q, "|") + ")( .*)?$"
}

func refID(i int) string { return string(rune('A' + i)) }

func (r renderer) panel(p Panel) (*panelJSON, string, []string, error) {
	ss, why, notes, err := r.targets(p)
	if err != nil || why != "" {
		return nil, why, notes, err
	}
	desc := p.Description
	for _, n := range notes {
		desc += " With the AKS add-on: " + limitText(n)
	}
	pj := &panelJSON{
		ID: p.ID, Title: p.Title, Description: desc, Datasource: r.ds(),
		GridPos:     gridPos{W: p.W, H: p.H},
		FieldConfig: fieldConfig{Defaults: map[string]any{}, Overrides: []override{}},
	}

	// Targets, their units, and (Netlens flavour) the transformation that
	// keeps only the selected targets' series.
	var units []struct{ key, unit string }
	n := 0
	for _, s := range ss {
		if s.q.Q.QueryType == models.QueryNodes {
			t, tr := r.nodesTarget(refID(n), p.Kind, s.q)
			pj.Targets = append(pj.Targets, t)
			pj.Transformations = append(pj.Transformations, tr...)
			n++
			continue
		}
		for _, e := range s.exprs {
			units = append(units, struct{ key, unit string }{e.Key, e.Unit})
		}
		if r.fl.Netlens {
			qq := s.q.Q
			tj := netlensTarget{RefID: refID(n), Datasource: r.ds(), QueryType: string(qq.QueryType), GroupBy: qq.GroupBy,
				Value: qq.Value, Rate: qq.Rate, LegendFormat: s.q.Legend}
			if !isZero(qq.Filters) {
				f := qq.Filters
				tj.Filters = &f
			}
			pj.Targets = append(pj.Targets, tj)
			// The data source may read either schema: keep the selected
			// targets of both.
			var drop []string
			for _, k := range s.all {
				if !slices.Contains(s.q.Keys, k) {
					drop = append(drop, k)
				}
			}
			if len(s.q.Keys) > 0 && len(drop) > 0 {
				pj.Transformations = append(pj.Transformations, transformation{
					ID: "filterFieldsByName", Filter: &matcher{ID: "byRefId", Options: refID(n)},
					Options: map[string]any{"exclude": map[string]any{"pattern": keyPattern(drop)}},
				})
			}
			n++
			continue
		}
		for _, e := range s.exprs {
			pj.Targets = append(pj.Targets, promTarget{RefID: refID(n), Datasource: r.ds(), EditorMode: "code", Expr: e.Expr,
				LegendFormat: legend(s, e), Range: true})
			n++
		}
	}

	unit := p.Unit
	if unit == "" && len(units) > 0 {
		unit = units[0].unit
	}
	if p.Unit == "" {
		for _, u := range units {
			if u.unit != unit && u.key != "" {
				pj.FieldConfig.Overrides = append(pj.FieldConfig.Overrides, override{
					Matcher:    matcher{ID: "byRegexp", Options: keyPattern([]string{u.key})},
					Properties: []property{{ID: "unit", Value: u.unit}},
				})
			}
		}
	}
	links, err := r.links(p, ss)
	if err != nil {
		return nil, "", nil, err
	}

	switch p.Kind {
	case TimeSeries:
		r.timeSeries(pj, p, unit, links)
	case Stat:
		r.stat(pj, p, unit)
	case Ranking:
		r.ranking(pj, p, unit, links)
	case Reasons:
		if err := r.reasons(pj, unit, links); err != nil {
			return nil, "", nil, err
		}
	case Agents:
		r.agents(pj)
	case AgentCount:
		r.agentCount(pj)
	default:
		return nil, "", nil, fmt.Errorf("unknown panel kind %d", p.Kind)
	}
	return pj, "", notes, nil
}

func isZero(f models.Filters) bool {
	return len(f.Cluster)+len(f.Node)+len(f.Namespace)+len(f.Pod)+len(f.Reason)+len(f.Interface) == 0
}

func (r renderer) timeSeries(pj *panelJSON, p Panel, unit string, links []any) {
	pj.Type = "timeseries"
	stacking := "none"
	fill := 10
	if p.Stack {
		stacking, fill = "normal", 25
	}
	pj.FieldConfig.Defaults = map[string]any{
		"unit": unit,
		"min":  0,
		"custom": map[string]any{
			"drawStyle": "line", "lineInterpolation": "linear", "lineWidth": 1, "fillOpacity": fill,
			"showPoints": "never", "spanNulls": false, "axisSoftMin": 0,
			"stacking": map[string]any{"mode": stacking, "group": "A"},
		},
	}
	if len(links) > 0 {
		pj.FieldConfig.Defaults["links"] = links
	}
	if p.DashedPrefix != "" {
		pj.FieldConfig.Overrides = append(pj.FieldConfig.Overrides, override{
			Matcher: matcher{ID: "byRegexp", Options: "^" + regexp.QuoteMeta(p.DashedPrefix) + ".*"},
			Properties: []property{
				{ID: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
				{ID: "custom.lineWidth", Value: 2},
				{ID: "custom.fillOpacity", Value: 0},
			},
		})
	}
	placement := "bottom"
	if p.W >= 16 {
		placement = "right"
	}
	pj.Options = map[string]any{
		"legend": map[string]any{"displayMode": "table", "placement": placement, "showLegend": true,
			"calcs": []string{"mean", "max"}, "sortBy": "Max", "sortDesc": true},
		"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
	}
}

func (r renderer) stat(pj *panelJSON, p Panel, unit string) {
	pj.Type = "stat"
	steps := []any{map[string]any{"color": "text", "value": nil}}
	if slices.ContainsFunc(p.Queries, func(q Query) bool { return q.Q.QueryType == models.QueryNIC }) {
		// Any NIC receive pressure is worth a look.
		steps = []any{map[string]any{"color": "green", "value": nil}, map[string]any{"color": "red", "value": 0.001}}
	}
	pj.FieldConfig.Defaults = map[string]any{
		"unit": unit, "min": 0, "decimals": 2,
		"color":      map[string]any{"mode": "thresholds"},
		"thresholds": map[string]any{"mode": "absolute", "steps": steps},
	}
	pj.Options = map[string]any{
		"graphMode": "area", "colorMode": "value", "justifyMode": "auto", "textMode": "value_and_name",
		"wideLayout": true, "showPercentChange": false, "percentChangeColorMode": "standard", "orientation": "auto",
		"reduceOptions": map[string]any{"values": false, "calcs": []string{"lastNotNull"}, "fields": ""},
	}
}

// reduceRows turns each series into a row: its labels, mean and max.
func reduceRows(labelsToFields bool) transformation {
	return transformation{ID: "reduce", Options: map[string]any{
		"mode": "seriesToRows", "reducers": []string{"mean", "max"}, "labelsToFields": labelsToFields, "includeTimeField": false,
	}}
}

func sortByMax() transformation {
	return transformation{ID: "sortBy", Options: map[string]any{"sort": []any{map[string]any{"field": "Max", "desc": true}}}}
}

func tableDefaults(unit string) map[string]any {
	return map[string]any{
		"unit":   unit,
		"custom": map[string]any{"align": "auto", "inspect": false},
	}
}

func tableOptions() map[string]any {
	return map[string]any{"showHeader": true, "frameIndex": 0, "cellHeight": "sm",
		"footer": map[string]any{"show": false, "reducer": []string{"sum"}, "countRows": false}}
}

func (r renderer) ranking(pj *panelJSON, p Panel, unit string, links []any) {
	pj.Type = "table"
	limit := p.Limit
	if limit == 0 {
		limit = 20
	}
	pj.Transformations = append(pj.Transformations,
		reduceRows(true),
		transformation{ID: "organize", Options: map[string]any{"excludeByName": map[string]any{"Field": true}}},
		sortByMax(),
		transformation{ID: "limit", Options: map[string]any{"limitField": limit}},
	)
	pj.FieldConfig.Defaults = tableDefaults(unit)
	if len(links) > 0 {
		pj.FieldConfig.Defaults["links"] = links
	}
	pj.Options = tableOptions()
}

func (r renderer) reasons(pj *panelJSON, unit string, links []any) error {
	if r.fl.Netlens {
		// The app's own panel (src/panels/reasons) explains each reason from
		// the data source's catalog and links it to the Drops page; the
		// PromQL flavours, for Grafanas without the app, carry the catalog in
		// value mappings instead.
		pj.Type = ReasonsPanel
		pj.FieldConfig.Defaults = map[string]any{"unit": unit}
		pj.Options = map[string]any{"unit": unit, "linkToDrops": true}
		return nil
	}
	pj.Type = "table"
	mappings, err := reasonMappings(r.fl.Schema)
	if err != nil {
		return err
	}
	pj.Transformations = append(pj.Transformations, reduceRows(false), sortByMax())
	pj.FieldConfig.Defaults = tableDefaults(unit)
	props := []property{
		{ID: "displayName", Value: "Reason: what it means, likely cause, what to check"},
		{ID: "mappings", Value: mappings},
		{ID: "custom.cellOptions", Value: map[string]any{"type": "auto", "wrapText": true}},
		{ID: "custom.minWidth", Value: 600},
	}
	if len(links) > 0 {
		props = append(props, property{ID: "links", Value: links})
	}
	pj.FieldConfig.Overrides = append(pj.FieldConfig.Overrides, override{Matcher: matcher{ID: "byName", Options: "Field"}, Properties: props})
	pj.Options = tableOptions()
	return nil
}

// nodesTarget is the nodes query: the Netlens data source's nodes table, or
// in PromQL one row per agent (pkg/prometheus's nodes queries) with the number
// of its collectors that are down.
func (r renderer) nodesTarget(ref string, kind Kind, qu Query) (any, []transformation) {
	if r.fl.Netlens {
		f := qu.Q.Filters
		return netlensTarget{RefID: ref, Datasource: r.ds(), QueryType: string(models.QueryNodes), Filters: &f}, nil
	}
	info, down := prometheus.TemplateNodesExprs(r.fl.Schema, qu.Q.Filters)
	expr := info
	exclude := map[string]any{"Time": true, "__name__": true, "job": true}
	rename := map[string]any{}
	if down != "" {
		// One row per agent with its labels; the value is the number of its
		// collectors down (0 when none is).
		expr = "max by (cluster, node, version, kernel, drop_source) (" + info + ") * 0" +
			" + on (cluster, node) group_left () (count by (cluster, node) (" + down + ") or count by (cluster, node) (" + info + ") * 0)"
		rename["Value"] = "collectors_down"
		exclude["instance"] = true
	} else {
		exclude["Value"] = true
	}
	t := promTarget{RefID: ref, Datasource: r.ds(), EditorMode: "code", Expr: expr, Instant: true, Format: "table", LegendFormat: "__auto"}
	if kind == AgentCount {
		return t, nil
	}
	return t, []transformation{{ID: "organize", Options: map[string]any{
		"excludeByName": exclude, "renameByName": rename,
		"indexByName": map[string]any{"node": 0, "instance": 0, "cluster": 1, "version": 2, "kernel": 3, "drop_source": 4, "collectors_down": 5},
	}}}
}

func (r renderer) agents(pj *panelJSON) {
	pj.Type = "table"
	pj.FieldConfig.Defaults = tableDefaults("short")
	// Collectors down: none is green, anything else red.
	var mappings []any
	if r.fl.Netlens {
		mappings = []any{
			map[string]any{"type": "special", "options": map[string]any{"match": "empty", "result": map[string]any{"text": "none", "color": "green", "index": 0}}},
			map[string]any{"type": "regex", "options": map[string]any{"pattern": ".+", "result": map[string]any{"color": "red", "index": 1}}},
		}
	} else {
		mappings = []any{
			map[string]any{"type": "value", "options": map[string]any{"0": map[string]any{"text": "none", "color": "green", "index": 0}}},
			map[string]any{"type": "range", "options": map[string]any{"from": 1, "to": nil, "result": map[string]any{"color": "red", "index": 1}}},
		}
	}
	if r.fl.Schema != models.SchemaRetina {
		pj.FieldConfig.Overrides = append(pj.FieldConfig.Overrides, override{
			Matcher: matcher{ID: "byName", Options: "collectors_down"},
			Properties: []property{
				{ID: "mappings", Value: mappings},
				{ID: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
			},
		})
	}
	pj.Options = tableOptions()
}

func (r renderer) agentCount(pj *panelJSON) {
	pj.Type = "stat"
	node := "node"
	if r.fl.Schema == models.SchemaRetina {
		node = "instance"
	}
	pj.FieldConfig.Defaults = map[string]any{
		"unit": "none", "decimals": 0,
		"color":      map[string]any{"mode": "thresholds"},
		"thresholds": map[string]any{"mode": "absolute", "steps": []any{map[string]any{"color": "red", "value": nil}, map[string]any{"color": "green", "value": 1}}},
	}
	pj.Options = map[string]any{
		"graphMode": "none", "colorMode": "value", "justifyMode": "auto", "textMode": "value",
		"wideLayout": true, "showPercentChange": false, "percentChangeColorMode": "standard", "orientation": "auto",
		"reduceOptions": map[string]any{"values": false, "calcs": []string{"count"}, "fields": "/^" + node + "$/"},
	}
}

// links are a panel's drill-down data links: filter the dashboard of the
// page by the clicked series' (or row's) labels, or open the app's page.
func (r renderer) links(p Panel, ss []shown) ([]any, error) {
	if p.Drill == nil {
		return nil, nil
	}
	target, ok := pageDashboards[p.Drill.Page]
	if !ok {
		return nil, fmt.Errorf("no dashboard for page %q", p.Drill.Page)
	}
	var td *Dashboard
	for i := range Dashboards {
		if Dashboards[i].UID == target {
			td = &Dashboards[i]
		}
	}
	if td == nil {
		return nil, fmt.Errorf("no dashboard %q", target)
	}
	// The clicked value of each label: a series' label, a row's column, or
	// (reasons table) the clicked cell.
	stored := map[string]string{}
	for _, s := range ss {
		for _, e := range s.exprs {
			for k, v := range e.Stored {
				stored[k] = v
			}
		}
	}
	value := func(label string) (string, error) {
		name, ok := stored[label]
		if !ok {
			return "", fmt.Errorf("drill-down by %q, which the panel's series do not have", label)
		}
		switch p.Kind {
		case Reasons:
			return "${__value.raw}", nil
		case Ranking:
			return "${__data.fields." + name + "}", nil
		}
		return "${__field.labels." + name + "}", nil
	}
	var set []string
	for _, l := range p.Drill.Labels {
		if !slices.Contains(td.Variables, l) {
			return nil, fmt.Errorf("drill-down by %q: %s has no such variable", l, td.Title)
		}
		v, err := value(l)
		if err != nil {
			return nil, err
		}
		set = append(set, "var-"+l+"="+v)
	}
	carry := func(vars []string) []string {
		var out []string
		for _, v := range vars {
			if slices.Contains(r.d.Variables, v) && !slices.Contains(p.Drill.Labels, v) {
				out = append(out, "${"+v+":queryparam}")
			}
		}
		return out
	}
	dash := append([]string{"${__url_time_range}", "${" + DatasourceVar + ":queryparam}"}, carry(td.Variables)...)
	dash = append(dash, set...)
	what := strings.Join(p.Drill.Labels, " and ")
	out := []any{map[string]any{
		"title": "Show this " + what + " on " + td.Title + r.fl.TitleSuffix,
		"url":   "/d/" + UID(td.UID, r.fl) + "?" + strings.Join(dash, "&"),
	}}
	app := []string{"${__url_time_range}"}
	if r.fl.Netlens {
		app = append(app, "var-ds=${"+DatasourceVar+"}")
	}
	app = append(app, carry(appPageVariables[p.Drill.Page])...)
	app = append(app, set...)
	title := "Open this " + what + " in the Netlens app's " + appPageTitles[p.Drill.Page] + " page"
	if !r.fl.Netlens {
		title += " (needs the Netlens app)"
	}
	out = append(out, map[string]any{"title": title, "url": "/a/" + AppID + "/" + p.Drill.Page + "?" + strings.Join(app, "&")})
	return out, nil
}

// pageDashboards are the dashboards showing what an app page shows.
var pageDashboards = map[string]string{"drops": "netlens-drops", "nic": "netlens-nic"}

// appPageVariables are the filter variables of the app's pages
// (src/pages/scenes: drops.ts, nic.ts), whose values a link can set.
var appPageVariables = map[string][]string{
	"drops": {"node", "namespace", "pod", "reason"},
	"nic":   {"node", "interface"},
}

var appPageTitles = map[string]string{"drops": "Drops", "nic": "NIC"}

// keyTitles describe the targets a panel selects, for the AKS flavour's
// notes on panels it leaves out.
var keyTitles = map[string]string{
	"rx_buffer_exhausted":  "receive-buffer exhaustion counters",
	"rx_cache_full":        "Rx cache full counter",
	"nic_stat":             "per-interface ethtool statistics",
	"softnet_dropped":      "softnet backlog drops",
	"softnet_time_squeeze": "softnet time squeeze",
	"netstat":              "netstat/SNMP counters",
	"conntrack":            "conntrack statistics",
	"dropped":              "interface drops",
	"errors":               "interface errors",
}

// limitText is a schema notice as a sentence of its own.
func limitText(n string) string {
	n = strings.TrimPrefix(n, "retina schema: ")
	if n == "" {
		return n
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
