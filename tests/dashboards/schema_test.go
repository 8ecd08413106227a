package dashboards_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/text"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/netlens/netlens/dashboards/dashgen"
	"github.com/netlens/netlens/pkg/models"
)

// netlensQuery is a query of the Netlens data source as the browser sends it:
// NetlensQuery of src/datasource/types.ts (DataQuery's fields plus the
// data source's). Unknown fields are refused.
type netlensQuery struct {
	RefID      string                `json:"refId"`
	Hide       *bool                 `json:"hide,omitempty"`
	Key        string                `json:"key,omitempty"`
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	QueryType  string                `json:"queryType,omitempty"`
	GroupBy    []string              `json:"groupBy,omitempty"`
	Filters    *struct {
		Cluster   []string `json:"cluster,omitempty"`
		Node      []string `json:"node,omitempty"`
		Namespace []string `json:"namespace,omitempty"`
		Pod       []string `json:"pod,omitempty"`
		Reason    []string `json:"reason,omitempty"`
		Interface []string `json:"interface,omitempty"`
	} `json:"filters,omitempty"`
	Value        string `json:"value,omitempty"`
	Rate         *bool  `json:"rate,omitempty"`
	Expr         string `json:"expr,omitempty"`
	LegendFormat string `json:"legendFormat,omitempty"`
}

func (netlensQuery) ImplementsDataqueryVariant() {}
func (netlensQuery) DataqueryType() string       { return dashgen.DatasourceID }
func (netlensQuery) Validate() error             { return nil }
func (q netlensQuery) Equals(o variants.Dataquery) bool {
	other, ok := o.(netlensQuery)
	return ok && reflect.DeepEqual(q, other)
}

func strictNetlensQuery(raw []byte) (variants.Dataquery, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var q netlensQuery
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("netlens query: %w", err)
	}
	if q.RefID == "" {
		return nil, fmt.Errorf("netlens query without refId")
	}
	return q, nil
}

var registerOnce sync.Once

// registerVariants teaches the SDK's strict decoder every core panel and data
// source (its own registry) and the Netlens data source's query.
func registerVariants() {
	registerOnce.Do(func() {
		plugins.RegisterDefaultPlugins()
		cog.NewRuntime().RegisterDataqueryVariant(variants.DataqueryConfig{
			Identifier:                 dashgen.DatasourceID,
			DataqueryUnmarshaler:       strictNetlensQuery,
			StrictDataqueryUnmarshaler: strictNetlensQuery,
		})
	})
}

// strictDecode decodes a dashboard into Grafana's schema types
// (grafana-foundation-sdk's dashboard.Dashboard, strict: unknown fields,
// wrong types and missing required fields fail; panel options and field
// config of core panels and the targets of Prometheus and Netlens queries too),
// then checks that encoding the result again loses nothing: the SDK decodes
// fieldConfig defaults and overrides loosely, so a misspelt key there (or
// anywhere) would vanish on the way and is caught by the comparison.
func strictDecode(raw []byte) error {
	registerVariants()
	var d grafana.Dashboard
	if err := sdkErr(d.UnmarshalJSONStrict(raw)); err != nil {
		return fmt.Errorf("strict decoding: %w", err)
	}
	var orig map[string]any
	if err := json.Unmarshal(raw, &orig); err != nil {
		return err
	}
	// The SDK drops a panel it decoded without error (its empty error list is
	// a non-nil error), so panels are decoded and compared one by one.
	rawPanels, _ := orig["panels"].([]any)
	delete(orig, "panels")
	d.Panels = nil
	lost, err := roundTrip("", orig, d)
	if err != nil {
		return err
	}
	for i, rp := range rawPanels {
		l, err := strictPanel(fmt.Sprintf(".panels[%d]", i), rp)
		if err != nil {
			return err
		}
		lost = append(lost, l...)
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		return fmt.Errorf("not part of Grafana's dashboard schema (lost or changed when decoded): %s", strings.Join(lost, "; "))
	}
	return nil
}

// strictPanel decodes a panel strictly. The SDK's panel decoder drops the
// options and targets it decoded without error (the empty error list again),
// so those are decoded here with the same strict decoders (the panel type's
// options and field config, the data source's query) and compared apart.
func strictPanel(path string, rp any) ([]string, error) {
	m, ok := rp.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not an object", path)
	}
	b, _ := json.Marshal(m)
	var p grafana.Panel
	if err := sdkErr(p.UnmarshalJSONStrict(b)); err != nil {
		return nil, fmt.Errorf("strict decoding: %s: %w", path, err)
	}
	rest := map[string]any{}
	for k, v := range m {
		if k != "options" && k != "targets" {
			rest[k] = v
		}
	}
	p.Options, p.Targets = nil, nil
	lost, err := roundTrip(path, rest, p)
	if err != nil {
		return nil, err
	}
	if o, ok := m["options"]; ok {
		ob, _ := json.Marshal(o)
		opts, err := strictOptions(p.Type, ob)
		if err != nil {
			return nil, fmt.Errorf("strict decoding: %s.options: %w", path, err)
		}
		l, err := roundTrip(path+".options", o, opts)
		if err != nil {
			return nil, err
		}
		lost = append(lost, l...)
	}
	if custom, ok := dig(m, "fieldConfig", "defaults", "custom"); ok {
		cb, _ := json.Marshal(custom)
		fc, err := strictCustom(p.Type, cb)
		if err != nil {
			return nil, fmt.Errorf("strict decoding: %s.fieldConfig.defaults.custom: %w", path, err)
		}
		l, err := roundTrip(path+".fieldConfig.defaults.custom", custom, fc)
		if err != nil {
			return nil, err
		}
		lost = append(lost, l...)
	}
	dsType := ""
	if p.Datasource != nil && p.Datasource.Type != nil {
		dsType = *p.Datasource.Type
	}
	targets, _ := m["targets"].([]any)
	for j, rt := range targets {
		tb, _ := json.Marshal(rt)
		dq, err := strictTarget(dsType, tb)
		if err != nil {
			return nil, fmt.Errorf("strict decoding: %s.targets[%d]: %w", path, j, err)
		}
		l, err := roundTrip(fmt.Sprintf("%s.targets[%d]", path, j), rt, dq)
		if err != nil {
			return nil, err
		}
		lost = append(lost, l...)
	}
	return lost, nil
}

// reasonsPanelOptions are the options of the app's reasons panel
// (src/panels/reasons/types.ts ReasonsPanelOptions).
type reasonsPanelOptions struct {
	Unit        string `json:"unit"`
	LinkToDrops bool   `json:"linkToDrops"`
}

func (o *reasonsPanelOptions) UnmarshalJSONStrict(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(o); err != nil {
		return err
	}
	if o.Unit != "pps" && o.Unit != "Bps" {
		return fmt.Errorf("unit %q: want pps or Bps", o.Unit)
	}
	return nil
}

// strictOptions decodes a core panel's options with the SDK's type for them
// (the SDK's registry returns nothing for a panel it decoded without error).
func strictOptions(panelType string, raw []byte) (any, error) {
	var o interface{ UnmarshalJSONStrict([]byte) error }
	switch panelType {
	case "timeseries":
		o = &timeseries.Options{}
	case "stat":
		o = &stat.Options{}
	case "table":
		o = &table.Options{}
	case "text":
		o = &text.Options{}
	case dashgen.ReasonsPanel:
		o = &reasonsPanelOptions{}
	default:
		return nil, fmt.Errorf("panel type %q: no schema known here (add it to strictOptions)", panelType)
	}
	return o, sdkErr(o.UnmarshalJSONStrict(raw))
}

// strictCustom decodes a core panel's custom field config.
func strictCustom(panelType string, raw []byte) (any, error) {
	var o interface{ UnmarshalJSONStrict([]byte) error }
	switch panelType {
	case "timeseries":
		o = &timeseries.FieldConfig{}
	case "table":
		o = &table.FieldConfig{}
	default:
		return nil, fmt.Errorf("panel type %q has no custom field config", panelType)
	}
	return o, sdkErr(o.UnmarshalJSONStrict(raw))
}

// strictTarget decodes a query of the panel's data source type.
func strictTarget(dsType string, raw []byte) (any, error) {
	switch dsType {
	case "prometheus":
		var q prometheus.Dataquery
		return &q, sdkErr(q.UnmarshalJSONStrict(raw))
	case dashgen.DatasourceID:
		return strictNetlensQuery(raw)
	}
	return nil, fmt.Errorf("no schema for queries of data source type %q", dsType)
}

func dig(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// sdkErr is err, or nil for the SDK's empty error list.
func sdkErr(err error) error {
	var be cog.BuildErrors
	if err == nil || (errors.As(err, &be) && len(be) == 0) {
		return nil
	}
	return err
}

// roundTrip encodes the decoded value again and lists what the original had
// that the result lacks or changed.
func roundTrip(path string, orig, decoded any) ([]string, error) {
	again, err := json.Marshal(decoded)
	if err != nil {
		return nil, err
	}
	var back any
	if err := json.Unmarshal(again, &back); err != nil {
		return nil, err
	}
	return lostPaths(path, orig, back), nil
}

// lostPaths lists where want has a key or value that got lacks or changed.
// Keys got adds (defaults the SDK writes) are not differences.
func lostPaths(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object after decoding"}
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				// A null the SDK leaves out is the same dashboard.
				if wv != nil {
					out = append(out, path+"."+k+": unknown field")
				}
				continue
			}
			out = append(out, lostPaths(path+"."+k, wv, gv)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path + ": list changed"}
		}
		var out []string
		for i := range w {
			out = append(out, lostPaths(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	default:
		if !reflect.DeepEqual(want, got) {
			return []string{fmt.Sprintf("%s: %v became %v", path, want, got)}
		}
		return nil
	}
}

// Every dashboard decodes into Grafana's dashboard schema, strictly, and
// loses nothing on the way; schema version, crosshair and stable ids are set.
func TestDashboardsDecodeIntoGrafanaSchema(t *testing.T) {
	for _, f := range loadDashboards(t) {
		t.Run(f.Rel, func(t *testing.T) {
			if err := strictDecode(f.Raw); err != nil {
				t.Fatal(err)
			}
			if f.D.SchemaVersion < 39 || f.D.SchemaVersion > 41 {
				t.Errorf("schemaVersion %d, want 39 to 41", f.D.SchemaVersion)
			}
			if f.D.GraphTooltip != 1 {
				t.Errorf("graphTooltip %d: want 1 (shared crosshair), so spikes line up across panels", f.D.GraphTooltip)
			}
		})
	}
}

// The strict decoding fails on the mistakes it is there for: a misspelt
// field at the top, in a panel, in its options, in a field config default,
// in a Prometheus target and in a Netlens query, and a wrong type.
func TestStrictDecodingCatchesMistakes(t *testing.T) {
	files := loadDashboards(t)
	var prom, app dashboardFile
	for _, f := range files {
		if f.Rel == "prometheus/drops.json" {
			prom = f
		}
		if f.Rel == "drops.json" {
			app = f
		}
	}
	cases := []struct {
		name     string
		f        dashboardFile
		old, new string
	}{
		{"top-level field", prom, `"graphTooltip": 1`, `"graphTooltp": 1`},
		{"panel field", prom, `"description": "Packets the kernel dropped per second on the selected nodes`, `"descripton": "Packets the kernel dropped per second on the selected nodes`},
		{"timeseries option", prom, `"displayMode": "table"`, `"displaymode": "table"`},
		{"field config default", prom, `"unit": "pps"`, `"units": "pps"`},
		{"prometheus target field", prom, `"legendFormat": "{{reason}}"`, `"legend": "{{reason}}"`},
		{"netlens query field", app, `"groupBy": [`, `"groupby": [`},
		{"wrong type", prom, `"schemaVersion": 41`, `"schemaVersion": "41"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(c.f.Raw, []byte(c.old)) {
				t.Fatalf("%s does not contain %s", c.f.Rel, c.old)
			}
			bad := bytes.Replace(c.f.Raw, []byte(c.old), []byte(c.new), 1)
			if err := strictDecode(bad); err == nil {
				t.Fatalf("%s with %s instead of %s decoded without error", c.f.Rel, c.new, c.old)
			} else {
				t.Logf("refused as it should be: %.300s", err)
			}
		})
	}
}

// The app's queries are queries the data source backend accepts
// (pkg/models.ParseQuery), of the data source's type, filtering only by
// template variables of the dashboard, with All being the data source's
// __all__ for every filter variable.
func TestAppQueriesAreNetlensQueries(t *testing.T) {
	for _, f := range loadDashboards(t) {
		if !f.Flavour.Netlens {
			continue
		}
		for _, v := range f.D.Templating.List {
			if v.Type != "datasource" && v.AllValue != dashgen.AllNetlens {
				t.Errorf("%s: variable %s has All value %q, want %q (src/datasource/types.ts ALL_VALUES)", f.Rel, v.Name, v.AllValue, dashgen.AllNetlens)
			}
			if v.Type == "query" {
				if v.Datasource == nil || v.Datasource.Type != dashgen.DatasourceID {
					t.Errorf("%s: variable %s does not query the Netlens data source", f.Rel, v.Name)
				}
				text := v.queryText()
				label, params, _ := strings.Cut(text, "?")
				if label != v.Name {
					t.Errorf("%s: variable %s lists %q", f.Rel, v.Name, label)
				}
				for _, p := range strings.Split(params, "&") {
					if p == "" {
						continue
					}
					k, val, _ := strings.Cut(p, "=")
					if val != "$"+k || f.D.variable(k) == nil {
						t.Errorf("%s: variable %s filters by %q, not by the dashboard's $%s", f.Rel, v.Name, p, k)
					}
				}
			}
		}
		for _, p := range f.D.Panels {
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.Type != dashgen.DatasourceID || tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s panel %q: target %s reads %+v", f.Rel, p.Title, tg.RefID, tg.Datasource)
				}
				q, err := models.ParseQuery(tg.Raw)
				if err != nil {
					t.Errorf("%s panel %q: the backend refuses target %s: %v", f.Rel, p.Title, tg.RefID, err)
					continue
				}
				for _, vals := range [][]string{q.Filters.Cluster, q.Filters.Node, q.Filters.Namespace, q.Filters.Pod, q.Filters.Reason, q.Filters.Interface} {
					for _, v := range vals {
						if !strings.HasPrefix(v, "$") || f.D.variable(v[1:]) == nil {
							t.Errorf("%s panel %q: filter value %q is not a variable of the dashboard", f.Rel, p.Title, v)
						}
					}
				}
				if !slices.Contains(models.QueryTypes, q.QueryType) {
					t.Errorf("%s panel %q: query type %q", f.Rel, p.Title, q.QueryType)
				}
			}
		}
	}
}
