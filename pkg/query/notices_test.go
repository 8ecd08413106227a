package query

import (
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/models"
)

// Each lacking label is said once per metric, group-by labels first, in a
// fixed filter order; labels a metric has are not mentioned.
func TestLabelNotices(t *testing.T) {
	q := models.Query{QueryType: models.QueryNIC, GroupBy: []string{"node", "queue", "queue"},
		Filters: models.Filters{Pod: []string{"a"}, Interface: []string{"eth0"}, Namespace: []string{"x"}}}
	got := LabelNotices(q, models.SchemaNetlens, []MetricLabels{
		{Metric: "m1", Labels: []string{"node", "interface", "queue"}},
		{Metric: "m2", Labels: []string{"node", "interface"}},
	})
	want := []string{
		`nic: the namespace filter does not apply (m1 has no "namespace" label in the netlens schema) and is ignored`,
		`nic: the pod filter does not apply (m1 has no "pod" label in the netlens schema) and is ignored`,
		`nic: m2 has no "queue" label in the netlens schema, so it is not grouped by it`,
		`nic: the namespace filter does not apply (m2 has no "namespace" label in the netlens schema) and is ignored`,
		`nic: the pod filter does not apply (m2 has no "pod" label in the netlens schema) and is ignored`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
