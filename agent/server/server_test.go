package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/tests/testenv"
)

func newTestServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "netlens_test_total", Help: "Test counter."})
	c.Add(3)
	reg.MustRegister(c)
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gatherer: reg,
		Status: func() api.Status { return api.Status{Node: "node-1", DropSource: "tp_btf"} }})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func TestHealthz(t *testing.T) {
	_, ts := newTestServer(t)
	if code, body := testenv.HTTPGet(t, ts.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("got %d %q", code, body)
	}
}

// /readyz is 503 until the agent says it is ready, and again while shutting down.
func TestReadyzFollowsReadiness(t *testing.T) {
	s, ts := newTestServer(t)
	if code, _ := testenv.HTTPGet(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("before ready: got %d", code)
	}
	s.SetReady(true)
	if code, _ := testenv.HTTPGet(t, ts.URL+"/readyz"); code != 200 {
		t.Fatalf("after ready: got %d", code)
	}
	s.SetReady(false)
	if code, _ := testenv.HTTPGet(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("after unready: got %d", code)
	}
}

func TestMetricsServesGatherer(t *testing.T) {
	_, ts := newTestServer(t)
	code, body := testenv.HTTPGet(t, ts.URL+"/metrics")
	if code != 200 || !strings.Contains(body, "netlens_test_total 3") {
		t.Fatalf("got %d:\n%s", code, body)
	}
}

// Only GET is served; nothing changes state, and unknown paths are 404.
func TestRejectsOtherMethodsAndPaths(t *testing.T) {
	_, ts := newTestServer(t)
	resp, err := http.Post(ts.URL+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /metrics: got %d", resp.StatusCode)
	}
	if code, _ := testenv.HTTPGet(t, ts.URL+"/nope"); code != http.StatusNotFound {
		t.Fatalf("GET /nope: got %d", code)
	}
}

// /api/v1/status serves the agent's status as JSON.
func TestStatus(t *testing.T) {
	_, ts := newTestServer(t)
	code, body := testenv.HTTPGet(t, ts.URL+"/api/v1/status")
	var st api.Status
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Node != "node-1" || st.DropSource != "tp_btf" {
		t.Fatalf("got %d %s", code, body)
	}
}

// /api/v1/reasons serves the reason catalog, and explains the running
// kernel's reasons the catalog lacks with the generic entry.
func TestReasons(t *testing.T) {
	const synthetic = "NETLENS_TEST_NEW_KERNEL_REASON"
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gatherer: prometheus.NewRegistry(),
		Status: func() api.Status { return api.Status{} }, KernelReasons: []string{"NO_SOCKET", synthetic, "NETFILTER_DROP"}})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	all := getReasons(t, ts.URL+"/api/v1/reasons")
	catalog, _ := reasons.All()
	if len(all) != len(catalog)+1 {
		t.Fatalf("got %d entries, want the %d of the catalog and one generic", len(all), len(catalog))
	}
	for i, e := range all[:len(catalog)] {
		if e.Reason != catalog[i].Reason || e.Generic {
			t.Fatalf("entry %d: %+v, want the catalog's %s", i, e, catalog[i].Reason)
		}
	}
	if last := all[len(all)-1]; !last.Generic || last.Reason != synthetic || last.Meaning != reasons.Generic(synthetic).Meaning {
		t.Fatalf("last entry %+v, want the generic explanation of %s", last, synthetic)
	}

	// Named reasons: exactly those, in order, from the catalog or generic.
	got := getReasons(t, ts.URL+"/api/v1/reasons?reason=TCP_CSUM,"+synthetic+"&reason=TCP_CSUM")
	if len(got) != 2 || got[0].Reason != "TCP_CSUM" || got[0].Generic || got[1].Reason != synthetic || !got[1].Generic {
		t.Fatalf("named reasons: %+v", got)
	}

	for _, q := range []string{"?reason=no_socket", "?reasons=NO_SOCKET", "?reason=" + strings.Repeat("A", 200)} {
		code, body := testenv.HTTPGet(t, ts.URL+"/api/v1/reasons"+q)
		var e api.Error
		if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("GET /api/v1/reasons%s: %d %s", q, code, body)
		}
	}
}

// Without the kernel's reasons (no drop source), the catalog alone.
func TestReasonsWithoutKernelReasons(t *testing.T) {
	_, ts := newTestServer(t)
	all := getReasons(t, ts.URL+"/api/v1/reasons")
	catalog, _ := reasons.All()
	if len(all) != len(catalog) {
		t.Fatalf("got %d entries, want the catalog's %d", len(all), len(catalog))
	}
}

func getReasons(t *testing.T, url string) []reasons.Entry {
	t.Helper()
	code, body := testenv.HTTPGet(t, url)
	var entries []reasons.Entry
	if code != 200 || json.Unmarshal([]byte(body), &entries) != nil {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return entries
}
