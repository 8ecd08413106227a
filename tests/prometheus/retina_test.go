package prometheus_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/promproc"
)

// retinaSeries is one networkobservability_* series: cumulative values
// growing by slope per sample (what the add-on's gauges hold).
type retinaSeries struct {
	metric, typ, labels string
	slope               float64
}

// The add-on's documented names and labels (research/retina.md §2): node
// metrics with reason/direction, adv_* in local context, interface_stats
// summed over all interfaces; instance and cluster come from the scrape.
var retinaData = []retinaSeries{
	{"networkobservability_drop_count", "gauge", `instance="aks-np-0",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 10},
	{"networkobservability_drop_count", "gauge", `instance="aks-np-0",cluster="aks1",reason="TCP_CONNECT_BASIC",direction="egress"`, 3},
	{"networkobservability_drop_count", "gauge", `instance="aks-np-1",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 20},
	{"networkobservability_drop_bytes", "gauge", `instance="aks-np-0",cluster="aks1",reason="IPTABLE_RULE_DROP",direction="unknown"`, 600},
	{"networkobservability_forward_count", "gauge", `instance="aks-np-0",cluster="aks1",direction="ingress"`, 1000},
	{"networkobservability_forward_count", "gauge", `instance="aks-np-1",cluster="aks1",direction="ingress"`, 2000},
	{"networkobservability_adv_drop_count", "gauge", `instance="aks-np-0",cluster="aks1",ip="10.244.0.5",namespace="shop",podname="web-0",workload_kind="Deployment",workload_name="web",direction="ingress",reason="IPTABLE_RULE_DROP"`, 4},
	{"networkobservability_adv_drop_count", "gauge", `instance="aks-np-1",cluster="aks1",ip="10.244.1.7",namespace="shop",podname="db-0",workload_kind="StatefulSet",workload_name="db",direction="egress",reason="IPTABLE_RULE_DROP"`, 2},
	{"networkobservability_interface_stats", "gauge", `instance="aks-np-0",cluster="aks1",interface_name="all_interfaces",statistic_name="rx_dropped"`, 5},
}

const (
	retinaStep    = 15 * time.Second
	retinaSamples = 40 // 10 minutes
)

// retinaOpenMetrics renders retinaData ending at end, one sample every 15s.
func retinaOpenMetrics(end time.Time) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, s := range retinaData {
		if !seen[s.metric] {
			seen[s.metric] = true
			fmt.Fprintf(&b, "# TYPE %s %s\n", s.metric, s.typ)
			for _, s2 := range retinaData {
				if s2.metric != s.metric {
					continue
				}
				for i := range retinaSamples {
					ts := end.Add(-time.Duration(retinaSamples-1-i) * retinaStep)
					fmt.Fprintf(&b, "%s{%s} %v %d\n", s2.metric, s2.labels, s2.slope*float64(i+1), ts.Unix())
				}
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// Retina schema against recorded networkobservability_* series: counter
// values, rates (the add-on's cumulative gauges rate like counters), pod
// drops under netlens label names, notices for what the schema lacks,
// health and values.
func TestRetinaSchemaBackfilled(t *testing.T) {
	end := time.Now().Add(-time.Minute).Truncate(retinaStep)
	prom := promproc.Start(t, promproc.Options{Backfill: retinaOpenMetrics(end)})
	if got := prom.Instant(t, "count(networkobservability_drop_count)"); len(got) != 1 || got[0].Value != 3 {
		t.Fatalf("backfill not visible: %+v\n%s", got, prom.Log())
	}
	r := reader(t, prom.URL, `{"schema":"retina","scrapeIntervalSeconds":15}`)
	rg := query.Range{From: end.Add(-9 * time.Minute), To: end, Interval: retinaStep, MaxDataPoints: 1000}
	final := float64(retinaSamples)

	// Counter values: the last point is the last recorded value.
	resp := r.Query(ctx, parse(t, `{"queryType":"drops","groupBy":["node","reason"],"rate":false}`), rg)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	for _, c := range []struct {
		node, reason string
		want         float64
	}{{"aks-np-0", "IPTABLE_RULE_DROP", 10 * final}, {"aks-np-0", "TCP_CONNECT_BASIC", 3 * final}, {"aks-np-1", "IPTABLE_RULE_DROP", 20 * final}} {
		vf := find(resp.Frames, map[string]string{"node": c.node, "reason": c.reason})
		if got := last(vf); got != c.want {
			t.Errorf("%s %s: %v, want %v\n%s", c.node, c.reason, got, c.want, describe(resp.Frames))
		}
	}
	if len(resp.Frames) != 3 || !strings.Contains(resp.Frames[0].Meta.ExecutedQueryString, "sum by (instance, reason) (networkobservability_drop_count)") {
		t.Fatalf("%d frames, query %s", len(resp.Frames), resp.Frames[0].Meta.ExecutedQueryString)
	}

	// Rates: slope/15s everywhere the 60s window lies inside the data.
	resp = r.Query(ctx, parse(t, `{"queryType":"drops","groupBy":["node"],"filters":{"reason":["IPTABLE_RULE_DROP"],"node":["aks-np-1"]}}`), rg)
	if len(resp.Frames) != 1 {
		t.Fatalf("frames:\n%s", describe(resp.Frames))
	}
	vf := resp.Frames[0].Fields[1]
	if vf.Len() < 30 || vf.Config.Unit != "pps" {
		t.Fatalf("%d points, unit %q", vf.Len(), vf.Config.Unit)
	}
	for i := range vf.Len() {
		if got := vf.At(i).(float64); math.Abs(got-20.0/15) > 1e-9 {
			t.Fatalf("rate point %d: %v, want %v", i, got, 20.0/15)
		}
	}

	// Bytes.
	resp = r.Query(ctx, parse(t, `{"queryType":"drops","value":"bytes","rate":false,"filters":{"node":["aks-np-0"]}}`), rg)
	if got := last(resp.Frames[0].Fields[1]); got != 600*final {
		t.Errorf("drop bytes %v, want %v", got, 600*final)
	}

	// Pod drops: adv_drop_count, labels under netlens names.
	resp = r.Query(ctx, parse(t, `{"queryType":"podDrops","groupBy":["namespace","pod","workload","direction"],"rate":false,"filters":{"pod":["web-0"]}}`), rg)
	if resp.Error != nil || len(resp.Frames) != 1 {
		t.Fatalf("%v\n%s", resp.Error, describe(resp.Frames))
	}
	pf := resp.Frames[0].Fields[1]
	if pf.Labels["pod"] != "web-0" || pf.Labels["workload"] != "web" || pf.Labels["namespace"] != "shop" || last(pf) != 4*final || pf.Config.DisplayNameFromDS != "shop web-0 web ingress" {
		t.Fatalf("pod series %v %v %q", pf.Labels, last(pf), pf.Config.DisplayNameFromDS)
	}
	resp = r.Query(ctx, parse(t, `{"queryType":"podDrops","groupBy":["pod"],"filters":{"namespace":["shop"]}}`), rg)
	if len(resp.Frames) != 2 || math.Abs(last(find(resp.Frames, map[string]string{"pod": "db-0"}))-2.0/15) > 1e-9 {
		t.Fatalf("pod rates:\n%s", describe(resp.Frames))
	}

	// What the schema lacks is said, not silently dropped.
	resp = r.Query(ctx, parse(t, `{"queryType":"drops","groupBy":["location"]}`), rg)
	if n := resp.Frames[0].Meta.Notices; len(n) == 0 || !strings.Contains(n[0].Text, `no "location" label in the retina schema`) {
		t.Fatalf("notices %+v", n)
	}
	resp = r.Query(ctx, parse(t, `{"queryType":"nic","rate":false}`), rg)
	if n := resp.Frames[0].Meta.Notices; len(n) == 0 || !strings.Contains(n[0].Text, "no Rx cache full counter") {
		t.Fatalf("nic notices %+v", n)
	}
	if vf := find(resp.Frames, map[string]string{"stat": "rx_dropped"}); last(vf) != 5*final {
		t.Fatalf("nic:\n%s", describe(resp.Frames))
	}

	// Health counts nodes; values use the add-on's label names.
	if res := r.Health(ctx); res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "2 nodes reporting retina metrics") {
		t.Fatalf("health %v %s", res.Status, res.Message)
	}
	if res := reader(t, prom.URL, `{}`).Health(ctx); res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "no netlens metrics were found") {
		t.Fatalf("netlens health on a retina Prometheus: %v %s", res.Status, res.Message)
	}
	vrg := query.Range{From: end.Add(-10 * time.Minute), To: end}
	for label, want := range map[query.Label][]string{
		query.LabelNode:      {"aks-np-0", "aks-np-1"},
		query.LabelPod:       {"db-0", "web-0"},
		query.LabelReason:    {"IPTABLE_RULE_DROP", "TCP_CONNECT_BASIC"},
		query.LabelInterface: {"all_interfaces"},
	} {
		got, err := r.Values(ctx, label, models.Filters{}, vrg)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("values of %s: %v %v, want %v", label, got, err, want)
		}
	}
	got, err := r.Values(ctx, query.LabelPod, models.Filters{Node: []string{"aks-np-1"}}, vrg)
	if err != nil || !slices.Equal(got, []string{"db-0"}) {
		t.Errorf("pods on aks-np-1: %v %v", got, err)
	}

	// Nodes table from the add-on's series.
	resp = r.Query(ctx, parse(t, `{"queryType":"nodes"}`), query.Range{From: end.Add(-time.Minute), To: end})
	if resp.Error != nil || resp.Frames[0].Rows() != 2 || resp.Frames[0].Fields[0].At(0) != "aks-np-0" || resp.Frames[0].Fields[1].At(0) != "aks1" {
		t.Fatalf("nodes %+v %v", resp.Error, resp.Frames)
	}
}
