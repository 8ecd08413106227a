package prometheus

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

func boolp(b bool) *bool { return &b }

// promParser is Prometheus's own PromQL parser, defaults as in the server.
var promParser = parser.NewParser(parser.Options{})

func mustParse(t *testing.T, raw string) models.Query {
	t.Helper()
	q, err := models.ParseQuery([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// exprs translates q and returns its PromQL per target and the notices.
func exprs(t *testing.T, schema models.Schema, q models.Query, window string) ([]string, []string) {
	t.Helper()
	p, err := planQuery(schema, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range p.targets {
		e := tg.expr(q, window)
		if _, err := promParser.ParseExpr(e); err != nil {
			t.Fatalf("generated PromQL does not parse: %v\n%s", err, e)
		}
		out = append(out, e)
	}
	return out, p.notices
}

// Golden PromQL for every query type in both schemas.
func TestPromQLGolden(t *testing.T) {
	cases := []struct {
		name   string
		schema models.Schema
		query  string
		want   []string
	}{
		{"drops rate", models.SchemaNetlens, `{"queryType":"drops","groupBy":["node","reason"],"filters":{"node":["n1"],"reason":["NETFILTER_DROP","NO_SOCKET"]}}`,
			[]string{`sum by (node, reason) (rate(netlens_drop_packets_total{node="n1", reason=~"NETFILTER_DROP|NO_SOCKET"}[60s]))`}},
		{"drops bytes value", models.SchemaNetlens, `{"queryType":"drops","groupBy":["location"],"value":"bytes","rate":false}`,
			[]string{`sum by (location) (netlens_drop_bytes_total)`}},
		{"drops no group", models.SchemaNetlens, `{"queryType":"drops","filters":{"cluster":["c1"]}}`,
			[]string{`sum(rate(netlens_drop_packets_total{cluster="c1"}[60s]))`}},
		{"pod drops", models.SchemaNetlens, `{"queryType":"podDrops","groupBy":["namespace","pod","direction"],"filters":{"namespace":["default"],"pod":["a-1","b-2"]}}`,
			[]string{`sum by (namespace, pod, direction) (rate(netlens_pod_drop_packets_total{namespace="default", pod=~"a-1|b-2"}[60s]))`}},
		{"nic", models.SchemaNetlens, `{"queryType":"nic","groupBy":["node","interface"],"filters":{"interface":["eth0"]}}`,
			[]string{
				`sum by (node, interface) (rate(netlens_nic_rx_buffer_exhausted_total{interface="eth0"}[60s]))`,
				`sum by (node, interface) (rate(netlens_nic_rx_cache_full_total{interface="eth0"}[60s]))`,
				`sum by (stat, node, interface) (rate(netlens_nic_stat_total{interface="eth0"}[60s]))`,
			}},
		{"interfaces", models.SchemaNetlens, `{"queryType":"interfaces","groupBy":["interface"],"value":"bytes"}`,
			[]string{
				`sum by (direction, interface) (rate(netlens_interface_bytes_total[60s]))`,
				`sum by (direction, interface) (rate(netlens_interface_dropped_total[60s]))`,
				`sum by (direction, interface) (rate(netlens_interface_errors_total[60s]))`,
			}},
		{"netstat", models.SchemaNetlens, `{"queryType":"netstat","groupBy":["node"],"filters":{"node":["n1"]},"rate":false}`,
			[]string{
				`sum by (group, name, node) (netlens_netstat_total{node="n1"})`,
				`sum by (node) (netlens_softnet_dropped_total{node="n1"})`,
				`sum by (node) (netlens_softnet_time_squeeze_total{node="n1"})`,
				`sum by (name, node) (netlens_conntrack_stat_total{node="n1"})`,
			}},
		{"retina drops", models.SchemaRetina, `{"queryType":"drops","groupBy":["node","reason","direction"],"filters":{"node":["aks-1"]}}`,
			[]string{`sum by (instance, reason, direction) (rate(networkobservability_drop_count{instance="aks-1"}[60s]))`}},
		{"retina drop bytes value", models.SchemaRetina, `{"queryType":"drops","groupBy":["reason"],"value":"bytes","rate":false}`,
			[]string{`sum by (reason) (networkobservability_drop_bytes)`}},
		{"retina pod drops", models.SchemaRetina, `{"queryType":"podDrops","groupBy":["namespace","pod","workload"],"filters":{"pod":["web-1"],"namespace":["shop"]}}`,
			[]string{`sum by (namespace, podname, workload_name) (rate(networkobservability_adv_drop_count{namespace="shop", podname="web-1"}[60s]))`}},
		{"retina nic", models.SchemaRetina, `{"queryType":"nic","groupBy":["node"]}`,
			[]string{`sum by (statistic_name, instance) (rate(networkobservability_interface_stats[60s]))`}},
		{"retina interfaces", models.SchemaRetina, `{"queryType":"interfaces","groupBy":["node"]}`,
			[]string{
				`sum by (direction, instance) (rate(networkobservability_forward_count[60s]))`,
				`sum by (statistic_name, instance) (rate(networkobservability_interface_stats{statistic_name=~"rx_dropped|tx_dropped"}[60s]))`,
				`sum by (statistic_name, instance) (rate(networkobservability_interface_stats{statistic_name=~".*err.*"}[60s]))`,
			}},
		{"retina netstat", models.SchemaRetina, `{"queryType":"netstat","rate":false}`,
			[]string{
				`sum by (statistic_name) (networkobservability_tcp_connection_stats)`,
				`sum by (statistic_name) (networkobservability_ip_connection_stats)`,
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := exprs(t, tc.schema, mustParse(t, tc.query), "60s")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestNodesAndHealthExprs(t *testing.T) {
	info, down := nodesExprs(models.SchemaNetlens, models.Filters{Node: []string{"n1", "n.2"}})
	if info != `netlens_agent_info{node=~"n\\.2|n1"}` || down != `netlens_agent_collector_up{node=~"n\\.2|n1"} == 0` {
		t.Fatalf("got %s / %s", info, down)
	}
	info, down = nodesExprs(models.SchemaRetina, models.Filters{Cluster: []string{"c"}})
	if info != `group by (cluster, instance) (networkobservability_forward_count{cluster="c"} or networkobservability_drop_count{cluster="c"})` || down != "" {
		t.Fatalf("got %s / %s", info, down)
	}
	for _, e := range []string{info, healthExpr(models.SchemaNetlens), healthExpr(models.SchemaRetina)} {
		if _, err := promParser.ParseExpr(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
	}
}

// Where the retina schema cannot answer, notices say what it lacks.
func TestRetinaLimitsAreNotices(t *testing.T) {
	cases := map[string][]string{
		`{"queryType":"drops","groupBy":["location","protocol"]}`: {`no "location" label in the retina schema`, `no "protocol" label`},
		`{"queryType":"drops","filters":{"pod":["x"]}}`:           {"the pod filter does not apply"},
		`{"queryType":"nic","groupBy":["queue"]}`:                 {"no Rx cache full counter", "per-queue", `no "queue" label`},
		`{"queryType":"interfaces"}`:                              {"no per-interface counters"},
		`{"queryType":"netstat"}`:                                 {"no softnet backlog drops, no conntrack statistics"},
		`{"queryType":"podDrops"}`:                                {"adv_drop_count"},
	}
	for q, wants := range cases {
		_, notices := exprs(t, models.SchemaRetina, mustParse(t, q), "60s")
		all := strings.Join(notices, "\n")
		for _, w := range wants {
			if !strings.Contains(all, w) {
				t.Errorf("%s: notices lack %q:\n%s", q, w, all)
			}
		}
	}
	// The netlens schema has these labels: no notice.
	if _, n := exprs(t, models.SchemaNetlens, mustParse(t, `{"queryType":"drops","groupBy":["location","protocol"]}`), "60s"); len(n) != 0 {
		t.Fatalf("unexpected notices %v", n)
	}
}

var hostile = []string{
	`"} or vector(1) #`,
	`\`,
	`a\"b`,
	"line1\nline2",
	"tab\there\r",
	`pod.*`,
	`x|y`,
	`)(]`,
	"ünïcødé-ポッド-😀",
	"\x00nul",
	`{{}}`,
	`" , __name__=~".+`,
	`'`,
	"`",
}

// Hostile filter values stay inside their matcher: the generated PromQL
// parses with Prometheus's own parser into one selector per target whose
// matcher selects exactly the hostile value, nothing else.
func TestHostileFilterValues(t *testing.T) {
	for _, schema := range []models.Schema{models.SchemaNetlens, models.SchemaRetina} {
		for _, v := range hostile {
			q := models.Query{QueryType: models.QueryPodDrops, Value: "packets", Rate: boolp(true), GroupBy: []string{"pod"}, Filters: models.Filters{Pod: []string{v}}}
			got, _ := exprs(t, schema, q, "60s")
			podLabel := map[models.Schema]string{models.SchemaNetlens: "pod", models.SchemaRetina: "podname"}[schema]
			checkSelectors(t, got[0], podLabel, func(m *labels.Matcher) {
				if m.Type != labels.MatchEqual || m.Value != v {
					t.Errorf("%q became matcher %s", v, m)
				}
			})
		}
		// Several values: one anchored regex matching each value and nothing else.
		q := models.Query{QueryType: models.QueryPodDrops, Value: "packets", Rate: boolp(false), Filters: models.Filters{Pod: hostile}}
		got, _ := exprs(t, schema, q, "60s")
		podLabel := map[models.Schema]string{models.SchemaNetlens: "pod", models.SchemaRetina: "podname"}[schema]
		checkSelectors(t, got[0], podLabel, func(m *labels.Matcher) {
			if m.Type != labels.MatchRegexp {
				t.Fatalf("matcher %s is not a regexp", m)
			}
			for _, v := range hostile {
				if !m.Matches(v) {
					t.Errorf("regex %q does not match %q", m.Value, v)
				}
			}
			for _, other := range []string{"", "x", "pod-1", "podX", "line1", `"`, "y"} {
				if m.Matches(other) {
					t.Errorf("regex %q matches %q, which was not asked for", m.Value, other)
				}
			}
		})
	}
}

// checkSelectors parses expr and checks it has one vector selector, whose
// matcher on label is checked by check, and no other matchers but __name__.
func checkSelectors(t *testing.T, expr, label string, check func(*labels.Matcher)) {
	t.Helper()
	e, err := promParser.ParseExpr(expr)
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, expr)
	}
	var sels []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			sels = append(sels, vs)
		}
		return nil
	})
	if len(sels) != 1 {
		t.Fatalf("%d selectors in %s", len(sels), expr)
	}
	found := false
	for _, m := range sels[0].LabelMatchers {
		switch m.Name {
		case labels.MetricName:
		case label:
			found = true
			check(m)
		default:
			t.Errorf("unexpected matcher %s in %s", m, expr)
		}
	}
	if !found {
		t.Fatalf("no %s matcher in %s", label, expr)
	}
}

// Exact escaping, byte for byte.
func TestMatcherEscaping(t *testing.T) {
	cases := []struct {
		values []string
		want   string
	}{
		{[]string{`"} or vector(1) #`}, `pod="\"} or vector(1) #"`},
		{[]string{`\`}, `pod="\\"`},
		{[]string{"a\nb"}, `pod="a\nb"`},
		{[]string{"ünï"}, `pod="ünï"`},
		{[]string{"a.b", `c"d`}, `pod=~"a\\.b|c\"d"`},
		{[]string{`x|y`, `\`}, `pod=~"\\\\|x\\|y"`}, // sorted: one set of values, one matcher
		{[]string{"a", "a"}, `pod="a"`},
		{nil, ""},
	}
	for _, c := range cases {
		if got := query.Matcher("pod", c.values); got != c.want {
			t.Errorf("Matcher(%q) = %s, want %s", c.values, got, c.want)
		}
	}
	if _, err := regexp.Compile("^(?:" + `a\.b|c"d` + ")$"); err != nil {
		t.Fatal(err)
	}
}

func TestGroupByOnlyFromList(t *testing.T) {
	q := models.Query{QueryType: models.QueryDrops, Value: "packets", Rate: boolp(true), GroupBy: []string{"reason) or vector(1"}}
	if _, err := planQuery(models.SchemaNetlens, q); err == nil || !strings.Contains(err.Error(), "cannot group by") {
		t.Fatalf("err = %v", err)
	}
}

func TestComputeTiming(t *testing.T) {
	from := time.Unix(1_700_000_000, 0).UTC()
	cases := []struct {
		name     string
		r        query.Range
		scrape   time.Duration
		step     time.Duration
		window   time.Duration
		start    time.Time
		endAlign time.Duration
	}{
		// 1h over 1000 points: 3.6s rounds to 5s > interval 1s; window max(5+15, 60) = 60s.
		{"1h", query.Range{From: from, To: from.Add(time.Hour), Interval: time.Second, MaxDataPoints: 1000}, 15 * time.Second, 5 * time.Second, 60 * time.Second, from, 5 * time.Second},
		// The panel interval wins when coarser: window = 2m + 15s.
		{"interval", query.Range{From: from, To: from.Add(time.Hour), Interval: 2 * time.Minute, MaxDataPoints: 1000}, 15 * time.Second, 2 * time.Minute, 135 * time.Second, from.Add(-from.Sub(from.Truncate(2 * time.Minute))), 2 * time.Minute},
		// No interval: scrape interval is the minimum.
		{"no interval", query.Range{From: from, To: from.Add(10 * time.Minute), MaxDataPoints: 1000}, 15 * time.Second, 15 * time.Second, 60 * time.Second, from.Truncate(15 * time.Second), 15 * time.Second},
		// 30 days: the 11000-point cap (235s -> 5m) beats 30d/43200=60s.
		{"30d", query.Range{From: from, To: from.Add(30 * 24 * time.Hour), Interval: time.Second, MaxDataPoints: 43200}, 15 * time.Second, 5 * time.Minute, 315 * time.Second, from.Truncate(5 * time.Minute), 5 * time.Minute},
		// 1s scrapes: window max(1+1, 4) = 4s.
		{"fast scrape", query.Range{From: from, To: from.Add(2 * time.Minute), Interval: time.Second, MaxDataPoints: 1000}, time.Second, time.Second, 4 * time.Second, from, time.Second},
		// Unset scrape interval means 15s.
		{"default scrape", query.Range{From: from, To: from.Add(5 * time.Minute), Interval: 30 * time.Second}, 0, 30 * time.Second, 60 * time.Second, from.Truncate(30 * time.Second), 30 * time.Second},
	}
	for _, c := range cases {
		tm := computeTiming(c.r, c.scrape)
		if tm.Step != c.step || tm.Window != c.window {
			t.Errorf("%s: step %v window %v, want %v %v", c.name, tm.Step, tm.Window, c.step, c.window)
		}
		if !tm.Start.Equal(c.start.Truncate(c.step)) || tm.End.UnixNano()%c.endAlign.Nanoseconds() != 0 || tm.End.After(c.r.To) || c.r.To.Sub(tm.End) >= tm.Step {
			t.Errorf("%s: range %v..%v not aligned to %v (from %v to %v)", c.name, tm.Start, tm.End, c.step, c.r.From, c.r.To)
		}
	}
	if promDuration(1500*time.Millisecond) != "1500ms" || promDuration(2*time.Minute) != "120s" {
		t.Fatal("promDuration")
	}
	if stepParam(1500*time.Millisecond) != "1.5" || timeParam(time.UnixMilli(1_700_000_000_250)) != "1700000000.25" {
		t.Fatal("params")
	}
}

func TestInterpolate(t *testing.T) {
	from := time.Unix(1_700_000_000, 0)
	r := query.Range{From: from, To: from.Add(time.Hour), Interval: time.Second, MaxDataPoints: 1000}
	tm := computeTiming(r, 15*time.Second)
	got := interpolate(`rate(x[$__rate_interval]) / $__interval_ms + rate(y[${__interval}]) + z[$__range] + $__range_s`, tm, r)
	want := `rate(x[60s]) / 5000 + rate(y[5s]) + z[3600s] + 3600`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
