package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/testenv"
)

// Grafana's alert rule file provisioning format (apiVersion 1), the fields
// Grafana's provisioning reads (pkg/services/provisioning/alerting), spelled as
// Grafana spells them, so that strict decoding catches a typo.
type grafanaAlertFile struct {
	APIVersion int                 `json:"apiVersion"`
	Groups     []grafanaAlertGroup `json:"groups"`
}

type grafanaAlertGroup struct {
	OrgID    int64              `json:"orgId"`
	Name     string             `json:"name"`
	Folder   string             `json:"folder"`
	Interval string             `json:"interval"`
	Rules    []grafanaAlertRule `json:"rules"`
}

type grafanaAlertRule struct {
	UID           string              `json:"uid"`
	Title         string              `json:"title"`
	Condition     string              `json:"condition"`
	Data          []grafanaAlertQuery `json:"data"`
	DashboardUID  string              `json:"dashboardUid,omitempty"`
	PanelID       int64               `json:"panelId,omitempty"`
	NoDataState   string              `json:"noDataState"`
	ExecErrState  string              `json:"execErrState"`
	For           string              `json:"for"`
	KeepFiringFor string              `json:"keepFiringFor,omitempty"`
	Annotations   map[string]string   `json:"annotations,omitempty"`
	Labels        map[string]string   `json:"labels,omitempty"`
	IsPaused      bool                `json:"isPaused"`
}

type grafanaAlertQuery struct {
	RefID             string `json:"refId"`
	QueryType         string `json:"queryType,omitempty"`
	RelativeTimeRange *struct {
		From int64 `json:"from"`
		To   int64 `json:"to"`
	} `json:"relativeTimeRange,omitempty"`
	DatasourceUID string         `json:"datasourceUid"`
	Model         map[string]any `json:"model"`
}

// exprUID is the data source uid of Grafana's server-side expressions.
const exprUID = "__expr__"

var (
	grafanaUID       = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	noDataStates     = []string{"Alerting", "NoData", "OK", "KeepLast"}
	execErrStates    = []string{"Alerting", "Error", "OK", "KeepLast"}
	expressionTypes  = []string{"math", "reduce", "threshold", "resample", "classic_conditions", "sql"}
	severities       = []string{"critical", "warning", "info"}
	mathRef          = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	prometheusValue  = regexp.MustCompile(`\$value\b`)
	valuesRef        = regexp.MustCompile(`\$values\.([A-Za-z0-9_]+)`)
	selfEqualityMath = regexp.MustCompile(`^\s*\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?\s*==\s*\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?\s*$`)
)

// requiredAlerts are the alert categories issue 8 asks for: each must be
// covered by at least one Grafana-managed rule, recognised by what its PromQL
// reads (not by its name).
var requiredAlerts = []struct {
	name  string
	match func(r grafanaAlertRule, sel []*parser.VectorSelector) bool
}{
	{"sustained policy drops for a workload", func(r grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "netlens_pod_drop_packets_total", "reason", "NETFILTER_DROP") && durationOf(r.For) >= 5*time.Minute
	}},
	{"NIC receive buffer exhaustion", func(_ grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "netlens_nic_rx_buffer_exhausted_total", "", "")
	}},
	{"softnet drops", func(_ grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "netlens_softnet_dropped_total", "", "")
	}},
	{"conntrack table full", func(_ grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "netlens_conntrack_stat_total", "name", "drop")
	}},
	{"agent down", func(_ grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "up", "job", "netlens")
	}},
	{"collector down", func(_ grafanaAlertRule, sel []*parser.VectorSelector) bool {
		return selects(sel, "netlens_agent_collector_up", "", "")
	}},
}

// selects reports whether one of the selectors reads metric and, if label is
// set, has a matcher on label that matches value.
func selects(sel []*parser.VectorSelector, metric, label, value string) bool {
	for _, s := range sel {
		if s.Name != metric {
			continue
		}
		if label == "" {
			return true
		}
		for _, m := range s.LabelMatchers {
			if m.Name == label && m.Matches(value) {
				return true
			}
		}
	}
	return false
}

func durationOf(s string) time.Duration {
	d, err := model.ParseDuration(s)
	if err != nil {
		return -1
	}
	return time.Duration(d)
}

// provisionedDatasources returns the data sources in provisioning/datasources
// by uid: their type and URL.
func provisionedDatasources(t *testing.T) map[string]provisionedDatasource {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "provisioning", "datasources", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no data source provisioning files (%v)", err)
	}
	out := map[string]provisionedDatasource{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			APIVersion  int                     `json:"apiVersion"`
			Datasources []provisionedDatasource `json:"datasources"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ds := range doc.Datasources {
			if ds.UID == "" {
				t.Errorf("%s: data source %q has no uid: alert rules and dashboards cannot refer to it", f, ds.Name)
			}
			out[ds.UID] = ds
		}
	}
	return out
}

type provisionedDatasource struct {
	Name     string         `json:"name"`
	UID      string         `json:"uid"`
	Type     string         `json:"type"`
	URL      string         `json:"url"`
	JSONData map[string]any `json:"jsonData"`
}

// grafanaAlertRules decodes every provisioning/alerting file strictly.
func grafanaAlertRules(t *testing.T) map[string]grafanaAlertFile {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "provisioning", "alerting", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no alerting provisioning files in provisioning/alerting (%v)", err)
	}
	out := map[string]grafanaAlertFile{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var af grafanaAlertFile
		if err := yaml.UnmarshalStrict(b, &af); err != nil {
			t.Fatalf("%s does not decode strictly as Grafana alert provisioning: %v", f, err)
		}
		out[filepath.Base(f)] = af
	}
	return out
}

// TestGrafanaAlertRules checks the Grafana-managed alert rules in
// provisioning/alerting the way Grafana's provisioning and rule validation
// would, and against their source, deploy/rules/netlens-alerts.yaml: valid and
// unique uids, conditions and expressions that refer to existing steps, data
// sources that are provisioned, PromQL that parses, templates that render, the
// same alerts (PromQL, for, labels, annotations) as the Prometheus rules, and
// every alert category issue 8 asks for.
func TestGrafanaAlertRules(t *testing.T) {
	datasources := provisionedDatasources(t)
	p := parser.NewParser(parser.Options{})
	uids := map[string]string{}
	titles := map[string]bool{}              // folder + title
	byTitle := map[string]grafanaAlertRule{} // for the comparison with the source
	groupOf := map[string]string{}
	selectors := map[string][]*parser.VectorSelector{}

	for file, af := range grafanaAlertRules(t) {
		if af.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", file, af.APIVersion)
		}
		for _, g := range af.Groups {
			where := file + ": group " + g.Name
			if g.Name == "" || strings.TrimSpace(g.Folder) == "" {
				t.Errorf("%s: group name %q folder %q: both are required", file, g.Name, g.Folder)
			}
			if g.OrgID != 1 {
				t.Errorf("%s: orgId %d, want 1 (the org the app and data sources are provisioned in)", where, g.OrgID)
			}
			if d := durationOf(g.Interval); d <= 0 || d%(10*time.Second) != 0 {
				t.Errorf("%s: interval %q is not a positive multiple of Grafana's 10s base interval", where, g.Interval)
			}
			if len(g.Rules) == 0 {
				t.Errorf("%s: no rules", where)
			}
			for _, r := range g.Rules {
				where := where + ": rule " + r.Title
				if !grafanaUID.MatchString(r.UID) {
					t.Errorf("%s: uid %q is not a Grafana uid (1 to 40 of a-z A-Z 0-9 - _)", where, r.UID)
				}
				if other, dup := uids[r.UID]; dup {
					t.Errorf("%s: uid %q is also the uid of %s", where, r.UID, other)
				}
				uids[r.UID] = r.Title
				if r.Title == "" || titles[g.Folder+"/"+r.Title] {
					t.Errorf("%s: title empty or not unique in folder %s", where, g.Folder)
				}
				titles[g.Folder+"/"+r.Title] = true
				byTitle[r.Title] = r
				groupOf[r.Title] = g.Name
				selectors[r.Title] = checkGrafanaRuleData(t, where, r, datasources, p)
				if !slices.Contains(noDataStates, r.NoDataState) {
					t.Errorf("%s: noDataState %q, want one of %v", where, r.NoDataState, noDataStates)
				}
				if !slices.Contains(execErrStates, r.ExecErrState) {
					t.Errorf("%s: execErrState %q, want one of %v", where, r.ExecErrState, execErrStates)
				}
				if durationOf(r.For) < 0 {
					t.Errorf("%s: for %q is not a duration", where, r.For)
				}
				if !slices.Contains(severities, r.Labels["severity"]) {
					t.Errorf("%s: label severity %q, want one of %v", where, r.Labels["severity"], severities)
				}
				for k, v := range r.Annotations {
					if err := renderGrafanaTemplate(v); err != nil {
						t.Errorf("%s: annotation %s does not render as a Grafana template: %v\n%s", where, k, err, v)
					}
					if prometheusValue.MatchString(v) {
						t.Errorf("%s: annotation %s uses Prometheus's $value; in Grafana it is a text of every step: use $values.<refId>.Value", where, k)
					}
					for _, m := range valuesRef.FindAllStringSubmatch(v, -1) {
						if !slices.ContainsFunc(r.Data, func(q grafanaAlertQuery) bool { return q.RefID == m[1] }) {
							t.Errorf("%s: annotation %s reads $values.%s, which is not a step of the rule", where, k, m[1])
						}
					}
				}
			}
		}
	}

	for _, req := range requiredAlerts {
		found := false
		for title, r := range byTitle {
			if req.match(r, selectors[title]) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no Grafana-managed alert rule for %q", req.name)
		}
	}

	// The same alerts as the Prometheus rules, one for one.
	seen := map[string]bool{}
	for _, g := range sourceRuleGroups(t) {
		for _, pr := range g.Rules {
			if pr.Alert == "" {
				continue
			}
			seen[pr.Alert] = true
			gr, ok := byTitle[pr.Alert]
			if !ok {
				t.Errorf("Prometheus alert %s has no Grafana-managed rule titled so (run go run ./deploy/rules/gen)", pr.Alert)
				continue
			}
			compareWithSource(t, g.Name, groupOf[pr.Alert], pr, gr)
		}
	}
	for title := range byTitle {
		if !seen[title] {
			t.Errorf("Grafana-managed rule %s has no Prometheus alert of that name in %s", title, rulesFile)
		}
	}
}

// checkGrafanaRuleData checks a rule's steps and returns the vector selectors
// of its PromQL.
func checkGrafanaRuleData(t *testing.T, where string, r grafanaAlertRule, datasources map[string]provisionedDatasource, p parser.Parser) []*parser.VectorSelector {
	t.Helper()
	steps := map[string]grafanaAlertQuery{}
	for _, q := range r.Data {
		if q.RefID == "" {
			t.Errorf("%s: a step without refId", where)
		}
		if _, dup := steps[q.RefID]; dup {
			t.Errorf("%s: refId %s used twice", where, q.RefID)
		}
		steps[q.RefID] = q
		if m, _ := q.Model["refId"].(string); m != q.RefID {
			t.Errorf("%s: step %s: model.refId %q differs", where, q.RefID, m)
		}
	}
	if _, ok := steps[r.Condition]; !ok {
		t.Errorf("%s: condition %q is not one of the steps %v", where, r.Condition, keysOfSteps(steps))
	}

	var sel []*parser.VectorSelector
	deps := map[string][]string{}
	for ref, q := range steps {
		if q.DatasourceUID == exprUID {
			typ, _ := q.Model["type"].(string)
			expression, _ := q.Model["expression"].(string)
			if !slices.Contains(expressionTypes, typ) {
				t.Errorf("%s: step %s: expression type %q, want one of %v", where, ref, typ, expressionTypes)
			}
			var refs []string
			if typ == "math" {
				for _, m := range mathRef.FindAllStringSubmatch(expression, -1) {
					refs = append(refs, m[1])
				}
			} else if expression != "" {
				refs = []string{expression}
			}
			if len(refs) == 0 && typ != "classic_conditions" {
				t.Errorf("%s: step %s (%s) refers to no step: %q", where, ref, typ, expression)
			}
			for _, d := range refs {
				if _, ok := steps[d]; !ok || d == ref {
					t.Errorf("%s: step %s (%s) refers to %q, which is not another step", where, ref, typ, d)
				}
			}
			deps[ref] = refs
			continue
		}
		ds, ok := datasources[q.DatasourceUID]
		if !ok {
			t.Errorf("%s: step %s: datasourceUid %q is not provisioned in provisioning/datasources", where, ref, q.DatasourceUID)
			continue
		}
		if m, _ := q.Model["datasource"].(map[string]any); m != nil && (m["uid"] != ds.UID || m["type"] != ds.Type) {
			t.Errorf("%s: step %s: model.datasource %v is not the provisioned %s %s", where, ref, m, ds.Type, ds.UID)
		}
		if ds.Type != "prometheus" {
			t.Errorf("%s: step %s queries a %s data source; the test knows only Prometheus queries", where, ref, ds.Type)
			continue
		}
		if q.RelativeTimeRange == nil || q.RelativeTimeRange.From <= q.RelativeTimeRange.To {
			t.Errorf("%s: step %s: relativeTimeRange %v, want from > to", where, ref, q.RelativeTimeRange)
		}
		if q.Model["instant"] != true || q.Model["range"] == true {
			t.Errorf("%s: step %s: want an instant query (instant true, range false), got instant %v range %v", where, ref, q.Model["instant"], q.Model["range"])
		}
		expr, _ := q.Model["expr"].(string)
		node, err := p.ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: step %s: PromQL does not parse: %v\n%s", where, ref, err, expr)
			continue
		}
		if node.Type() != parser.ValueTypeVector {
			t.Errorf("%s: step %s: PromQL returns a %s, want an instant vector (one alert per series)", where, ref, node.Type())
		}
		parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				sel = append(sel, vs)
			}
			return nil
		})
	}

	// The condition must depend on a query, and fire for every series the
	// query returns, whatever its value (as Prometheus does: `up == 0` returns
	// value 0): the math `$X == $X` (true for every number) over a reduce of
	// the query that drops nothing but NaN.
	var reaches func(ref string, depth int) bool
	reaches = func(ref string, depth int) bool {
		if depth > len(steps) {
			return false
		}
		if q, ok := steps[ref]; ok && q.DatasourceUID != exprUID {
			return true
		}
		return slices.ContainsFunc(deps[ref], func(d string) bool { return reaches(d, depth+1) })
	}
	if !reaches(r.Condition, 0) {
		t.Errorf("%s: condition %s does not depend on any data source query", where, r.Condition)
	}
	cond := steps[r.Condition]
	expression, _ := cond.Model["expression"].(string)
	m := selfEqualityMath.FindStringSubmatch(expression)
	if cond.Model["type"] != "math" || m == nil || m[1] != m[2] {
		t.Errorf("%s: condition %s is %v %q, want the math `$X == $X` that fires for every returned series", where, r.Condition, cond.Model["type"], expression)
	} else if red, ok := steps[m[1]]; !ok || red.Model["type"] != "reduce" || steps[fmt.Sprint(red.Model["expression"])].DatasourceUID == exprUID {
		t.Errorf("%s: condition %s compares %s, which is not a reduce of the query", where, r.Condition, m[1])
	} else if s, _ := red.Model["settings"].(map[string]any); s == nil || s["mode"] != "dropNN" {
		t.Errorf("%s: reduce %s settings %v, want mode dropNN", where, m[1], red.Model["settings"])
	}
	return sel
}

func keysOfSteps(m map[string]grafanaAlertQuery) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

// compareWithSource: the Grafana rule is the Prometheus alert: same group,
// PromQL, for, labels, and annotations with $value read from the value step.
func compareWithSource(t *testing.T, promGroup, grafanaGroup string, pr promRule, gr grafanaAlertRule) {
	t.Helper()
	where := "alert " + pr.Alert
	if promGroup != grafanaGroup {
		t.Errorf("%s: Grafana group %q, Prometheus group %q", where, grafanaGroup, promGroup)
	}
	var query, value string
	for _, q := range gr.Data {
		if q.DatasourceUID != exprUID {
			if query != "" {
				t.Errorf("%s: more than one data source query", where)
			}
			query = q.RefID
			if got, _ := q.Model["expr"].(string); strings.TrimSpace(got) != strings.TrimSpace(pr.Expr) {
				t.Errorf("%s: PromQL differs from %s:\ngot  %s\nwant %s", where, rulesFile, got, pr.Expr)
			}
		}
	}
	for _, q := range gr.Data {
		if q.Model["type"] == "reduce" && q.Model["expression"] == query {
			value = q.RefID
		}
	}
	if want := durationOf(orZero(pr.For)); durationOf(gr.For) != want {
		t.Errorf("%s: for %q, Prometheus %q", where, gr.For, pr.For)
	}
	if want := durationOf(orZero(pr.KeepFiringFor)); durationOf(orZero(gr.KeepFiringFor)) != want {
		t.Errorf("%s: keepFiringFor %q, Prometheus keep_firing_for %q", where, gr.KeepFiringFor, pr.KeepFiringFor)
	}
	if fmt.Sprint(gr.Labels) != fmt.Sprint(pr.Labels) {
		t.Errorf("%s: labels %v, Prometheus %v", where, gr.Labels, pr.Labels)
	}
	want := map[string]string{}
	for k, v := range pr.Annotations {
		want[k] = prometheusValue.ReplaceAllString(v, "$$values."+value+".Value")
	}
	if fmt.Sprint(gr.Annotations) != fmt.Sprint(want) {
		t.Errorf("%s: annotations differ from %s with $value as $values.%s.Value:\ngot  %v\nwant %v", where, rulesFile, value, gr.Annotations, want)
	}
}

func orZero(d string) string {
	if d == "" {
		return "0s"
	}
	return d
}

// renderGrafanaTemplate parses and executes an annotation as Grafana does
// (text/template with $labels, $values and $value defined first), with
// Prometheus-style humanize functions that, like Grafana's, fail on a value
// that is not a number. Grafana's $value is a text listing every step, so a
// Prometheus-style `$value | humanize` fails here as it would in Grafana.
func renderGrafanaTemplate(text string) error {
	num := func(v any) (float64, error) {
		switch v := v.(type) {
		case float64:
			return v, nil
		case int:
			return float64(v), nil
		case string:
			return strconv.ParseFloat(v, 64)
		}
		return 0, fmt.Errorf("not a number: %T", v)
	}
	funcs := template.FuncMap{
		"humanize":           func(v any) (string, error) { f, err := num(v); return fmt.Sprintf("%.4g", f), err },
		"humanize1024":       func(v any) (string, error) { f, err := num(v); return fmt.Sprintf("%.4g", f), err },
		"humanizePercentage": func(v any) (string, error) { f, err := num(v); return fmt.Sprintf("%.4g%%", f*100), err },
		"humanizeDuration":   func(v any) (string, error) { f, err := num(v); return fmt.Sprintf("%.4gs", f), err },
		"humanizeTimestamp":  func(v any) (string, error) { _, err := num(v); return "2025-01-01", err },
		"title":              strings.ToTitle,
		"toUpper":            strings.ToUpper,
		"toLower":            strings.ToLower,
		"match":              regexp.MatchString,
		"reReplaceAll":       func(p, r, s string) string { return regexp.MustCompile(p).ReplaceAllString(s, r) },
		"externalURL":        func() string { return "http://grafana" },
		"pathPrefix":         func() string { return "" },
	}
	tmpl, err := template.New("annotation").Option("missingkey=zero").Funcs(funcs).
		Parse("{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}" + text)
	if err != nil {
		return err
	}
	type value struct {
		Labels map[string]string
		Value  float64
	}
	data := map[string]any{
		"Labels": map[string]string{"node": "n1", "cluster": "c1"},
		"Values": map[string]value{"A": {Value: 2}, "B": {Value: 2}, "C": {Value: 1}},
		"Value":  "[ var='A' labels={node=n1} value=2 ], [ var='B' labels={node=n1} value=2 ]",
	}
	return tmpl.Execute(&strings.Builder{}, data)
}
