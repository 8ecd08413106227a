package collector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fakeCollector struct {
	name string
	err  error
}

var fakeDesc = prometheus.NewDesc("netlens_fake_total", "Fake counter.", []string{"source"}, nil)

func (f fakeCollector) Name() string { return f.name }

func (f fakeCollector) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	ch <- prometheus.MustNewConstMetric(fakeDesc, prometheus.CounterValue, 7, f.name)
	return f.err
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A failing collector is reported down while the others stay up, and the
// metrics every collector sent (even the failing one, before its error) are kept.
func TestRegistryIsolatesFailures(t *testing.T) {
	r := NewRegistry(quietLogger(), time.Second,
		fakeCollector{name: "good"},
		fakeCollector{name: "bad", err: errors.New("netlink: permission denied")})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)

	want := `
# HELP netlens_agent_collector_up Whether the collector's latest run succeeded (1) or failed (0).
# TYPE netlens_agent_collector_up gauge
netlens_agent_collector_up{collector="bad"} 0
netlens_agent_collector_up{collector="good"} 1
# HELP netlens_fake_total Fake counter.
# TYPE netlens_fake_total counter
netlens_fake_total{source="bad"} 7
netlens_fake_total{source="good"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "netlens_agent_collector_up", "netlens_fake_total"); err != nil {
		t.Fatal(err)
	}

	st := r.Status()
	if len(st) != 2 || st[0].Name != "bad" || st[1].Name != "good" {
		t.Fatalf("status not sorted by name: %+v", st)
	}
	if st[0].Up || st[0].Error != "netlink: permission denied" || st[0].LastRun.IsZero() {
		t.Fatalf("bad collector status wrong: %+v", st[0])
	}
	if !st[1].Up || st[1].Error != "" {
		t.Fatalf("good collector status wrong: %+v", st[1])
	}
}

// Before the first scrape every collector is listed, not yet up.
func TestRegistryStatusBeforeFirstScrape(t *testing.T) {
	r := NewRegistry(quietLogger(), time.Second, fakeCollector{name: "a"})
	st := r.Status()
	if len(st) != 1 || st[0].Up || !st[0].LastRun.IsZero() {
		t.Fatalf("got %+v", st)
	}
}

func TestRegistryRejectsDuplicateNames(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate collector names were accepted")
		}
	}()
	NewRegistry(quietLogger(), time.Second, fakeCollector{name: "a"}, fakeCollector{name: "a"})
}

func TestInfoMetric(t *testing.T) {
	source := "none"
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Info{Version: "1.2.3", Kernel: "6.18.0", DropSource: func() string { return source }})
	source = "tp_btf"
	want := `
# HELP netlens_agent_info Build and host facts of the agent; always 1.
# TYPE netlens_agent_info gauge
netlens_agent_info{drop_source="tp_btf",kernel="6.18.0",version="1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// The kernel's reasons and those the catalog lacks are counted; without the
// kernel's reasons (no drop source) the two metrics are absent.
func TestReasonsMetric(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Reasons{Kernel: []string{"NO_SOCKET", "NETLENS_TEST_NEW", "TCP_CSUM", "NETLENS_TEST_NEWER"}})
	want := `
# HELP netlens_agent_kernel_drop_reasons Drop reasons the running kernel names (enum skb_drop_reason and built-in subsystem enums); absent when no drop source reads them.
# TYPE netlens_agent_kernel_drop_reasons gauge
netlens_agent_kernel_drop_reasons 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "netlens_agent_kernel_drop_reasons"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "netlens_agent_uncatalogued_drop_reasons"); err != nil || n != 1 {
		t.Errorf("uncatalogued series: %d %v", n, err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "netlens_agent_uncatalogued_drop_reasons" && mf.GetMetric()[0].GetGauge().GetValue() != 2 {
			t.Errorf("uncatalogued = %v, want 2", mf.GetMetric()[0].GetGauge().GetValue())
		}
	}

	none := prometheus.NewPedanticRegistry()
	none.MustRegister(Reasons{})
	if n, err := testutil.GatherAndCount(none); err != nil || n != 0 {
		t.Errorf("without kernel reasons: %d series, %v", n, err)
	}
}
