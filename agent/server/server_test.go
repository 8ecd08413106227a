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

// /api/v1/reasons serves the reason catalog.
func TestReasons(t *testing.T) {
	_, ts := newTestServer(t)
	code, body := testenv.HTTPGet(t, ts.URL+"/api/v1/reasons")
	var entries []struct{ Reason, Meaning string }
	if code != 200 || json.Unmarshal([]byte(body), &entries) != nil || len(entries) < 100 {
		t.Fatalf("got %d, %d entries", code, len(entries))
	}
	for _, e := range entries {
		if e.Reason == "NETFILTER_DROP" && e.Meaning != "" {
			return
		}
	}
	t.Fatal("no explained NETFILTER_DROP")
}
