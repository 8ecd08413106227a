package history

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func sample(name string, v float64, labels ...string) Sample {
	ls := []Label{{"__name__", name}}
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, Label{labels[i], labels[i+1]})
	}
	return Sample{Labels: ls, Value: v}
}

// Selectors parse as in PromQL: name, matchers of the four kinds, escapes,
// anchored regular expressions; malformed or match-everything selectors are
// rejected with the position or reason.
func TestParseSelector(t *testing.T) {
	ms, err := ParseSelector(`netlens_drop_packets_total{reason=~"NO_.*", location!="x", pod="a\"b", ns!~"kube-.*"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 || ms[0].Value != "netlens_drop_packets_total" || ms[3].Value != `a"b` || ms[1].Type != MatchRegexp {
		t.Fatalf("parsed %+v", ms)
	}
	if !ms[1].Matches("NO_SOCKET") || ms[1].Matches("XNO_SOCKET") || ms[4].Matches("kube-system") || !ms[4].Matches("default") {
		t.Fatal("regular expressions not anchored or inverted wrongly")
	}
	for sel, want := range map[string]string{
		``:                           "empty selector",
		`{}`:                         "empty selector",
		`{reason=~".*"}`:             "matches the empty string",
		`x{reason="a"`:               "want , or }",
		`x{reason=a}`:                "want a double-quoted value",
		`x{reason="a}`:               "unterminated string",
		`x{reason=~"("}`:             "bad regular expression",
		`x{reason=="a"}`:             "want a double-quoted value",
		`x y`:                        "unexpected",
		`x{1a="b"}`:                  "want a label name",
		`x{reason:"a"}`:              "want =, !=, =~ or !~",
		strings.Repeat("a", 5000):    "longer than",
		`x{reason="\q"}`:             "bad string",
		`x{reason="a"} or vector(1)`: "unexpected",
	} {
		if _, err := ParseSelector(sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: got %v, want an error containing %q", sel, err, want)
		}
	}
}

// The store keeps window/interval rounds per series, answers a time range
// oldest first without the rounds a series was absent from, forgets series
// absent for the whole window, and refuses series beyond its limit.
func TestStoreWindow(t *testing.T) {
	s := New(time.Minute, 15*time.Second, 3) // 4 slots
	t0 := time.Unix(1_700_000_000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 15 * time.Second) }
	for i := range 6 {
		round := []Sample{sample("a_total", float64(i), "k", "1")}
		if i%2 == 0 {
			round = append(round, sample("b", float64(10*i)))
		}
		if i == 0 {
			round = append(round, sample("gone", 1))
		}
		s.Add(at(i), round)
	}
	ms, _ := ParseSelector(`a_total`)
	got, err := s.Select(ms, at(0), at(5), 100)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Only the last 4 rounds are kept.
	if n := len(got[0].Samples); n != 4 || got[0].Samples[0].V != 2 || got[0].Samples[3].V != 5 || got[0].Samples[3].T != at(5).UnixMilli() {
		t.Fatalf("a_total samples %+v", got[0].Samples)
	}
	if got[0].Labels["k"] != "1" || got[0].Labels["__name__"] != "a_total" {
		t.Fatalf("labels %v", got[0].Labels)
	}
	ms, _ = ParseSelector(`b`)
	got, _ = s.Select(ms, at(3), at(5), 100)
	if len(got) != 1 || len(got[0].Samples) != 1 || got[0].Samples[0].V != 40 {
		t.Fatalf("b between rounds 3 and 5: %+v", got)
	}
	ms, _ = ParseSelector(`gone`)
	if got, _ := s.Select(ms, at(0), at(5), 100); len(got) != 0 {
		t.Fatalf("a series absent for the whole window is still there: %+v", got)
	}
	st := s.Status()
	if st.Series != 2 || st.DurationSeconds != 60 || st.Oldest != at(2) || st.Bytes <= 0 {
		t.Fatalf("status %+v", st)
	}
	s.Add(at(6), []Sample{sample("a_total", 6, "k", "1"), sample("b", 60), sample("c1", 1), sample("c2", 2)})
	if st := s.Status(); st.Series != 3 || st.DroppedSeries != 1 {
		t.Fatalf("limit of 3 series: %+v", st)
	}
	ms, _ = ParseSelector(`{__name__=~"a_total|b|c1"}`)
	if _, err := s.Select(ms, at(0), at(6), 2); err == nil || !strings.Contains(err.Error(), "matches 3 series, more than the limit of 2") {
		t.Fatalf("limit: %v", err)
	}
}

// Summaries and histograms are flattened the way Prometheus stores them.
func TestFlatten(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h_seconds", Help: "h", Buckets: []float64{1, 2}})
	h.Observe(1.5)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"z", "a"})
	c.WithLabelValues("zz", "aa").Add(2)
	reg.MustRegister(h, c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, smp := range Flatten(mfs) {
		var k []string
		for _, l := range smp.Labels {
			k = append(k, l.Name+"="+l.Value)
		}
		got[strings.Join(k, ",")] = smp.Value
	}
	want := map[string]float64{
		"__name__=c_total,a=aa,z=zz":        2,
		"__name__=h_seconds_sum":            1.5,
		"__name__=h_seconds_count":          1,
		"__name__=h_seconds_bucket,le=1":    0,
		"__name__=h_seconds_bucket,le=2":    1,
		"__name__=h_seconds_bucket,le=+Inf": 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v || math.IsNaN(g) {
			t.Errorf("%s = %v (%v), want %v; all: %v", k, g, ok, v, got)
		}
	}
}

// The selector parser never panics and accepts only what it can answer.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{`a`, `a{b="c"}`, `{b=~"c.*",d!~"e"}`, `a{b="\u00e9\n"}`, `a{`, `{}`, `a{b="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sel string) {
		ms, err := ParseSelector(sel)
		if err != nil {
			return
		}
		empty := true
		for _, m := range ms {
			empty = empty && m.Matches("")
		}
		if empty {
			t.Fatalf("%q accepted although every matcher matches the empty string", sel)
		}
	})
}
