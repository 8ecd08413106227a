package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/testenv"
)

// rulesFile is the single source of the Netlens alerts; the chart's
// files/netlens-alerts.yaml and provisioning/alerting/ are generated from it
// by deploy/rules/gen.
const (
	rulesFile      = "deploy/rules/netlens-alerts.yaml"
	chartRulesFile = chartDir + "/files/netlens-alerts.yaml"
)

// promRuleGroup and promRule are a Prometheus rule group as both the rule file
// and the Prometheus Operator's PrometheusRule spell it, so the two decode into
// the same type (strictly: a misspelt field fails).
type promRuleGroup struct {
	Name        string     `json:"name"`
	Interval    string     `json:"interval,omitempty"`
	QueryOffset string     `json:"query_offset,omitempty"`
	Limit       int        `json:"limit,omitempty"`
	Rules       []promRule `json:"rules"`
}

type promRule struct {
	Record        string            `json:"record,omitempty"`
	Alert         string            `json:"alert,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// prometheusRule is monitoring.coreos.com/v1 PrometheusRule (not in k8s.io/api).
type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []promRuleGroup `json:"groups"`
	} `json:"spec"`
}

// sourceRuleGroups decodes deploy/rules/netlens-alerts.yaml strictly.
func sourceRuleGroups(t *testing.T) []promRuleGroup {
	t.Helper()
	var f struct {
		Groups []promRuleGroup `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(readRepoFile(t, rulesFile), &f); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if len(f.Groups) == 0 {
		t.Fatalf("%s has no groups", rulesFile)
	}
	return f.Groups
}

// TestAlertsGenerated: the chart's copy of the rules and the Grafana-managed
// rules are what deploy/rules/gen makes from deploy/rules/netlens-alerts.yaml
// now, so the three forms of the alerts cannot drift apart.
func TestAlertsGenerated(t *testing.T) {
	testenv.RequireCommands(t, "go")
	cmd := exec.Command("go", "run", "./deploy/rules/gen", "-check")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./deploy/rules/gen -check: %v\n%s", err, out)
	}
	// Independently of the generator: the chart's copy is the source behind
	// comment lines only.
	src, cp := readRepoFile(t, rulesFile), readRepoFile(t, chartRulesFile)
	body := cp
	for bytes.HasPrefix(body, []byte("#")) {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			break
		}
		body = body[i+1:]
		if bytes.Equal(body, src) {
			return
		}
	}
	t.Errorf("%s is not %s behind a comment header: run go run ./deploy/rules/gen", chartRulesFile, rulesFile)
}

// TestPrometheusRule: the chart renders no PrometheusRule by default; enabled,
// one PrometheusRule whose groups are exactly those of deploy/rules, with the
// chart's labels and prometheusRule.labels, in prometheusRule.namespace (or the
// release namespace), and which promtool accepts as a rule file.
func TestPrometheusRule(t *testing.T) {
	want := sourceRuleGroups(t)

	t.Run("default", func(t *testing.T) {
		if o := decodeAll(t, render(t, "")); len(o.prometheusRules) != 0 {
			t.Fatalf("%d PrometheusRules rendered by default, want none", len(o.prometheusRules))
		}
	})

	cases := []struct {
		name, file    string
		set           []string
		wantNamespace string
		wantLabels    map[string]string
	}{
		{name: "ci-monitors", file: "ci/monitors-values.yaml", wantNamespace: namespace,
			wantLabels: map[string]string{"release": "kube-prometheus-stack"}},
		{name: "other-namespace", set: []string{"prometheusRule.enabled=true", "prometheusRule.namespace=monitoring", "prometheusRule.labels.prometheus=main"},
			wantNamespace: "monitoring", wantLabels: map[string]string{"prometheus": "main"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var extra []string
			for _, s := range c.set {
				extra = append(extra, "--set", s)
			}
			out := render(t, c.file, extra...)
			var rules []prometheusRule
			for _, doc := range docSeparator.Split(out, -1) {
				var tm metav1.TypeMeta
				if isEmptyDoc(doc) || yaml.Unmarshal([]byte(doc), &tm) != nil || tm.Kind != "PrometheusRule" {
					continue
				}
				var r prometheusRule
				if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
					t.Fatalf("PrometheusRule does not decode strictly: %v\n%s", err, doc)
				}
				rules = append(rules, r)
			}
			if len(rules) != 1 {
				t.Fatalf("%d PrometheusRules, want 1", len(rules))
			}
			r := rules[0]
			if r.APIVersion != "monitoring.coreos.com/v1" {
				t.Errorf("apiVersion %q", r.APIVersion)
			}
			if r.Metadata.Name != release || r.Metadata.Namespace != c.wantNamespace {
				t.Errorf("PrometheusRule %s/%s, want %s/%s", r.Metadata.Namespace, r.Metadata.Name, c.wantNamespace, release)
			}
			for k, v := range c.wantLabels {
				if r.Metadata.Labels[k] != v {
					t.Errorf("label %s=%q, want %q (prometheusRule.labels): %v", k, r.Metadata.Labels[k], v, r.Metadata.Labels)
				}
			}
			if r.Metadata.Labels["app.kubernetes.io/name"] != "netlens" || r.Metadata.Labels["helm.sh/chart"] == "" {
				t.Errorf("labels %v lack the chart's common labels", r.Metadata.Labels)
			}
			if !reflect.DeepEqual(r.Spec.Groups, want) {
				t.Errorf("spec.groups differ from %s:\ngot  %s\nwant %s", rulesFile, dump(r.Spec.Groups), dump(want))
			}
			// promtool checks the rendered groups as a rule file: expressions,
			// templates, durations.
			testenv.RequireCommands(t, "promtool")
			b, err := yaml.Marshal(map[string]any{"groups": r.Spec.Groups})
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("promtool", "check", "rules", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool check rules on the rendered PrometheusRule: %v\n%s", err, out)
			}
		})
	}
}
