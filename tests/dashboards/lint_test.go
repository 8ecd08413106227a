package dashboards_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/dashboards/dashgen"
)

// The rules of grafana/dashboard-linter (github.com/grafana/dashboard-linter,
// lint/rule_*.go), re-implemented because the linter cannot be installed here
// (the Go module proxy refuses it). Names are the linter's; the job/instance
// rules are adapted to Netlens's labels: its dashboards select by cluster and
// node, not by job and instance.

// rule is one lint rule: the problems it finds in a dashboard.
type rule struct {
	name string
	// prom: only for the PromQL flavours (the linter lints Prometheus
	// dashboards; the generic rules apply to the app's too).
	prom  bool
	check func(f dashboardFile) []string
}

var promParser = parser.NewParser(parser.Options{})

// rateIntervalMagic stands for $__rate_interval while parsing, as the
// linter's placeholder does, so that the rate-interval rule can recognise it.
const rateIntervalMagic = 11277964 * time.Second

var templateVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[a-z]+)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)\]\]`)

// expandForParsing replaces Grafana's variables by placeholders that parse:
// interval variables by durations, others (inside label matchers) by words.
func expandForParsing(expr string) string {
	return templateVar.ReplaceAllStringFunc(expr, func(m string) string {
		sm := templateVar.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		switch name {
		case "__rate_interval":
			return fmt.Sprintf("%ds", int64(rateIntervalMagic/time.Second))
		case "__interval", "__range":
			return "1m"
		case "__interval_ms", "__range_ms", "__range_s":
			return "60000"
		}
		return "bgludgvy_" + name
	})
}

func parseTarget(expr string) (parser.Expr, error) {
	return promParser.ParseExpr(expandForParsing(expr))
}

// storedLabel is the label a filter variable selects in the flavour's
// schema: the AKS add-on's node is the scrape's instance.
func storedLabel(f dashboardFile, variable string) string {
	if f.Flavour.Schema == "retina" {
		switch variable {
		case "node":
			return "instance"
		case "pod":
			return "podname"
		case "interface":
			return "interface_name"
		}
	}
	return variable
}

var validUnits = []string{
	// The units of the linter's panel-units-rule that Netlens panels use, and
	// the linter's other common ones.
	"none", "short", "percent", "percentunit", "bytes", "decbytes", "bits", "decbits",
	"pps", "Bps", "bps", "binBps", "KBs", "MBs", "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm",
	"s", "ms", "µs", "ns", "m", "h", "d", "dtdurations", "dtdurationms", "bool", "string",
}

var lintRules = []rule{
	{name: "template-datasource-rule", check: func(f dashboardFile) []string {
		// A data source variable named datasource, labelled "Data source", of
		// the flavour's data source type.
		want := "prometheus"
		if f.Flavour.Netlens {
			want = dashgen.DatasourceID
		}
		var ds []variable
		for _, v := range f.D.Templating.List {
			if v.Type == "datasource" {
				ds = append(ds, v)
			}
		}
		if len(ds) != 1 {
			return []string{fmt.Sprintf("%d data source variables, want 1", len(ds))}
		}
		var out []string
		if ds[0].Name != "datasource" || ds[0].Label != "Data source" {
			out = append(out, fmt.Sprintf("data source variable %q labelled %q: want datasource, \"Data source\"", ds[0].Name, ds[0].Label))
		}
		if q := ds[0].queryText(); q != want {
			out = append(out, fmt.Sprintf("data source variable lists %q data sources, want %q", q, want))
		}
		return out
	}},
	{name: "template-cluster-rule (template-job-rule for Netlens)", prom: true, check: func(f dashboardFile) []string {
		return checkFilterTemplate(f, "cluster", true)
	}},
	{name: "template-node-rule (template-instance-rule for Netlens)", prom: true, check: func(f dashboardFile) []string {
		return checkFilterTemplate(f, "node", false)
	}},
	{name: "template-label-promql-rule", prom: true, check: func(f dashboardFile) []string {
		var out []string
		re := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
		for _, v := range f.D.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := re.FindStringSubmatch(v.queryText())
			if m == nil {
				out = append(out, fmt.Sprintf("variable %s: query %q is no label_values(<selector>, <label>)", v.Name, v.queryText()))
				continue
			}
			if _, err := parseTarget(m[1]); err != nil {
				out = append(out, fmt.Sprintf("variable %s: %v", v.Name, err))
			}
			if m[2] != storedLabel(f, v.Name) {
				out = append(out, fmt.Sprintf("variable %s lists label %s, want %s", v.Name, m[2], storedLabel(f, v.Name)))
			}
		}
		return out
	}},
	{name: "template-on-time-change-reload-rule", check: func(f dashboardFile) []string {
		var out []string
		for _, v := range f.D.Templating.List {
			if v.Type == "query" && v.Refresh != 2 {
				out = append(out, fmt.Sprintf("variable %s refreshes %d, want 2 (on time range change)", v.Name, v.Refresh))
			}
		}
		return out
	}},
	{name: "panel-datasource-rule", check: func(f dashboardFile) []string {
		var out []string
		ok := func(ds *dsRef) bool { return ds != nil && (ds.UID == "${datasource}" || ds.UID == "$datasource") }
		for _, p := range f.D.Panels {
			if !dataPanel(p) {
				continue
			}
			if !ok(p.Datasource) {
				out = append(out, fmt.Sprintf("panel %q does not use the templated data source: %+v", p.Title, p.Datasource))
			}
			for _, t := range p.Targets {
				if !ok(t.Datasource) {
					out = append(out, fmt.Sprintf("panel %q target %s does not use the templated data source: %+v", p.Title, t.RefID, t.Datasource))
				}
			}
		}
		return out
	}},
	{name: "panel-title-description-rule", check: func(f dashboardFile) []string {
		var out []string
		for _, p := range f.D.Panels {
			if strings.TrimSpace(p.Title) == "" || len(strings.TrimSpace(p.Description)) < 40 {
				out = append(out, fmt.Sprintf("panel %d: title %q, description %q: every panel says what it shows and what to do about it", p.ID, p.Title, p.Description))
			}
		}
		return out
	}},
	{name: "panel-units-rule", check: func(f dashboardFile) []string {
		var out []string
		for _, p := range f.D.Panels {
			switch p.Type {
			case "stat", "singlestat", "graph", "table", "timeseries", "gauge":
			default:
				continue
			}
			if !slices.Contains(validUnits, p.FieldConfig.Defaults.Unit) {
				out = append(out, fmt.Sprintf("panel %q has no or an invalid unit: %q", p.Title, p.FieldConfig.Defaults.Unit))
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, pr := range o.Properties {
					var u string
					if pr.ID == "unit" && (json.Unmarshal(pr.Value, &u) != nil || !slices.Contains(validUnits, u)) {
						out = append(out, fmt.Sprintf("panel %q overrides the unit with %s", p.Title, pr.Value))
					}
				}
			}
		}
		return out
	}},
	{name: "panel-no-targets-rule", check: func(f dashboardFile) []string {
		var out []string
		for _, p := range f.D.Panels {
			if dataPanel(p) && len(p.Targets) == 0 {
				out = append(out, fmt.Sprintf("panel %q has no targets", p.Title))
			}
		}
		return out
	}},
	{name: "target-promql-rule", prom: true, check: func(f dashboardFile) []string {
		var out []string
		forTargets(f, func(p panel, t target) {
			if _, err := parseTarget(t.Expr); err != nil {
				out = append(out, fmt.Sprintf("panel %q target %s: invalid PromQL %q: %v", p.Title, t.RefID, t.Expr, err))
			}
		})
		return out
	}},
	{name: "target-rate-interval-rule", prom: true, check: func(f dashboardFile) []string {
		var out []string
		forTargets(f, func(p panel, t target) {
			e, err := parseTarget(t.Expr)
			if err != nil {
				return
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if ms, ok := n.(*parser.MatrixSelector); ok && ms.Range != rateIntervalMagic {
					out = append(out, fmt.Sprintf("panel %q target %s: range %v instead of $__rate_interval in %s", p.Title, t.RefID, ms.Range, t.Expr))
				}
				return nil
			})
		})
		return out
	}},
	{name: "target-cluster-rule (target-job-rule for Netlens)", prom: true, check: func(f dashboardFile) []string {
		return checkRequiredMatcher(f, "cluster")
	}},
	{name: "target-node-rule (target-instance-rule for Netlens)", prom: true, check: func(f dashboardFile) []string {
		if f.D.variable("node") == nil {
			return nil
		}
		return checkRequiredMatcher(f, "node")
	}},
	{name: "target-counter-agg-rule", prom: true, check: func(f dashboardFile) []string {
		var out []string
		forTargets(f, func(p panel, t target) {
			e, err := parseTarget(t.Expr)
			if err != nil {
				return
			}
			parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok || !strings.HasSuffix(vs.Name, "_total") {
					return nil
				}
				ok = len(path) >= 2
				if ok {
					_, isRange := path[len(path)-1].(*parser.MatrixSelector)
					call, isCall := path[len(path)-2].(*parser.Call)
					ok = isRange && isCall && slices.Contains([]string{"rate", "irate", "increase"}, call.Func.Name)
				}
				if !ok {
					out = append(out, fmt.Sprintf("panel %q target %s: counter %s is not aggregated with rate, irate or increase", p.Title, t.RefID, vs.Name))
				}
				return nil
			})
		})
		return out
	}},
	{name: "uneditable-dashboard", check: func(f dashboardFile) []string {
		// Generated dashboards are changed in dashgen; users copy them to edit.
		if f.D.Editable == nil || *f.D.Editable {
			return []string{"the dashboard is editable, want editable: false"}
		}
		return nil
	}},
	{name: "unique-panel-ids-rule", check: func(f dashboardFile) []string {
		var out []string
		seen := map[int]bool{}
		for _, p := range f.D.Panels {
			if seen[p.ID] || p.ID <= 0 {
				out = append(out, fmt.Sprintf("panel id %d used twice or not positive", p.ID))
			}
			seen[p.ID] = true
		}
		return out
	}},
	{name: "target-refid-rule", check: func(f dashboardFile) []string {
		var out []string
		for _, p := range f.D.Panels {
			seen := map[string]bool{}
			for _, t := range p.Targets {
				if t.RefID == "" || seen[t.RefID] {
					out = append(out, fmt.Sprintf("panel %q: refId %q empty or used twice", p.Title, t.RefID))
				}
				seen[t.RefID] = true
			}
		}
		return out
	}},
}

// checkFilterTemplate is template-job-rule / template-instance-rule for a
// Netlens filter variable: a multi-value query variable of the templated
// data source with All. Deviation: All is ".*", not the linter's ".+",
// because single-cluster setups have no cluster label and ".+" would match
// nothing there.
func checkFilterTemplate(f dashboardFile, name string, required bool) []string {
	v := f.D.variable(name)
	if v == nil {
		if required {
			return []string{"is missing the " + name + " template"}
		}
		return nil
	}
	var out []string
	if v.Datasource == nil || (v.Datasource.UID != "${datasource}" && v.Datasource.UID != "$datasource") {
		out = append(out, fmt.Sprintf("%s template should use datasource '$datasource', is %+v", name, v.Datasource))
	}
	if v.Type != "query" {
		out = append(out, fmt.Sprintf("%s template should be a Prometheus query, is %q", name, v.Type))
	}
	if want := strings.ToUpper(name[:1]) + name[1:]; v.Label != want {
		out = append(out, fmt.Sprintf("%s template should be labelled %q, is %q", name, want, v.Label))
	}
	if !v.Multi || !v.IncludeAll {
		out = append(out, fmt.Sprintf("%s template should be multi-select with All", name))
	}
	if v.AllValue != dashgen.AllRegex {
		out = append(out, fmt.Sprintf("%s template allValue should be %q, is %q", name, dashgen.AllRegex, v.AllValue))
	}
	return out
}

// checkRequiredMatcher is target-job-rule for a Netlens filter variable:
// every selector of every target matches label=~"$variable".
func checkRequiredMatcher(f dashboardFile, variable string) []string {
	var out []string
	label := storedLabel(f, variable)
	forTargets(f, func(p panel, t target) {
		e, err := parseTarget(t.Expr)
		if err != nil {
			return
		}
		for _, sel := range parser.ExtractSelectors(e) {
			ok := false
			for _, m := range sel {
				if m.Name == label && m.Type == labels.MatchRegexp && m.Value == "bgludgvy_"+variable {
					ok = true
				}
			}
			if !ok {
				out = append(out, fmt.Sprintf("panel %q target %s: a selector has no %s=~\"$%s\" matcher: %s", p.Title, t.RefID, label, variable, t.Expr))
			}
		}
	})
	return out
}

func forTargets(f dashboardFile, fn func(panel, target)) {
	for _, p := range f.D.Panels {
		for _, t := range p.Targets {
			fn(p, t)
		}
	}
}

func lint(f dashboardFile) map[string][]string {
	out := map[string][]string{}
	for _, r := range lintRules {
		if r.prom && f.Flavour.Netlens {
			continue
		}
		if problems := r.check(f); len(problems) > 0 {
			out[r.name] = problems
		}
	}
	return out
}

// Every dashboard passes the dashboard-linter rules (the PromQL rules on
// the Prometheus and AKS flavours, the generic ones on all).
func TestDashboardsPassLinterRules(t *testing.T) {
	for _, f := range loadDashboards(t) {
		t.Run(f.Rel, func(t *testing.T) {
			for name, problems := range lint(f) {
				for _, p := range problems {
					t.Errorf("%s: %s", name, p)
				}
			}
		})
	}
}

// Uids and titles are unique over all dashboards of all flavours, so that
// all of them can be imported into one Grafana.
func TestUIDsAndTitlesAreUnique(t *testing.T) {
	uids, titles := map[string]string{}, map[string]string{}
	for _, f := range loadDashboards(t) {
		if prev, dup := uids[f.D.UID]; dup {
			t.Errorf("uid %q in %s and %s", f.D.UID, prev, f.Rel)
		}
		if prev, dup := titles[f.D.Title]; dup {
			t.Errorf("title %q in %s and %s", f.D.Title, prev, f.Rel)
		}
		uids[f.D.UID], titles[f.D.Title] = f.Rel, f.Rel
		if len(f.D.UID) > 40 {
			t.Errorf("%s: uid %q longer than Grafana's 40 characters", f.Rel, f.D.UID)
		}
	}
}

var linkVar = regexp.MustCompile(`\$\{([a-zA-Z0-9_.]+)(?::([a-z]+))?\}`)

// Drill-down links point at dashboards of the same flavour that exist, or at
// the app's pages, and use only variables the dashboard has, Grafana's
// built-ins and labels the panel's series carry.
func TestDrillDownLinksResolve(t *testing.T) {
	all := loadDashboards(t)
	uids := map[string]dashboardFile{}
	for _, f := range all {
		uids[f.D.UID] = f
	}
	n := 0
	for _, f := range all {
		for _, p := range f.D.Panels {
			var urls []string
			for _, l := range p.FieldConfig.Defaults.Links {
				urls = append(urls, l.URL)
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, pr := range o.Properties {
					if pr.ID == "links" {
						var ls []struct{ URL string }
						_ = json.Unmarshal(pr.Value, &ls)
						for _, l := range ls {
							urls = append(urls, l.URL)
						}
					}
				}
			}
			for _, u := range urls {
				n++
				switch {
				case strings.HasPrefix(u, "/d/"):
					uid, _, _ := strings.Cut(strings.TrimPrefix(u, "/d/"), "?")
					tf, ok := uids[uid]
					if !ok || tf.Flavour.Name != f.Flavour.Name {
						t.Errorf("%s panel %q links to dashboard %q, not one of this flavour", f.Rel, p.Title, uid)
					}
				case strings.HasPrefix(u, "/a/"+dashgen.AppID+"/drops?"), strings.HasPrefix(u, "/a/"+dashgen.AppID+"/nic?"):
				default:
					t.Errorf("%s panel %q: link %q", f.Rel, p.Title, u)
				}
				for _, m := range linkVar.FindAllStringSubmatch(u, -1) {
					name := m[1]
					switch {
					case name == "__url_time_range", name == "__value.raw":
					case strings.HasPrefix(name, "__field.labels."), strings.HasPrefix(name, "__data.fields."):
						label := name[strings.LastIndex(name, ".")+1:]
						if !panelHasLabel(p, label) {
							t.Errorf("%s panel %q: link uses %s, a label its queries do not group by", f.Rel, p.Title, name)
						}
					default:
						if f.D.variable(name) == nil {
							t.Errorf("%s panel %q: link uses ${%s}, no variable of the dashboard", f.Rel, p.Title, name)
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no drill-down links found")
	}
}

// panelHasLabel says whether the panel's series carry label: a group-by
// label of its PromQL (sum by (...)) or of its Netlens queries.
func panelHasLabel(p panel, label string) bool {
	for _, t := range p.Targets {
		if t.Expr != "" {
			e, err := parseTarget(t.Expr)
			if err != nil {
				continue
			}
			found := false
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if a, ok := n.(*parser.AggregateExpr); ok && slices.Contains(a.Grouping, label) && !a.Without {
					found = true
				}
				return nil
			})
			if found {
				return true
			}
			continue
		}
		var q struct {
			GroupBy []string `json:"groupBy"`
		}
		_ = json.Unmarshal(t.Raw, &q)
		if slices.Contains(q.GroupBy, label) {
			return true
		}
	}
	return false
}

// Each rule catches what it is there for: mutated copies of the Prometheus
// drops dashboard fail the rule named.
func TestLinterRulesCatchMistakes(t *testing.T) {
	var base dashboardFile
	for _, f := range loadDashboards(t) {
		if f.Rel == "prometheus/drops.json" {
			base = f
		}
	}
	cases := []struct {
		rule, old, new string
	}{
		{"target-rate-interval-rule", `[$__rate_interval]`, `[5m]`},
		{"target-promql-rule", `sum by (reason) (rate(`, `sum by (reason) rate((`},
		{"target-cluster-rule (target-job-rule for Netlens)", `cluster=~\"$cluster\", node=~\"$node\", reason`, `node=~\"$node\", reason`},
		{"target-node-rule (target-instance-rule for Netlens)", `{cluster=~\"$cluster\", node=~\"$node\", reason=~\"$reason\"}`, `{cluster=~\"$cluster\", node=\"$node\", reason=~\"$reason\"}`},
		{"target-counter-agg-rule", `(rate(netlens_drop_packets_total{cluster=~\"$cluster\", node=~\"$node\", reason=~\"$reason\"}[$__rate_interval]))`, `(netlens_drop_packets_total{cluster=~\"$cluster\", node=~\"$node\", reason=~\"$reason\"})`},
		{"panel-units-rule", `"unit": "pps"`, `"unit": "packets per second"`},
		{"panel-title-description-rule", `"description": "Packets the kernel dropped per second on the selected nodes`, `"description": "", "x": "`},
		{"template-datasource-rule", `"label": "Data source"`, `"label": "Prometheus"`},
		{"template-cluster-rule (template-job-rule for Netlens)", `"allValue": ".*"`, `"allValue": ".+"`},
		{"template-label-promql-rule", `label_values(netlens_agent_info, cluster)`, `label_values(netlens_agent_info{, cluster)`},
		{"template-on-time-change-reload-rule", `"refresh": 2`, `"refresh": 1`},
		{"panel-datasource-rule", "\"uid\": \"${datasource}\"\n      },\n      \"gridPos\"", "\"uid\": \"prometheus\"\n      },\n      \"gridPos\""},
		{"unique-panel-ids-rule", `"id": 2,`, `"id": 1,`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			if !strings.Contains(string(base.Raw), c.old) {
				t.Fatalf("prometheus/drops.json does not contain %s", c.old)
			}
			f := base
			f.Raw = []byte(strings.Replace(string(base.Raw), c.old, c.new, 1))
			f.D = dashboard{}
			if err := json.Unmarshal(f.Raw, &f.D); err != nil {
				t.Fatal(err)
			}
			problems := lint(f)
			if len(problems[c.rule]) == 0 {
				t.Fatalf("%s did not fire (problems: %v)", c.rule, problems)
			}
			t.Logf("%s: %s", c.rule, problems[c.rule][0])
		})
	}
}

// The reasons table explains every reason the agent can report (Netlens's
// catalog, agent/reasons), and in the AKS flavour the add-on's reasons.
func TestReasonsTableExplainsEveryReason(t *testing.T) {
	all, err := reasons.All()
	if err != nil {
		t.Fatal(err)
	}
	var catalog []string
	for _, e := range all {
		catalog = append(catalog, e.Reason)
	}
	aks := []string{"CONNTRACK_ADD_DROP", "IPTABLE_NAT_DROP", "IPTABLE_RULE_DROP", "TCP_ACCEPT_BASIC", "TCP_CONNECT_BASIC"}
	found := 0
	for _, f := range loadDashboards(t) {
		for _, p := range f.D.Panels {
			if p.Title != "Drop reasons explained" {
				continue
			}
			found++
			if f.Flavour.Netlens {
				// The app's panel explains the reasons from the data source's
				// catalog itself (src/panels/reasons).
				var opts struct {
					Options map[string]any `json:"options"`
				}
				if err := json.Unmarshal(p.Raw, &opts); err != nil {
					t.Fatal(err)
				}
				if p.Type != dashgen.ReasonsPanel || opts.Options["linkToDrops"] != true || opts.Options["unit"] != p.FieldConfig.Defaults.Unit {
					t.Errorf("%s: reasons shown by %q with options %v, want %s linking to the Drops page in the panel's unit", f.Rel, p.Type, opts.Options, dashgen.ReasonsPanel)
				}
				continue
			}
			var mapped []string
			for _, o := range p.FieldConfig.Overrides {
				for _, pr := range o.Properties {
					if pr.ID != "mappings" {
						continue
					}
					var ms []struct {
						Options map[string]struct {
							Text string `json:"text"`
						} `json:"options"`
					}
					if err := json.Unmarshal(pr.Value, &ms); err != nil {
						t.Fatal(err)
					}
					for _, m := range ms {
						for r, v := range m.Options {
							if !strings.HasPrefix(v.Text, r+": ") || len(v.Text) < len(r)+40 {
								t.Errorf("%s: %s explained as %q", f.Rel, r, v.Text)
							}
							mapped = append(mapped, r)
						}
					}
				}
			}
			slices.Sort(mapped)
			want := slices.Sorted(slices.Values(catalog))
			if f.Flavour.Schema == "retina" {
				want = aks
			}
			if !slices.Equal(mapped, want) {
				t.Errorf("%s: the reasons table explains %d reasons, want the %d of %s", f.Rel, len(mapped), len(want), map[bool]string{true: "the add-on", false: "the catalog"}[f.Flavour.Schema == "retina"])
			}
		}
	}
	if found != len(dashgen.Flavours) {
		t.Fatalf("%d reasons tables, want one per flavour", found)
	}
}
