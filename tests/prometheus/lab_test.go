package prometheus_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/droplab"
	"github.com/netlens/netlens/tests/grafanahost"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

func startDropLab(t *testing.T) *droplab.Lab { return droplab.Start(t, "nl-prom") }

// checkCounters asserts that counter values (rate off) read through the
// Reader equal the kernel's rule counters once Prometheus has scraped the
// agent after the drops: node-level drops per protocol, pod-level drops of
// the sender (egress) and receiver (ingress), packets and bytes.
func checkCounters(t *testing.T, d *droplab.Lab, want droplab.Truth) {
	t.Helper()
	r := reader(t, d.Prom.URL, `{"scrapeIntervalSeconds":1}`)
	rg := func() query.Range { return lastRange(2*time.Minute, time.Second) }
	pod := func(value string) func() backend.DataResponse {
		return func() backend.DataResponse {
			return r.Query(ctx, parse(t, `{"queryType":"podDrops","groupBy":["pod","direction","reason"],"rate":false,"value":"`+value+`",
				"filters":{"node":["`+droplab.Node+`"],"namespace":["`+lab.Namespace+`"],"pod":["`+d.A.KubeName()+`","`+d.B.KubeName()+`"],"reason":["NETFILTER_DROP"]}}`), rg())
		}
	}
	egress := map[string]string{"pod": d.A.KubeName(), "direction": "egress", "reason": "NETFILTER_DROP"}
	ingress := map[string]string{"pod": d.B.KubeName(), "direction": "ingress", "reason": "NETFILTER_DROP"}
	// Within a few scrape intervals (the agent drains its table every second,
	// Prometheus scrapes every second) the last point is the rule counter.
	resp, took := eventually(t, testenv.Patience, pod("packets"), func(f data.Frames) bool {
		return last(find(f, egress)) == float64(want.Packets) && last(find(f, ingress)) == float64(want.Packets)
	})
	t.Logf("pod drops reached the rule counters (%d packets) after %v", want.Packets, took.Round(time.Millisecond))
	if got := last(find(resp.Frames, egress)); got != float64(want.Packets) {
		t.Fatalf("a egress: panel says %v, kernel rule counters %d\n%s", got, want.Packets, describe(resp.Frames))
	}
	if got := last(find(resp.Frames, ingress)); got != float64(want.Packets) {
		t.Fatalf("b ingress: panel says %v, kernel rule counters %d", got, want.Packets)
	}
	if u := find(resp.Frames, egress).Config.Unit; u != "short" {
		t.Errorf("unit %q", u)
	}
	resp = pod("bytes")()
	if got := last(find(resp.Frames, egress)); got != float64(want.Bytes) {
		t.Errorf("a egress bytes: panel says %v, kernel rule counters %d\n%s", got, want.Bytes, describe(resp.Frames))
	}
	// Node-level drops count every NETFILTER_DROP on the machine, including
	// other tests' labs running at the same time: so they are at least the
	// rule counters, and exactly what the agent itself exports once
	// Prometheus has scraped it (agent against kernel is tests/drops' job).
	for proto, n := range map[string]uint64{"udp": want.UDP, "tcp": want.TCP} {
		sel := map[string]string{"node": droplab.Node, "reason": "NETFILTER_DROP", "protocol": proto}
		var agentSays float64
		resp, took := eventually(t, testenv.Patience, func() backend.DataResponse {
			agentSays = d.Agent.Metrics(t).Sum("netlens_drop_packets_total", map[string]string{"reason": "NETFILTER_DROP", "protocol": proto})
			return r.Query(ctx, parse(t, `{"queryType":"drops","groupBy":["node","reason","protocol"],"rate":false,"filters":{"node":["`+droplab.Node+`"],"reason":["NETFILTER_DROP"]}}`), rg())
		}, func(f data.Frames) bool { return lastOrZero(find(f, sel)) == agentSays })
		got := lastOrZero(find(resp.Frames, sel))
		if got != agentSays || got < float64(n) {
			t.Errorf("node drops %s: panel says %v, agent %v, kernel rule counter %d (at least)\n%s", proto, got, agentSays, n, describe(resp.Frames))
		}
		if got != float64(n) {
			t.Logf("node drops %s: %v, of which %d by the lab's rule: other NETFILTER_DROPs happened on this machine (after %v)", proto, got, n, took.Round(time.Millisecond))
		}
	}
}

// The numbers a panel shows in prometheus mode are the kernel's: counters
// equal the iptables rule counters after a scrape, and rates show the burst
// and return to zero.
func TestLabDropsThroughPrometheus(t *testing.T) {
	d := startDropLab(t)
	// Phase 1 creates the series, so that phase 2's burst is a counter increase.
	d.Send(t, 3, 1)
	first := d.Truth(t)
	if first.Packets != 4 {
		t.Fatalf("rules dropped %d packets, want 4", first.Packets)
	}
	checkCounters(t, d, first)

	const udp, syns = 40, 5
	d.Send(t, udp, syns)
	burstAt := time.Now()
	second := d.Truth(t)
	if second.Packets != first.Packets+udp+syns {
		t.Fatalf("rules dropped %d packets, want %d", second.Packets, first.Packets+udp+syns)
	}
	checkCounters(t, d, second)

	// Rates: window = max(step 1s + scrape 1s, 4 x scrape) = 4s. The burst
	// of 45 drops (within a few ms) shows as a bump of about 45/4..45/3 pps in
	// the windows holding it, and zero once the window has passed it: the
	// panel is asked until it shows that zero (a few seconds; how many depends
	// on when the scrapes ran, not on a fixed wait).
	r := reader(t, d.Prom.URL, `{"scrapeIntervalSeconds":1}`)
	q := parse(t, `{"queryType":"podDrops","groupBy":["pod","direction"],"filters":{"pod":["`+d.A.KubeName()+`"]}}`)
	egress := map[string]string{"pod": d.A.KubeName(), "direction": "egress"}
	resp, took := eventually(t, testenv.Patience, func() backend.DataResponse { return r.Query(ctx, q, lastRange(2*time.Minute, time.Second)) },
		func(f data.Frames) bool { return last(find(f, egress)) == 0 })
	vf := find(resp.Frames, egress)
	if vf == nil {
		t.Fatalf("no rate series:\n%s", describe(resp.Frames))
	}
	if vf.Config.Unit != "pps" || !strings.Contains(resp.Frames[0].Meta.ExecutedQueryString, "rate(netlens_pod_drop_packets_total{") ||
		!strings.Contains(resp.Frames[0].Meta.ExecutedQueryString, "[4s]") {
		t.Fatalf("unit %q, query %s", vf.Config.Unit, resp.Frames[0].Meta.ExecutedQueryString)
	}
	peak := 0.0
	for i := range vf.Len() {
		v := vf.At(i).(float64)
		if v < 0 {
			t.Fatalf("negative rate %v", v)
		}
		peak = max(peak, v)
	}
	n := float64(udp + syns)
	if peak < n/5 || peak > n/2 {
		t.Errorf("peak rate %v pps, want between %v and %v for a burst of %v drops in a 4s window", peak, n/5, n/2, n)
	}
	if l := last(vf); l != 0 {
		t.Errorf("rate %v pps %v after the burst, want 0", l, time.Since(burstAt).Round(time.Second))
	}
	t.Logf("the rate was back at zero %v after the burst (asked for %v)", time.Since(burstAt).Round(time.Second), took.Round(time.Millisecond))
	t.Logf("burst of %v drops: peak %.2f pps", n, peak)
}

// User values stay inside their matcher against the real server: hostile
// filters match nothing (no injected vector(1) series), and one among real
// pods' names does not widen the selection.
func TestLabHostileFiltersMatchNothing(t *testing.T) {
	d := startDropLab(t)
	d.Send(t, 2, 0)
	want := d.Truth(t)
	checkCounters(t, d, want)
	r := reader(t, d.Prom.URL, `{"scrapeIntervalSeconds":1}`)
	for _, v := range []string{`"} or vector(1) #`, `.*`, `a\`, "a\nb", `", pod=~".+`, "ポッド"} {
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
		for _, rate := range []string{"true", "false"} {
			resp := r.Query(ctx, parse(t, `{"queryType":"podDrops","groupBy":["pod"],"rate":`+rate+`,"filters":{"pod":["`+esc+`"]}}`), lastRange(time.Minute, time.Second))
			if resp.Error != nil {
				t.Fatalf("%q: %v", v, resp.Error)
			}
			if len(resp.Frames) != 1 || resp.Frames[0].Rows() != 0 {
				t.Errorf("filter %q selected series:\n%s", v, describe(resp.Frames))
			}
		}
		resp := r.Query(ctx, parse(t, `{"queryType":"podDrops","groupBy":["pod","direction"],"rate":false,"filters":{"pod":["`+esc+`","`+d.A.KubeName()+`"]}}`), lastRange(time.Minute, time.Second))
		if len(resp.Frames) != 1 || resp.Frames[0].Fields[1].Labels["pod"] != d.A.KubeName() {
			t.Errorf("filter %q plus a's name: got\n%s", v, describe(resp.Frames))
		}
	}
}

// Health, template variable values and the nodes table from the real server.
func TestLabHealthValuesNodes(t *testing.T) {
	d := startDropLab(t)
	d.Send(t, 2, 0)
	checkCounters(t, d, d.Truth(t))
	r := reader(t, d.Prom.URL, `{"scrapeIntervalSeconds":1}`)
	res := r.Health(ctx)
	if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "1 agent reporting netlens metrics") {
		t.Fatalf("health %v: %s", res.Status, res.Message)
	}
	rr := reader(t, d.Prom.URL, `{"schema":"retina"}`)
	if res := rr.Health(ctx); res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "no AKS Network Observability metrics") {
		t.Fatalf("retina health on a netlens Prometheus: %v %s", res.Status, res.Message)
	}
	rg := lastRange(5*time.Minute, time.Second)
	for label, want := range map[query.Label]string{
		query.LabelNode: droplab.Node, query.LabelPod: d.A.KubeName(), query.LabelNamespace: lab.Namespace, query.LabelReason: "NETFILTER_DROP",
	} {
		got, err := r.Values(ctx, label, models.Filters{Node: []string{droplab.Node}}, rg)
		if err != nil || !slices.Contains(got, want) {
			t.Errorf("values of %s: %v %v, want %q among them", label, got, err, want)
		}
	}
	if got, err := r.Values(ctx, query.LabelPod, models.Filters{Namespace: []string{`"} or vector(1) #`}}, rg); err != nil || len(got) != 0 {
		t.Errorf("pods of a hostile namespace: %v %v", got, err)
	}
	resp := r.Query(ctx, parse(t, `{"queryType":"nodes"}`), lastRange(time.Minute, time.Second))
	if resp.Error != nil || resp.Frames[0].Rows() != 1 {
		t.Fatalf("nodes: %+v", resp)
	}
	row := map[string]string{}
	for _, f := range resp.Frames[0].Fields {
		row[f.Name] = f.At(0).(string)
	}
	st := d.Agent.Status(t)
	if row["node"] != droplab.Node || row["cluster"] != droplab.Cluster || row["kernel"] == "" || row["version"] == "" || row["drop_source"] == "" {
		t.Errorf("nodes row %v (agent status %+v)", row, st)
	}
}

// The built plugin binary, started by the Grafana test host as Grafana
// would, answers a prometheus-mode panel query with the kernel's numbers and
// passes "Save & test".
func TestLabThroughGrafanaHost(t *testing.T) {
	d := startDropLab(t)
	d.Send(t, 5, 2)
	want := d.Truth(t)
	checkCounters(t, d, want)

	bin := testenv.GoBuild(t, "./pkg", "gpx_netlens")
	h := grafanahost.Start(t, bin)
	ds := grafanahost.DataSource{UID: "netlens-prom-lab", URL: d.Prom.URL, JSONData: `{"mode":"prometheus","scrapeIntervalSeconds":1}`}
	pCtx := ds.PluginContext(plugin.ID)
	res, err := h.CheckHealth(ctx, pCtx)
	if err != nil || res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "1 agent reporting") {
		t.Fatalf("health: %v %+v", err, res)
	}
	now := time.Now()
	resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{{
		RefID: "A", TimeRange: backend.TimeRange{From: now.Add(-2 * time.Minute), To: now}, Interval: time.Second, MaxDataPoints: 1000,
		JSON: []byte(`{"queryType":"podDrops","groupBy":["pod","direction"],"rate":false,"filters":{"pod":["` + d.A.KubeName() + `"]}}`),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	vf := find(r.Frames, map[string]string{"pod": d.A.KubeName(), "direction": "egress"})
	if got := last(vf); got != float64(want.Packets) {
		t.Fatalf("through the plugin: %v, kernel rule counters %d\n%s", got, want.Packets, describe(r.Frames))
	}
	if r.Frames[0].Meta == nil || r.Frames[0].Meta.Type != data.FrameTypeTimeSeriesMulti || !strings.Contains(r.Frames[0].Meta.ExecutedQueryString, "netlens_pod_drop_packets_total") {
		t.Fatalf("meta %+v", r.Frames[0].Meta)
	}
	if vf.Config == nil || vf.Config.DisplayNameFromDS != d.A.KubeName()+" egress" {
		t.Fatalf("config %+v", vf.Config)
	}

	// Every query type through the plugin: each answers with frames, except
	// events, which Prometheus cannot hold and which says so.
	for _, qt := range models.QueryTypes {
		resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pCtx, Queries: []backend.DataQuery{{
			RefID: "A", TimeRange: backend.TimeRange{From: now.Add(-2 * time.Minute), To: now}, Interval: time.Second, MaxDataPoints: 1000,
			JSON: []byte(fmt.Sprintf(`{"queryType":%q,"expr":"netlens_agent_info"}`, qt)),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if qt == models.QueryEvents {
			if r.Error == nil || !strings.Contains(r.Error.Error(), "use direct mode") {
				t.Errorf("events in prometheus mode: %v", r.Error)
			}
			continue
		}
		if r.Error != nil || len(r.Frames) == 0 {
			t.Errorf("%s: error %v, %d frames", qt, r.Error, len(r.Frames))
		}
	}
}
