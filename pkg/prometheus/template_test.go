package prometheus

import (
	"slices"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// TemplateExprs is the backend's PromQL with matchers on template
// variables: for one filter value per label, replacing `=~` by `=` gives the
// backend's expression exactly, for every query type, schema, grouping and
// value; and the template form parses once Grafana has filled it in.
func TestTemplateExprsAreTheBackendsPromQL(t *testing.T) {
	for _, schema := range []models.Schema{models.SchemaNetlens, models.SchemaRetina} {
		for _, qt := range []models.QueryType{models.QueryDrops, models.QueryPodDrops, models.QueryNIC, models.QueryInterfaces, models.QueryNetstat} {
			for _, extra := range []string{`"groupBy":["node","reason"]`, `"groupBy":["namespace","pod"],"value":"bytes"`, `"groupBy":[],"rate":false`} {
				raw := `{"queryType":"` + string(qt) + `",` + extra + `,"filters":{"cluster":["VALcluster"],"node":["VALnode"],"pod":["VALpod"],"interface":["VALinterface"]}}`
				q := mustParse(t, raw)
				tmpl, tnotices, err := TemplateExprs(schema, q, "60s")
				if err != nil {
					t.Fatal(err)
				}
				backend, bnotices := exprs(t, schema, q, "60s")
				if len(tmpl) != len(backend) || !slices.Equal(tnotices, bnotices) {
					t.Fatalf("%s %s: %d template targets, backend %d; notices %v vs %v", schema, raw, len(tmpl), len(backend), tnotices, bnotices)
				}
				for i, te := range tmpl {
					if got := strings.ReplaceAll(te.Expr, `=~"VAL`, `="VAL`); got != backend[i] {
						t.Errorf("%s %s:\ntemplate %s\nbackend  %s", schema, raw, te.Expr, backend[i])
					}
				}
			}
		}
	}
}

func TestTemplateExprsWithVariables(t *testing.T) {
	q := mustParse(t, `{"queryType":"podDrops","groupBy":["node","pod"],"filters":{"cluster":["$cluster"],"node":["$node"],"pod":["$pod"]}}`)
	es, _, err := TemplateExprs(models.SchemaNetlens, q, "$__rate_interval")
	if err != nil || len(es) != 1 {
		t.Fatal(es, err)
	}
	want := `sum by (node, pod) (rate(netlens_pod_drop_packets_total{cluster=~"$cluster", node=~"$node", pod=~"$pod"}[$__rate_interval]))`
	if es[0].Expr != want || es[0].Unit != "pps" || !slices.Equal(es[0].GroupBy, []string{"node", "pod"}) || len(es[0].Lacks) != 0 {
		t.Fatalf("%+v", es[0])
	}
	filled := strings.NewReplacer("$__rate_interval", "1m", "$cluster", ".*", "$node", "(a|b)", "$pod", "web-0").Replace(es[0].Expr)
	if _, err := promParser.ParseExpr(filled); err != nil {
		t.Fatalf("%s: %v", filled, err)
	}

	// Retina: stored label names, and what the schema lacks.
	q = mustParse(t, `{"queryType":"drops","groupBy":["node","location"],"filters":{"node":["$node"]}}`)
	es, notices, err := TemplateExprs(models.SchemaRetina, q, "$__rate_interval")
	if err != nil || len(es) != 1 {
		t.Fatal(es, err)
	}
	if es[0].Expr != `sum by (instance) (rate(networkobservability_drop_count{instance=~"$node"}[$__rate_interval]))` ||
		!slices.Equal(es[0].Lacks, []string{"location"}) || es[0].Stored["node"] != "instance" || len(notices) == 0 {
		t.Fatalf("%+v %v", es[0], notices)
	}
	if _, _, err := TemplateExprs(models.SchemaNetlens, mustParse(t, `{"queryType":"nodes"}`), "1m"); err == nil {
		t.Fatal("nodes queries have no TemplateExprs")
	}
}

func TestTemplateNodesAndValues(t *testing.T) {
	f := models.Filters{Cluster: []string{"$cluster"}}
	info, down := TemplateNodesExprs(models.SchemaNetlens, f)
	if info != `netlens_agent_info{cluster=~"$cluster"}` || down != `netlens_agent_collector_up{cluster=~"$cluster"} == 0` {
		t.Fatalf("%s / %s", info, down)
	}
	sel, label, err := TemplateValuesSelector(models.SchemaRetina, query.LabelPod, models.Filters{Namespace: []string{"$namespace"}})
	if err != nil || sel != `networkobservability_adv_drop_count{namespace=~"$namespace"}` || label != "podname" {
		t.Fatalf("%s %s %v", sel, label, err)
	}
	// node values come from netlens_agent_info unless a filter it lacks applies.
	sel, _, _ = TemplateValuesSelector(models.SchemaNetlens, query.LabelNode, models.Filters{Namespace: []string{"$namespace"}})
	if !strings.HasPrefix(sel, "netlens_pod_drop_packets_total{") {
		t.Fatalf("%s", sel)
	}
}
