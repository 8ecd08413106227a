package dashboards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/prometheus"
	"github.com/netlens/netlens/pkg/query"
)

// flavourInputs are the same variable selections given to both flavours:
// filter values for the Netlens data source (nil: All, __all__), and their
// Grafana interpolation into the PromQL flavours.
type flavourInputs struct {
	filters map[string][]string
	prom    map[string]string
}

func newReader(t *testing.T, url, jsonData string) *prometheus.Reader {
	t.Helper()
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: url, JSONData: []byte(jsonData)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := prometheus.New(s, prometheus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// expandFilters is the Netlens data source's applyTemplateVariables: each
// "$variable" filter value becomes the variable's values, All none.
func expandFilters(t *testing.T, q *models.Query, in flavourInputs) {
	t.Helper()
	for _, f := range []*[]string{&q.Filters.Cluster, &q.Filters.Node, &q.Filters.Namespace, &q.Filters.Pod, &q.Filters.Reason, &q.Filters.Interface} {
		var out []string
		for _, v := range *f {
			vals, ok := in.filters[strings.TrimPrefix(v, "$")]
			if !ok {
				t.Fatalf("no value for filter %q", v)
			}
			out = append(out, vals...)
		}
		*f = out
	}
}

// namedSeries is a series by display name: its points, and its unit.
type namedSeries struct {
	points map[int64]float64
	unit   string
}

// excludePatterns are the app panel's per-query exclusions (the
// filterFieldsByName transformations that keep a query's selected targets).
func excludePatterns(t *testing.T, p panel) map[string]*regexp.Regexp {
	out := map[string]*regexp.Regexp{}
	for _, tr := range p.Transformations {
		if tr.ID != "filterFieldsByName" {
			continue
		}
		ex, _ := tr.Options["exclude"].(map[string]any)
		pat, _ := ex["pattern"].(string)
		if tr.Filter == nil || tr.Filter.ID != "byRefId" || pat == "" {
			t.Fatalf("panel %q: filterFieldsByName without a refId filter and exclude pattern", p.Title)
		}
		out[tr.Filter.Options] = regexp.MustCompile(pat)
	}
	return out
}

// effectiveUnit is the unit a PromQL panel shows a series in: an override
// matching its name, else the panel's.
func effectiveUnit(p panel, name string) string {
	unit := p.FieldConfig.Defaults.Unit
	for _, o := range p.FieldConfig.Overrides {
		pat, _ := o.Matcher.Options.(string)
		if o.Matcher.ID != "byRegexp" || !regexp.MustCompile(pat).MatchString(name) {
			continue
		}
		for _, pr := range o.Properties {
			if pr.ID == "unit" {
				_ = json.Unmarshal(pr.Value, &unit)
			}
		}
	}
	return unit
}

// compareFlavours runs every panel of an app dashboard through the data
// source backend (r) and its twin of a PromQL flavour on Prometheus, with
// the same variable selections, and requires the same series (names, every
// point, units; for the nodes table the same nodes): the two flavours show
// the same numbers. It returns the number of series compared.
func compareFlavours(t *testing.T, app, twin dashboardFile, r *prometheus.Reader, promURL string, rg query.Range, window time.Duration, in flavourInputs) int {
	t.Helper()
	step := time.Second
	if rg.Interval > step {
		step = rg.Interval
	}
	start, end := rg.From.Truncate(step), rg.To.Truncate(step)
	vars := map[string]string{"__rate_interval": fmt.Sprintf("%ds", int(window.Seconds()))}
	for k, v := range in.prom {
		vars[k] = v
	}
	compared := 0
	for _, tp := range twin.D.Panels {
		i := slices.IndexFunc(app.D.Panels, func(p panel) bool { return p.ID == tp.ID })
		if !dataPanel(tp) || i < 0 {
			continue
		}
		ap := app.D.Panels[i]
		excl := excludePatterns(t, ap)
		appSeries := map[string]namedSeries{}
		var appNodes, twinNodes []string
		for _, tg := range ap.Targets {
			q, err := models.ParseQuery(tg.Raw)
			if err != nil {
				t.Fatalf("%s panel %q: %v", app.Rel, ap.Title, err)
			}
			expandFilters(t, &q, in)
			resp := r.Query(context.Background(), q, rg)
			if resp.Error != nil {
				t.Errorf("%s panel %q target %s: the backend answers %v", app.Rel, ap.Title, tg.RefID, resp.Error)
				continue
			}
			if q.QueryType == models.QueryNodes {
				for _, f := range resp.Frames {
					if fld, _ := f.FieldByName("node"); fld != nil {
						for k := range fld.Len() {
							appNodes = append(appNodes, fld.At(k).(string))
						}
					}
				}
				continue
			}
			for _, f := range resp.Frames {
				if len(f.Fields) < 2 || f.Fields[1].Len() == 0 {
					continue
				}
				if ex := excl[tg.RefID]; ex != nil && ex.MatchString(f.Name) {
					continue
				}
				appSeries[strings.Join(strings.Fields(f.Name), " ")] = framePoints(f)
			}
		}
		twinSeries := map[string]namedSeries{}
		for _, tg := range tp.Targets {
			expr := substitute(tg.Expr, vars)
			if tg.Instant {
				ss, err := promInstant(promURL, expr, rg.To)
				if err != nil {
					t.Errorf("%s panel %q target %s: %v", twin.Rel, tp.Title, tg.RefID, err)
					continue
				}
				for _, s := range ss {
					n := s.Labels["node"]
					if n == "" {
						n = s.Labels["instance"]
					}
					twinNodes = append(twinNodes, n)
				}
				continue
			}
			ss, err := promRange(promURL, expr, start, end, step)
			if err != nil {
				t.Errorf("%s panel %q target %s: %v", twin.Rel, tp.Title, tg.RefID, err)
				continue
			}
			for _, s := range ss {
				name := expandLegend(tg.LegendFormat, s.Labels)
				ns := namedSeries{points: map[int64]float64{}, unit: effectiveUnit(tp, name)}
				for k, ts := range s.Times {
					ns.points[ts.UnixMilli()] = s.Values[k]
				}
				if _, dup := twinSeries[name]; dup {
					t.Errorf("%s panel %q: two series named %q", twin.Rel, tp.Title, name)
				}
				twinSeries[name] = ns
			}
		}
		sort.Strings(appNodes)
		sort.Strings(twinNodes)
		if !slices.Equal(appNodes, twinNodes) {
			t.Errorf("panel %q: the app's nodes table lists %v, the %s flavour %v", tp.Title, appNodes, twin.Flavour.Name, twinNodes)
		}
		compared += len(appNodes)
		if !slices.Equal(sortedKeys(appSeries), sortedKeys(twinSeries)) {
			t.Errorf("panel %q: the app shows series %q, the %s flavour %q", tp.Title, sortedKeys(appSeries), twin.Flavour.Name, sortedKeys(twinSeries))
			continue
		}
		for name, as := range appSeries {
			ts := twinSeries[name]
			if as.unit != ts.unit {
				t.Errorf("panel %q series %q: unit %q in the app, %q in the %s flavour", tp.Title, name, as.unit, ts.unit, twin.Flavour.Name)
			}
			if len(as.points) != len(ts.points) {
				t.Errorf("panel %q series %q: %d points in the app, %d in the %s flavour", tp.Title, name, len(as.points), len(ts.points), twin.Flavour.Name)
				continue
			}
			for at, av := range as.points {
				tv, ok := ts.points[at]
				if !ok || math.Abs(av-tv) > 1e-9*math.Max(1, math.Abs(av)) {
					t.Errorf("panel %q series %q at %v: %v in the app, %v (present %v) in the %s flavour", tp.Title, name, time.UnixMilli(at).UTC(), av, tv, ok, twin.Flavour.Name)
					break
				}
			}
			compared++
		}
	}
	return compared
}

func framePoints(f *data.Frame) namedSeries {
	ns := namedSeries{points: map[int64]float64{}}
	if f.Fields[1].Config != nil {
		ns.unit = f.Fields[1].Config.Unit
	}
	for k := range f.Fields[0].Len() {
		ns.points[f.Fields[0].At(k).(time.Time).UnixMilli()] = f.Fields[1].At(k).(float64)
	}
	return ns
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
