package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/metadata"
	"github.com/netlens/netlens/tests/testenv"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakePods is a pod inventory keyed by IP.
type fakePods struct{ pods []metadata.Pod }

func (fakePods) Name() string { return "fake" }
func (f *fakePods) PodByIP(ip netip.Addr, _, _ time.Time) (metadata.Pod, bool) {
	for _, p := range f.pods {
		for _, a := range p.IPs {
			if a == ip {
				return p, true
			}
		}
	}
	return metadata.Pod{}, false
}
func (f *fakePods) PodByUID(uid string) (metadata.Pod, bool) {
	for _, p := range f.pods {
		if p.UID == uid {
			return p, true
		}
	}
	return metadata.Pod{}, false
}
func (fakePods) Err() error { return nil }

// recordedPods owns the recorded endpoints' addresses: web-0 has two endpoints
// (10.240.0.12 and 10.240.0.13), api one (10.240.0.20); 10.240.0.99 is no pod's.
func recordedPods() *fakePods {
	return &fakePods{pods: []metadata.Pod{
		{UID: "uid-web-0", Namespace: "shop", Name: "web-0", Workload: "web", WorkloadKind: "StatefulSet",
			IPs: []netip.Addr{netip.MustParseAddr("10.240.0.12"), netip.MustParseAddr("10.240.0.13")}},
		{UID: "uid-api", Namespace: "shop", Name: "api-7f9c-x2k4p", Workload: "api", WorkloadKind: "Deployment",
			IPs: []netip.Addr{netip.MustParseAddr("10.240.0.20")}},
	}}
}

// hcnEndpoint is the part of hcn.HostComputeEndpoint (HNS schema v2 JSON) the
// recorded endpoint list holds.
type hcnEndpoint struct {
	ID               string `json:"ID"`
	Name             string
	MacAddress       string
	IpConfigurations []struct{ IpAddress string }
	Flags            uint32
}

// fakeHNS serves the recorded endpoints and stats.
type fakeHNS struct {
	eps     []Endpoint
	stats   map[string]HNSStats
	listErr error
	failing map[string]error
}

func recordedHNS(t testing.TB) *fakeHNS {
	t.Helper()
	var raw []hcnEndpoint
	if err := json.Unmarshal(readFixture(t, "hns_endpoints.json"), &raw); err != nil {
		t.Fatal(err)
	}
	h := &fakeHNS{stats: map[string]HNSStats{}, failing: map[string]error{}}
	for _, e := range raw {
		var ips []string
		for _, c := range e.IpConfigurations {
			ips = append(ips, c.IpAddress)
		}
		h.eps = append(h.eps, NewEndpoint(e.ID, e.Name, e.MacAddress, ips...))
	}
	if err := json.Unmarshal(readFixture(t, "hns_stats.json"), &h.stats); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *fakeHNS) Endpoints(ctx context.Context) ([]Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h.eps, h.listErr
}

func (h *fakeHNS) Stats(ctx context.Context, id string) (HNSStats, error) {
	if err := ctx.Err(); err != nil {
		return HNSStats{}, err
	}
	if err := h.failing[id]; err != nil {
		return HNSStats{}, err
	}
	s, ok := h.stats[id]
	if !ok {
		return HNSStats{}, errors.New("endpoint not found")
	}
	return s, nil
}

// gather runs the collectors through the agent's collector registry and a
// pedantic Prometheus registry (which rejects duplicate series) and returns
// every sample as `name{label="value",...}` -> value, with their statuses.
func gather(t testing.TB, cs ...collector.Collector) (map[string]float64, []collector.Status) {
	t.Helper()
	// The runs' deadline: no test here is about it (the fakes answer at once),
	// so it is long enough that a busy machine does not reach it.
	r := collector.NewRegistry(quietLogger(), testenv.Patience, cs...)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out, r.Status()
}

// series returns the keys of got with the metric name prefix.
func series(got map[string]float64, prefix string) []string {
	var ks []string
	for k := range got {
		if strings.HasPrefix(k, prefix+"{") {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func expect(t testing.TB, got map[string]float64, key string, want float64) {
	t.Helper()
	v, ok := got[key]
	if !ok {
		t.Errorf("missing series %s", key)
		return
	}
	if v != want {
		t.Errorf("%s = %v, want %v", key, v, want)
	}
}

func nodeDrop(reason, location string) string {
	return fmt.Sprintf(`netlens_drop_packets_total{location=%q,protocol="unknown",reason=%q}`, location, reason)
}

func podDrop(ns, pod, workload, dir, reason string) string {
	return fmt.Sprintf(`netlens_pod_drop_packets_total{direction=%q,namespace=%q,pod=%q,reason=%q,workload=%q}`, dir, ns, pod, reason, workload)
}

func ifMetric(name, iface, dir string) string {
	return fmt.Sprintf(`%s{direction=%q,interface=%q}`, name, dir, iface)
}
