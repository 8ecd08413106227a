package direct

import (
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

func sec(s float64) time.Time { return time.UnixMilli(int64(s * 1000)) }

func smp(pairs ...float64) []api.Sample {
	var out []api.Sample
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, api.Sample{T: int64(pairs[i] * 1000), V: pairs[i+1]})
	}
	return out
}

func TestGrid(t *testing.T) {
	cases := []struct {
		r    query.Range
		want Grid
	}{
		// Interval wins; From and To rounded down to the step.
		{query.Range{From: sec(1000.5), To: sec(1061.2), Interval: 10 * time.Second, MaxDataPoints: 1000}, Grid{1000000, 1060000, 10000}},
		// (To-From)/MaxDataPoints wins: 3600 s / 100 = 36 s.
		{query.Range{From: sec(0), To: sec(3600), Interval: 15 * time.Second, MaxDataPoints: 100}, Grid{0, 3600000, 36000}},
		// Never below 1 s.
		{query.Range{From: sec(10), To: sec(20)}, Grid{10000, 20000, 1000}},
		// Steps are whole milliseconds, rounded up: 1000 s / 3 points; To rounded down to 2 steps.
		{query.Range{From: sec(0), To: sec(1000), MaxDataPoints: 3}, Grid{0, 666668, 333334}},
	}
	for _, c := range cases {
		if got := NewGrid(c.r); got != c.want {
			t.Errorf("NewGrid(%v..%v, %v, %d) = %+v, want %+v", c.r.From.UnixMilli(), c.r.To.UnixMilli(), c.r.Interval, c.r.MaxDataPoints, got, c.want)
		}
	}
	if g := NewGrid(query.Range{From: sec(0), To: sec(86400 * 30)}); g.Len() > maxPoints+1 {
		t.Errorf("a month at 1 s makes %d points", g.Len())
	}
}

func approx(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}

// Rates against values computed by hand with Prometheus's extrapolation
// (window 40 s, evaluated at t = 1000 s, so the window is (960, 1000]).
func TestRatesHandComputed(t *testing.T) {
	g := Grid{Start: 1000000, End: 1000000, Step: 10000}
	const w = 40000
	nan := math.NaN()
	cases := []struct {
		name    string
		samples []api.Sample
		want    float64
	}{
		// 20, 30, 40, 50 at 970..1000: increase 30 over 30 s sampled,
		// extrapolated 10 s to the window start: 30 * 40/30 / 40 = 1.
		{"steady", smp(950, 0, 960, 10, 970, 20, 980, 30, 990, 40, 1000, 50), 1},
		// 20, 30, reset to 5, 15: increase 10 + 5 + 10 = 25; 25 * 40/30 / 40.
		{"reset", smp(970, 20, 980, 30, 990, 5, 1000, 15), 25.0 / 30},
		// Two rounds missing: 20 at 970, 50 at 1000: same as steady.
		{"gap", smp(970, 20, 1000, 50), 1},
		// One sample in the window: no value.
		{"one sample", smp(900, 1, 1000, 50), nan},
		{"none", nil, nan},
		// The series starts at 985 (a new pod): start gap 25 s exceeds 1.1 x
		// the 5 s spacing, so only half a spacing (2.5 s) is extrapolated:
		// 15 * (15 + 2.5)/15 / 40 = 0.4375.
		{"starts late", smp(985, 35, 990, 40, 995, 45, 1000, 50), 0.4375},
		// Counter near zero at the first sample: extrapolate only to zero
		// (30 s x 1/30 = 1 s before 970): 30 * 31/30 / 40 = 0.775.
		{"from zero", smp(970, 1, 980, 11, 990, 21, 1000, 31), 0.775},
		// The end gap counts too: samples to 990, window ends at 1000 (10 s
		// < 11 s threshold): 20 * (20 + 10 + 10)/20 / 40 = 1.
		{"end gap", smp(970, 20, 980, 30, 990, 40), 1},
	}
	for _, c := range cases {
		got := Rates(c.samples, g, w)
		if len(got) != 1 || !approx(got[0], c.want) {
			t.Errorf("%s: rate %v, want %v", c.name, got, c.want)
		}
	}
}

// Along a grid the window slides: each step sees only its own samples.
func TestRatesSlide(t *testing.T) {
	// 1/s until 1020, then 3/s.
	var s []api.Sample
	v := 0.0
	for ts := 900.0; ts <= 1100; ts += 10 {
		s = append(s, api.Sample{T: int64(ts * 1000), V: v})
		if ts < 1020 {
			v += 10
		} else {
			v += 30
		}
	}
	g := Grid{Start: 1000000, End: 1100000, Step: 20000}
	got := Rates(s, g, 20000) // (t-20, t]: two samples, 10 s apart
	// The 10 s from the window start to the first sample is below 1.1 x the
	// spacing, so the increase is extrapolated over the whole window: one
	// step's increase per 10 s. The step at 1020 still sees 1010..1020.
	want := []float64{1, 1, 3, 3, 3, 3}
	for i := range want {
		if !approx(got[i], want[i]) {
			t.Errorf("step %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestValues(t *testing.T) {
	s := smp(990, 5, 1000, 7, 1300, 9)
	g := Grid{Start: 980000, End: 1320000, Step: 10000}
	got := Values(s, g)
	check := map[float64]float64{980: math.NaN(), 990: 5, 1000: 7, 1010: 7, 1290: 7, 1300: 9, 1320: 9}
	for ts, want := range check {
		i := int((int64(ts*1000) - g.Start) / g.Step)
		if !approx(got[i], want) {
			t.Errorf("value at %v = %v, want %v", ts, got[i], want)
		}
	}
	// Beyond the 5 minute lookback a counter has no value.
	g = Grid{Start: 1000000 + 300000, End: 1000000 + 300000, Step: 1000}
	if v := Values(smp(1000, 7), g); !math.IsNaN(v[0]) {
		t.Errorf("value 5 min after the last sample: %v", v)
	}
}

// Series from two agents are summed by the group-by labels, node coming
// from each agent's status; steps where a series has no value leave it out
// of the sum instead of making it NaN.
func TestMerge(t *testing.T) {
	g := Grid{Start: 1000000, End: 1010000, Step: 10000}
	series := func(reason string, vals ...float64) api.Series {
		return api.Series{Labels: map[string]string{"__name__": "netlens_drop_packets_total", "reason": reason, "protocol": "udp"},
			Samples: smp(vals...)}
	}
	a := Input{Node: "node-a", Interval: 10 * time.Second, Series: []api.Series{
		series("NO_SOCKET", 1000, 5, 1010, 6),
		series("NETFILTER_DROP", 1000, 1),
	}}
	b := Input{Node: "node-b", Interval: 10 * time.Second, Series: []api.Series{
		series("NO_SOCKET", 1000, 100, 1010, 100),
	}}
	byReason := Merge([]Input{a, b}, []string{"reason"}, false, g, false)
	if len(byReason) != 2 || byReason[0].Labels["reason"] != "NETFILTER_DROP" || byReason[1].Labels["reason"] != "NO_SOCKET" {
		t.Fatalf("groups %+v", byReason)
	}
	if !approx(byReason[1].Values[0], 105) || !approx(byReason[1].Values[1], 106) || !approx(byReason[0].Values[1], 1) {
		t.Fatalf("sums %+v", byReason)
	}
	byNode := Merge([]Input{a, b}, []string{"node"}, false, g, false)
	if len(byNode) != 2 || byNode[0].Labels["node"] != "node-a" || !approx(byNode[0].Values[0], 6) || !approx(byNode[1].Values[0], 100) {
		t.Fatalf("by node %+v", byNode)
	}
	total := Merge([]Input{a, b}, nil, false, g, false)
	if len(total) != 1 || len(total[0].Labels) != 0 || !approx(total[0].Values[0], 106) {
		t.Fatalf("total %+v", total)
	}
	sp, _ := specFor(models.Query{QueryType: models.QueryDrops, Value: "packets"})
	frames := timeSeriesFrames(byReason, g, sp, models.Query{QueryType: models.QueryDrops, GroupBy: []string{"reason"}}, true)
	if len(frames) != 2 || frames[0].Meta.Type != data.FrameTypeTimeSeriesMulti || frames[1].Fields[1].Config.DisplayNameFromDS != "NO_SOCKET" ||
		frames[1].Fields[1].Config.Unit != "pps" || frames[1].Fields[1].Labels["reason"] != "NO_SOCKET" {
		t.Fatalf("frames %+v", frames)
	}
	if n := DisplayName(data.Labels{"reason": "X", "node": "n1"}, "{{node}}: {{ reason }}", "", nil, "drops"); n != "n1: X" {
		t.Fatalf("legend: %q", n)
	}
	if n := DisplayName(data.Labels{"direction": "rx", "node": "n1"}, "", "dropped", []string{"node", "direction"}, "interfaces"); n != "dropped n1 rx" {
		t.Fatalf("key and labels: %q", n)
	}
	if n := DisplayName(nil, "", "", nil, "drops"); n != "drops" {
		t.Fatalf("no labels: %q", n)
	}
}
