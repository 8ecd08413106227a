// Package dashboards_test checks the generated dashboards (dashboards/,
// written by dashboards/dashgen): they are what the generator writes now,
// they decode strictly into Grafana's dashboard schema (grafana-foundation-sdk),
// they pass the rules of grafana/dashboard-linter (re-implemented here: the
// linter cannot be installed from the module proxy), and every PromQL target
// runs against a real Prometheus: scraping a real agent in the network lab
// (root), with drop counts compared with an iptables rule's counter, and
// against recorded AKS add-on metrics. The app's and the Prometheus flavour's
// panels are compared series by series through the data source backend.
package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/netlens/netlens/dashboards/dashgen"
	"github.com/netlens/netlens/tests/testenv"
)

// dashboardFile is one committed dashboard file.
type dashboardFile struct {
	// Rel is the path under dashboards/ ("aks/drops.json").
	Rel     string
	Flavour dashgen.Flavour
	Raw     []byte
	D       dashboard
}

// The parts of a dashboard the checks read (the strict decoding into
// Grafana's types is TestDashboardsDecodeIntoGrafanaSchema's job).
type dashboard struct {
	ID            *int     `json:"id"`
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Tags          []string `json:"tags"`
	SchemaVersion int      `json:"schemaVersion"`
	GraphTooltip  int      `json:"graphTooltip"`
	Editable      *bool    `json:"editable"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource *dsRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Refresh    int             `json:"refresh"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// queryText is a variable's query: a string (Prometheus label_values) or the
// Netlens variable query's text.
func (v variable) queryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Datasource  *dsRef `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit  string `json:"unit"`
			Links []struct {
				Title string `json:"title"`
				URL   string `json:"url"`
			} `json:"links"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options any    `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Targets         []target `json:"targets"`
	Transformations []struct {
		ID     string `json:"id"`
		Filter *struct {
			ID      string `json:"id"`
			Options string `json:"options"`
		} `json:"filter"`
		Options map[string]any `json:"options"`
	} `json:"transformations"`
	Raw json.RawMessage `json:"-"`
}

// target is a Prometheus target or a Netlens query (whose own fields are
// read from Raw).
type target struct {
	RefID        string          `json:"refId"`
	Datasource   *dsRef          `json:"datasource"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
	Instant      bool            `json:"instant"`
	Range        bool            `json:"range"`
	Format       string          `json:"format"`
	QueryType    string          `json:"queryType"`
	Raw          json.RawMessage `json:"-"`
}

func (t *target) UnmarshalJSON(b []byte) error {
	type plain target
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	t.Raw = append(json.RawMessage(nil), b...)
	return nil
}

func (p *panel) UnmarshalJSON(b []byte) error {
	type plain panel
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// variable is the dashboard's variable of that name, or nil.
func (d dashboard) variable(name string) *variable {
	for i := range d.Templating.List {
		if d.Templating.List[i].Name == name {
			return &d.Templating.List[i]
		}
	}
	return nil
}

// dashboardsDir is the repository's dashboards/ directory.
func dashboardsDir(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "dashboards")
}

// committedFiles lists every .json under dashboards/ (the app's, prometheus/
// and aks/), relative and sorted.
func committedFiles(t *testing.T) []string {
	t.Helper()
	root := dashboardsDir(t)
	var out []string
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// loadDashboards reads every committed dashboard, with its flavour.
func loadDashboards(t *testing.T) []dashboardFile {
	t.Helper()
	var out []dashboardFile
	for _, rel := range committedFiles(t) {
		raw, err := os.ReadFile(filepath.Join(dashboardsDir(t), filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		f := dashboardFile{Rel: rel, Raw: raw}
		dir := filepath.ToSlash(filepath.Dir(rel))
		found := false
		for _, fl := range dashgen.Flavours {
			if fl.Dir == dir || (fl.Dir == "" && dir == ".") {
				f.Flavour, found = fl, true
			}
		}
		if !found {
			t.Fatalf("%s: in no flavour's directory", rel)
		}
		if err := json.Unmarshal(raw, &f.D); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatal("no dashboards found")
	}
	return out
}

// promDashboards are the PromQL flavours (prometheus/, aks/).
func promDashboards(t *testing.T) []dashboardFile {
	var out []dashboardFile
	for _, f := range loadDashboards(t) {
		if !f.Flavour.Netlens {
			out = append(out, f)
		}
	}
	return out
}

// dataPanel says whether a panel type shows query results (not text).
func dataPanel(p panel) bool { return p.Type != "text" && p.Type != "row" }

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// expandLegend names a series as Grafana's Prometheus data source does with
// a legend format, spaces collapsed (the backend leaves empty values out).
func expandLegend(format string, labels map[string]string) string {
	s := legendLabel.ReplaceAllStringFunc(format, func(m string) string {
		return labels[legendLabel.FindStringSubmatch(m)[1]]
	})
	return strings.Join(strings.Fields(s), " ")
}
