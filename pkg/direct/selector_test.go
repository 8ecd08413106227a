package direct

import (
	"strings"
	"testing"

	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

var hostile = []string{
	`a"} or vector(1) or {x="`,
	`back\slash\"`,
	"new\nline\r\t",
	`.*`,
	`a|b`,
	`(unclosed[`,
	`ünï ${x} ` + "\x00",
	"",
}

// Each hostile value, alone or among others, becomes a matcher that the
// agent's own selector parser reads back as selecting exactly the values
// given: nothing escapes the string, no regex metacharacter is live.
func TestMatcherHostileValues(t *testing.T) {
	others := []string{"a", "b", "x", "anything", `a"`, "new", "vector(1)"}
	for _, v := range hostile {
		for _, vals := range [][]string{{v}, {v, "NO_SOCKET"}} {
			sel := "netlens_drop_packets_total{" + query.Matcher("reason", vals) + "}"
			ms, err := history.ParseSelector(sel)
			if err != nil {
				t.Fatalf("%q: %s does not parse: %v", vals, sel, err)
			}
			if len(ms) != 2 || ms[1].Name != "reason" {
				t.Fatalf("%q: %s parsed into %+v", vals, sel, ms)
			}
			for _, want := range vals {
				if !ms[1].Matches(want) {
					t.Errorf("%s does not match %q", sel, want)
				}
			}
			for _, o := range append(others, hostile...) {
				if !contains(vals, o) && ms[1].Matches(o) {
					t.Errorf("%s matches %q, not among %q", sel, o, vals)
				}
			}
		}
	}
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func TestSelectors(t *testing.T) {
	q := models.Query{QueryType: models.QueryPodDrops, Value: "bytes",
		Filters: models.Filters{Namespace: []string{"shop"}, Pod: []string{"web-1", "db-0"}, Interface: []string{"eth0"}, Cluster: []string{"c1"}}}
	sp, err := specFor(q)
	if err != nil {
		t.Fatal(err)
	}
	sels, err := selectors(sp, q.Filters)
	if err != nil {
		t.Fatal(err)
	}
	want := `netlens_pod_drop_bytes_total{namespace="shop",pod=~"db-0|web-1"}`
	if len(sels) != 1 || sels[0] != want {
		t.Fatalf("selectors %q, want %q", sels, want)
	}
	// The filters that do not apply are said, in prometheus mode's words
	// for the metric's labels, apart for cluster.
	wantNotices := []string{clusterFilterNotice,
		`podDrops: the interface filter does not apply (netlens_pod_drop_bytes_total has no "interface" label in the netlens schema) and is ignored`}
	if got := labelNotices(sp, q); strings.Join(got, "|") != strings.Join(wantNotices, "|") {
		t.Fatalf("notices %q, want %q", got, wantNotices)
	}
	// Multi-metric types: one selector per metric.
	sp, _ = specFor(models.Query{QueryType: models.QueryNIC})
	sels, _ = selectors(sp, models.Filters{Interface: []string{"eth0"}})
	if len(sels) != 3 || sels[0] != `netlens_nic_rx_buffer_exhausted_total{interface="eth0"}` || sels[2] != `netlens_nic_stat_total{interface="eth0"}` {
		t.Fatalf("nic selectors %q", sels)
	}
	// Too many or too long values are refused before reaching an agent.
	long := make([]string, 200)
	for i := range long {
		long[i] = strings.Repeat("x", 30) + string(rune('a'+i%26)) + strings.Repeat("y", i%7)
	}
	sp, _ = specFor(models.Query{QueryType: models.QueryDrops})
	if _, err := selectors(sp, models.Filters{Reason: long}); err == nil || !strings.Contains(err.Error(), "more than the agents accept") {
		t.Fatalf("long selector: %v", err)
	}
}
