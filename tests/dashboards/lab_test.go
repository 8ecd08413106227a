//go:build linux

package dashboards_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/droplab"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// labWindow is $__rate_interval with droplab.ScrapeEvery (1s):
// max(step 1s + scrape 1s, 4 x scrape) = 4s, as Grafana computes it.
const labWindow = 4 * time.Second

// startDropLab is droplab.Start (which needs root and BTF, as testenv says).
func startDropLab(t *testing.T) *droplab.Lab {
	t.Helper()
	return droplab.Start(t, "nl-dash")
}

// mayBeEmpty are the targets of the Prometheus flavour that may answer no
// series in the lab, each with the reason. Every other target must answer at
// least one series. Keys: file, panel title, metric.
var mayBeEmpty = map[string]string{
	"prometheus/nic.json|NIC receive pressure and kernel drops|netlens_nic_rx_cache_full_total": "only mlx5 NICs have an Rx cache full counter; the lab machine's NIC is virtio_net (docs/nic.md)",
	"prometheus/nic.json|Rx cache full by node and interface|netlens_nic_rx_cache_full_total":   "only mlx5 NICs have an Rx cache full counter; the lab machine's NIC is virtio_net",
	"prometheus/overview.json|NIC receive pressure per second|netlens_nic_rx_cache_full_total":  "only mlx5 NICs have an Rx cache full counter; the lab machine's NIC is virtio_net",
	"prometheus/overview.json|NIC receive pressure per node|netlens_nic_rx_cache_full_total":    "only mlx5 NICs have an Rx cache full counter; the lab machine's NIC is virtio_net",
}

// waitScraped waits until Prometheus holds a's egress drops as the rules
// counted them (the agent drains the kernel every second and is scraped
// every second), and returns that instant.
func waitScraped(t *testing.T, d *droplab.Lab, want droplab.Truth) time.Time {
	t.Helper()
	expr := fmt.Sprintf(`sum(netlens_pod_drop_packets_total{pod=%q, direction="egress", reason="NETFILTER_DROP"})`, d.A.KubeName())
	return waitProm(t, d, fmt.Sprintf("the rule counters (%d packets)", want.Packets), func(now time.Time) bool {
		ss, err := promInstant(d.Prom.URL, expr, now)
		return err == nil && len(ss) == 1 && ss[0].Values[0] == float64(want.Packets)
	})
}

// waitScrapeAfter waits until Prometheus holds a scrape of the agent that
// started after at.
func waitScrapeAfter(t *testing.T, d *droplab.Lab, at time.Time) {
	t.Helper()
	waitProm(t, d, "a scrape after "+at.Format(time.StampMilli), func(now time.Time) bool {
		ss, err := promInstant(d.Prom.URL, `max(timestamp(up{job="netlens"}))`, now)
		return err == nil && len(ss) == 1 && ss[0].Values[0] > float64(at.UnixMilli())/1000
	})
}

// waitRatesZero waits until the pod drop rate over labWindow is zero at an
// instant and one step (1s) before it, the last two points of a range query
// ending there: the window has passed the burst. It returns that instant.
func waitRatesZero(t *testing.T, d *droplab.Lab) time.Time {
	t.Helper()
	expr := fmt.Sprintf(`sum(rate(netlens_pod_drop_packets_total{pod=%q, direction="egress", reason="NETFILTER_DROP"}[%ds]))`,
		d.A.KubeName(), int(labWindow.Seconds()))
	zero := func(ts time.Time) bool {
		ss, err := promInstant(d.Prom.URL, expr, ts)
		return err == nil && len(ss) == 1 && ss[0].Values[0] == 0
	}
	return waitProm(t, d, "the rate window to pass the burst", func(now time.Time) bool {
		return zero(now.Add(-time.Second)) && zero(now)
	})
}

// waitProm asks Prometheus until cond holds at an instant, and returns that
// instant; it fails the test after testenv.Patience.
func waitProm(t *testing.T, d *droplab.Lab, what string, cond func(now time.Time) bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(testenv.Patience)
	for {
		now := time.Now()
		if cond(now) {
			return now
		}
		if now.After(deadline) {
			t.Fatalf("Prometheus did not show %s within %v", what, testenv.Patience)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The Prometheus flavour's PromQL on real agent data: with the lab's
// cluster, node, namespace, pods and reason selected, every target parses,
// answers without error and returns series (except those listed in
// mayBeEmpty, with the reason); every drop count is the kernel's: between
// two instants around a burst, the panels' pod-level drops grew by exactly
// the iptables rules' count (once for the sender, egress, once for the
// receiver, ingress), the node-level drops by at least that (other traffic
// on the machine drops packets too) and by exactly what the agent itself
// exports; rates show the burst and return to zero. Every variable lists the
// lab's values. Then every app panel, run through the data source backend,
// shows the same series and numbers as its Prometheus twin.
func TestPrometheusFlavourOnLabData(t *testing.T) {
	d := startDropLab(t)

	// Phase 1 creates the series, so that phase 2 is a counter increase.
	d.Send(t, 3, 1)
	first := d.Truth(t)
	if first.Packets != 4 {
		t.Fatalf("the rules dropped %d packets, want 4", first.Packets)
	}
	t1 := waitScraped(t, d, first)
	waitScrapeAfter(t, d, t1) // with the same values: nothing was sent since

	const udp, syns = 40, 5
	burstAt := time.Now()
	d.Send(t, udp, syns)
	second := d.Truth(t)
	n := second.Packets - first.Packets
	nBytes := second.Bytes - first.Bytes
	if n != udp+syns {
		t.Fatalf("the rules dropped %d packets in the burst, want %d", n, udp+syns)
	}
	waitScraped(t, d, second)
	// t2: the rate windows have passed the burst, so rates are back at zero.
	t2 := waitRatesZero(t, d)
	t.Logf("burst of %d packets (%d bytes) at %v; t1 %v, t2 %v", n, nBytes, burstAt.Format(time.TimeOnly), t1.Format(time.TimeOnly), t2.Format(time.TimeOnly))

	vars := map[string]string{
		"cluster": droplab.Cluster, "node": droplab.Node, "namespace": regexOf(lab.Namespace),
		"pod": regexOf(d.A.KubeName(), d.B.KubeName()), "reason": "NETFILTER_DROP", "interface": ".*",
		"__rate_interval": fmt.Sprintf("%ds", int(labWindow.Seconds())),
	}
	rangeStart := burstAt.Add(-20 * time.Second)
	targets, dropTargets := 0, 0
	emptySeen := map[string]bool{}
	for _, f := range promDashboards(t) {
		if f.Flavour.Schema != "netlens" {
			continue
		}
		for _, p := range f.D.Panels {
			for _, tg := range p.Targets {
				targets++
				where := fmt.Sprintf("%s panel %q target %s", f.Rel, p.Title, tg.RefID)
				expr := substitute(tg.Expr, vars)
				e, err := promParser.ParseExpr(expr)
				if err != nil {
					t.Errorf("%s: does not parse: %v", where, err)
					continue
				}
				metrics := metricsOf(e)
				var ss []promSeries
				if tg.Instant {
					ss, err = promInstant(d.Prom.URL, expr, t2)
				} else {
					ss, err = promRange(d.Prom.URL, expr, rangeStart, t2, time.Second)
				}
				if err != nil {
					t.Errorf("%s: %v\n%s", where, err, expr)
					continue
				}
				key := f.Rel + "|" + p.Title + "|" + strings.Join(metrics, ",")
				if len(ss) == 0 {
					if reason, ok := mayBeEmpty[key]; ok {
						emptySeen[key] = true
						t.Logf("%s: no series, as expected: %s", where, reason)
					} else {
						t.Errorf("%s: no series in the lab: %s", where, expr)
					}
					continue
				}
				for _, s := range ss {
					for _, v := range s.Values {
						if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
							t.Errorf("%s: value %v in %v", where, v, s.Labels)
							break
						}
					}
				}
				if len(metrics) == 1 && strings.HasPrefix(metrics[0], "netlens_") && strings.Contains(metrics[0], "drop_") &&
					(strings.HasSuffix(metrics[0], "_packets_total") || strings.HasSuffix(metrics[0], "_bytes_total")) {
					dropTargets++
					checkDropTarget(t, d, where, e, metrics[0], ss, t1, t2, burstAt, droplab.Truth{Packets: n, Bytes: nBytes})
				}
			}
		}
		checkVariables(t, d, f, vars, rangeStart, t2)
	}
	for key := range mayBeEmpty {
		if !emptySeen[key] {
			t.Logf("listed as possibly empty, but answered series here: %s", key)
		}
	}
	if targets == 0 || dropTargets == 0 {
		t.Fatalf("%d targets, %d drop targets checked", targets, dropTargets)
	}
	t.Logf("%d targets ran, %d drop targets compared with the rule counters", targets, dropTargets)

	// The app's panels through the backend equal the Prometheus flavour's.
	r := newReader(t, d.Prom.URL, `{"scrapeIntervalSeconds":1}`)
	rg := query.Range{From: t2.Add(-40 * time.Second), To: t2, Interval: time.Second, MaxDataPoints: 1000}
	in := flavourInputs{
		filters: map[string][]string{
			"cluster": {droplab.Cluster}, "node": {droplab.Node}, "namespace": {lab.Namespace},
			"pod": {d.A.KubeName(), d.B.KubeName()}, "reason": {"NETFILTER_DROP"}, "interface": nil,
		},
		prom: map[string]string{
			"cluster": droplab.Cluster, "node": droplab.Node, "namespace": regexOf(lab.Namespace),
			"pod": regexOf(d.A.KubeName(), d.B.KubeName()), "reason": "NETFILTER_DROP", "interface": ".*",
		},
	}
	byFile := map[string]dashboardFile{}
	for _, f := range loadDashboards(t) {
		byFile[f.Rel] = f
	}
	for _, name := range []string{"drops.json", "nic.json", "overview.json"} {
		c := compareFlavours(t, byFile[name], byFile["prometheus/"+name], r, d.Prom.URL, rg, labWindow, in)
		if c == 0 {
			t.Errorf("%s: nothing compared", name)
		}
		t.Logf("%s: %d series (and nodes) of the app's panels equal the Prometheus flavour's", name, c)
	}
}

// checkDropTarget compares a drop panel's numbers with the kernel's.
//
// Exactness: the panel's expression with rate(<sel>[w]) replaced by <sel>
// sums the counters the panel reads; its increase between t1 and t2 is an
// integer count with no extrapolation, compared with tolerance 0. rate()
// itself extrapolates to the window's edges, so rates are only checked to
// show the burst (between n/5 and n/2 per second over a 4 s window, as in
// tests/prometheus) and to be zero once the window has passed it.
func checkDropTarget(t *testing.T, d *droplab.Lab, where string, e parser.Expr, metric string, ss []promSeries, t1, t2, burstAt time.Time, want droplab.Truth) {
	t.Helper()
	raw, ok := rawCounters(e)
	if !ok {
		t.Errorf("%s: no rate() over %s", where, metric)
		return
	}
	rawExpr := raw.String()
	at := func(ts time.Time) []promSeries {
		v, err := promInstant(d.Prom.URL, rawExpr, ts)
		if err != nil {
			t.Fatalf("%s: %s: %v", where, rawExpr, err)
		}
		return v
	}
	before, after := at(t1), at(t2)
	delta := func(match map[string]string) float64 { return sumValues(after, match) - sumValues(before, match) }
	bytes := strings.HasSuffix(metric, "_bytes_total")
	count := float64(want.Packets)
	if bytes {
		count = float64(want.Bytes)
	}
	pod := strings.HasPrefix(metric, "netlens_pod_drop_")
	grouped := func(l string) bool {
		return strings.Contains(rawExpr, l) && slices.ContainsFunc(after, func(s promSeries) bool { _, ok := s.Labels[l]; return ok })
	}

	// Rates over the burst.
	peak := 0.0
	byTime := map[int64]float64{}
	for _, s := range ss {
		for i, ts := range s.Times {
			byTime[ts.UnixMilli()] += s.Values[i]
		}
	}
	for _, v := range byTime {
		peak = max(peak, v)
	}
	last := byTime[t2.Truncate(time.Second).UnixMilli()]
	if len(ss) > 0 && len(ss[0].Times) > 0 {
		lt := ss[0].Times[len(ss[0].Times)-1]
		last = byTime[lt.UnixMilli()]
	}

	if pod {
		// Each dropped packet is a's (egress) and b's (ingress).
		if got := delta(nil); got != 2*count {
			t.Errorf("%s: pod drops grew by %v between t1 and t2, the rules counted %v (x2: sender and receiver)\n%s", where, got, count, rawExpr)
		}
		if grouped("direction") {
			if got := delta(map[string]string{"direction": "egress"}); got != count {
				t.Errorf("%s: egress drops grew by %v, the rules counted %v", where, got, count)
			}
			if got := delta(map[string]string{"direction": "ingress"}); got != count {
				t.Errorf("%s: ingress drops grew by %v, the rules counted %v", where, got, count)
			}
		}
		if grouped("pod") {
			if got := delta(map[string]string{"pod": d.A.KubeName()}); got != count {
				t.Errorf("%s: pod a's drops grew by %v, the rules counted %v", where, got, count)
			}
		}
		if !bytes && (peak < 2*count/5 || peak > 2*count/2) {
			t.Errorf("%s: peak rate %v, want %v to %v for a burst of %v drops (x2) in a %v window", where, peak, 2*count/5, 2*count/2, count, labWindow)
		}
		if last != 0 {
			t.Errorf("%s: rate %v after the window passed the burst, want 0", where, last)
		}
		return
	}
	// Node-level drops count every drop on the machine (other labs', other
	// traffic's): at least the rules' count, and exactly the agent's export.
	got := delta(nil)
	if got < count {
		t.Errorf("%s: node drops grew by %v between t1 and t2, less than the rules' %v\n%s", where, got, count, rawExpr)
	}
	if !bytes && peak < count/5 {
		t.Errorf("%s: peak rate %v, want at least %v for a burst of %v drops in a %v window", where, peak, count/5, count, labWindow)
	}
	if strings.Contains(rawExpr, `reason=~"NETFILTER_DROP"`) {
		labels := map[string]string{"reason": "NETFILTER_DROP"}
		var agentSays, panelSays float64
		deadline := time.Now().Add(testenv.Patience)
		for {
			agentSays = d.Agent.Metrics(t).Sum(metric, labels)
			waitScrapeAfter(t, d, time.Now())
			panelSays = sumValues(at(time.Now()), nil)
			if agentSays == panelSays && agentSays == d.Agent.Metrics(t).Sum(metric, labels) || time.Now().After(deadline) {
				break
			}
		}
		if agentSays != panelSays {
			t.Errorf("%s: the panel's counters sum to %v, the agent exports %v", where, panelSays, agentSays)
		}
	}
	if got != count {
		t.Logf("%s: node drops grew by %v, of which the lab's rules %v: other drops happened on this machine", where, got, count)
	}
}

// checkVariables runs every query variable (label_values) with the lab's
// selections and requires the lab's values among the answer.
func checkVariables(t *testing.T, d *droplab.Lab, f dashboardFile, vars map[string]string, start, end time.Time) {
	t.Helper()
	want := map[string][]string{
		"cluster": {droplab.Cluster}, "node": {droplab.Node}, "namespace": {lab.Namespace},
		"pod": {d.A.KubeName(), d.B.KubeName()}, "reason": {"NETFILTER_DROP"}, "interface": {"lo"},
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
		got, err := promLabelValues(d.Prom.URL, m[2], substitute(m[1], vars), start, end)
		if err != nil {
			t.Errorf("%s variable %s: %v", f.Rel, v.Name, err)
			continue
		}
		for _, w := range want[v.Name] {
			if !slices.Contains(got, w) {
				t.Errorf("%s variable %s lists %v, without the lab's %q", f.Rel, v.Name, got, w)
			}
		}
	}
}
