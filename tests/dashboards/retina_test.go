package dashboards_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/promproc"
	"github.com/netlens/netlens/tests/testenv"
)

// No AKS add-on runs here, so the AKS flavour is checked against recorded
// add-on metrics: series with the add-on's names and labels
// (research: /work/shared/research/retina.md §2; the same shapes as
// tests/prometheus's retina test), cumulative values growing by slope every
// 15 s as the add-on's gauges do, backfilled into Debian's Prometheus with
// promtool. Every metric an AKS panel reads is here.
type recorded struct {
	metric, labels string
	slope          float64
}

var aksData = []recorded{
	{"networkobservability_drop_count", `instance="aks-np-0",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 10},
	{"networkobservability_drop_count", `instance="aks-np-0",cluster="aks1",reason="TCP_CONNECT_BASIC",direction="egress"`, 3},
	{"networkobservability_drop_count", `instance="aks-np-1",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 20},
	{"networkobservability_drop_count", `instance="aks-other-0",cluster="aks2",reason="IPTABLE_RULE_DROP",direction="unknown"`, 1000},
	{"networkobservability_drop_bytes", `instance="aks-np-0",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 600},
	{"networkobservability_forward_count", `instance="aks-np-0",cluster="aks1",direction="ingress"`, 1000},
	{"networkobservability_forward_count", `instance="aks-np-1",cluster="aks1",direction="ingress"`, 2000},
	{"networkobservability_forward_count", `instance="aks-other-0",cluster="aks2",direction="ingress"`, 5},
	{"networkobservability_adv_drop_count", `instance="aks-np-0",cluster="aks1",ip="10.244.0.5",namespace="shop",podname="web-0",workload_kind="Deployment",workload_name="web",direction="ingress",reason="IPTABLE_RULE_DROP"`, 4},
	{"networkobservability_adv_drop_count", `instance="aks-np-1",cluster="aks1",ip="10.244.1.7",namespace="shop",podname="db-0",workload_kind="StatefulSet",workload_name="db",direction="egress",reason="IPTABLE_RULE_DROP"`, 2},
	{"networkobservability_interface_stats", `instance="aks-np-0",cluster="aks1",interface_name="all_interfaces",statistic_name="rx_dropped"`, 5},
	{"networkobservability_interface_stats", `instance="aks-np-0",cluster="aks1",interface_name="all_interfaces",statistic_name="rx_errors"`, 1},
	{"networkobservability_tcp_connection_stats", `instance="aks-np-0",cluster="aks1",statistic_name="ListenDrops"`, 2},
	{"networkobservability_ip_connection_stats", `instance="aks-np-1",cluster="aks1",statistic_name="InNoRoutes"`, 1},
}

const (
	aksStep    = 15 * time.Second
	aksSamples = 40 // 10 minutes
)

func aksOpenMetrics(end time.Time) string {
	var b strings.Builder
	var done []string
	for _, s := range aksData {
		if slices.Contains(done, s.metric) {
			continue
		}
		done = append(done, s.metric)
		fmt.Fprintf(&b, "# TYPE %s gauge\n", s.metric)
		for _, s2 := range aksData {
			if s2.metric != s.metric {
				continue
			}
			for i := range aksSamples {
				ts := end.Add(-time.Duration(aksSamples-1-i) * aksStep)
				fmt.Fprintf(&b, "%s{%s} %v %d\n", s2.metric, s2.labels, s2.slope*float64(i+1), ts.Unix())
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// slopeSum is the rate (per second) the recorded series of metric in
// cluster aks1 grow by in total.
func slopeSum(metric string) float64 {
	total := 0.0
	for _, s := range aksData {
		if s.metric == metric && strings.Contains(s.labels, `cluster="aks1"`) {
			total += s.slope
		}
	}
	return total / aksStep.Seconds()
}

// Every PromQL target and variable of the AKS flavour runs on a Prometheus
// holding recorded add-on metrics: it parses, answers without error, returns
// series (every panel the flavour keeps has data to show), only of the
// selected cluster, and the drop rates are the recorded ones. Then the app's
// panels, run through the data source backend in the retina schema, show the
// same series and numbers as the AKS flavour.
func TestAKSFlavourOnRecordedAddonMetrics(t *testing.T) {
	testenv.RequireCommands(t, "prometheus", "promtool")
	end := time.Now().Add(-time.Minute).Truncate(aksStep)
	prom := promproc.Start(t, promproc.Options{Backfill: aksOpenMetrics(end)})
	evalAt := end.Add(-2 * time.Minute)
	vars := map[string]string{
		"cluster": "aks1", "node": ".*", "namespace": ".*", "pod": ".*", "reason": ".*", "interface": ".*",
		"__rate_interval": "60s",
	}
	targets := 0
	for _, f := range promDashboards(t) {
		if f.Flavour.Schema != "retina" {
			continue
		}
		for _, p := range f.D.Panels {
			for _, tg := range p.Targets {
				targets++
				where := fmt.Sprintf("%s panel %q target %s", f.Rel, p.Title, tg.RefID)
				expr := substitute(tg.Expr, vars)
				e, err := promParser.ParseExpr(expr)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				ss, err := promInstant(prom.URL, expr, evalAt)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if len(ss) == 0 {
					t.Errorf("%s: no series: %s", where, expr)
					continue
				}
				for _, s := range ss {
					if c, ok := s.Labels["cluster"]; ok && c != "aks1" {
						t.Errorf("%s: a series of cluster %q with $cluster = aks1", where, c)
					}
					if v := s.Values[0]; math.IsNaN(v) || v < 0 {
						t.Errorf("%s: value %v", where, v)
					}
				}
				if tg.Instant {
					continue
				}
				// The drop rates are the recorded slopes (every 60 s window
				// lies inside the data, so rate() is exact here).
				ms := metricsOf(e)
				if len(ms) == 1 && slices.Contains([]string{"networkobservability_drop_count", "networkobservability_adv_drop_count", "networkobservability_drop_bytes"}, ms[0]) {
					got, want := sumValues(ss, nil), slopeSum(ms[0])
					if math.Abs(got-want) > 1e-9 {
						t.Errorf("%s: total %v per second, the recorded %s grows by %v", where, got, ms[0], want)
					}
				}
			}
		}
		// Variables list the recorded values.
		want := map[string][]string{
			"cluster": {"aks1", "aks2"}, "node": {"aks-np-0", "aks-np-1"}, "namespace": {"shop"}, "pod": {"db-0", "web-0"},
			"reason": {"IPTABLE_RULE_DROP", "TCP_CONNECT_BASIC"}, "interface": {"all_interfaces"},
		}
		for _, v := range f.D.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValuesQuery.FindStringSubmatch(v.queryText())
			if m == nil {
				t.Errorf("%s variable %s: %q", f.Rel, v.Name, v.queryText())
				continue
			}
			got, err := promLabelValues(prom.URL, m[2], substitute(m[1], vars), end.Add(-9*time.Minute), end)
			if err != nil {
				t.Errorf("%s variable %s: %v", f.Rel, v.Name, err)
				continue
			}
			if !slices.Equal(got, want[v.Name]) {
				t.Errorf("%s variable %s lists %v, want %v", f.Rel, v.Name, got, want[v.Name])
			}
		}
	}
	if targets == 0 {
		t.Fatal("no AKS targets")
	}
	t.Logf("%d AKS targets answered with the recorded data", targets)

	// The app's panels through the backend (retina schema) = the AKS flavour.
	r := newReader(t, prom.URL, `{"schema":"retina","scrapeIntervalSeconds":15}`)
	rg := query.Range{From: end.Add(-8 * time.Minute), To: end, Interval: aksStep, MaxDataPoints: 1000}
	in := flavourInputs{
		filters: map[string][]string{"cluster": {"aks1"}, "node": nil, "namespace": nil, "pod": nil, "reason": nil, "interface": nil},
		prom:    map[string]string{"cluster": "aks1", "node": ".*", "namespace": ".*", "pod": ".*", "reason": ".*", "interface": ".*"},
	}
	byFile := map[string]dashboardFile{}
	for _, f := range loadDashboards(t) {
		byFile[f.Rel] = f
	}
	total := 0
	for _, name := range []string{"drops.json", "nic.json", "overview.json"} {
		n := compareFlavours(t, byFile[name], byFile["aks/"+name], r, prom.URL, rg, 60*time.Second, in)
		t.Logf("%s: %d series (and nodes) of the app's panels equal the AKS flavour's", name, n)
		total += n
	}
	if total == 0 {
		t.Fatal("nothing compared")
	}
}
