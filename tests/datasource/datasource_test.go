// Package datasource_test drives the built gpx_netlens binary through the
// Grafana test host, as Grafana would.
package datasource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/grafanahost"
	"github.com/netlens/netlens/tests/testenv"
)

func start(t *testing.T) (*grafanahost.Host, context.Context) {
	t.Helper()
	h := grafanahost.Start(t, testenv.DatasourceBinary(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return h, ctx
}

var promDS = grafanahost.DataSource{UID: "netlens-prom", URL: "http://prometheus.example:9090", JSONData: `{"mode":"prometheus"}`}

// startAgent runs a real agent without drop counting (no root needed) and
// returns a direct-mode data source reading it.
func startAgent(t *testing.T) (*agentproc.Agent, grafanahost.DataSource) {
	t.Helper()
	a := agentproc.Start(t, "--drop-source", "none", "--bpffs-path", "", "--state-dir", "", "--history-interval", "1s")
	return a, grafanahost.DataSource{UID: "netlens-direct", JSONData: fmt.Sprintf(`{"mode":"direct","agentUrls":["http://%s"]}`, a.Addr)}
}

// "Save & test" contacts what the settings point at: a reachable agent is
// healthy; an unreachable Prometheus or agent is an error naming the address.
func TestCheckHealthContactsTargets(t *testing.T) {
	h, ctx := start(t)
	agent, direct := startAgent(t)
	res, err := h.CheckHealth(ctx, direct.PluginContext(plugin.ID))
	if err != nil || res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "1 of 1") {
		t.Fatalf("reachable agent %s: %v %+v", agent.Addr, err, res)
	}
	closed := closedAddress(t)
	for _, ds := range []grafanahost.DataSource{
		{UID: "prom-down", URL: "http://" + closed, JSONData: `{"mode":"prometheus"}`},
		{UID: "agent-down", JSONData: fmt.Sprintf(`{"mode":"direct","agentUrls":["http://%s"]}`, closed)},
	} {
		res, err := h.CheckHealth(ctx, ds.PluginContext(plugin.ID))
		if err != nil || res.Status != backend.HealthStatusError || !strings.Contains(res.Message, closed) {
			t.Errorf("%s: %v %+v, want an error naming %s", ds.UID, err, res, closed)
		}
	}
}

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Bad settings fail the health check with a message naming the problem, and
// no secret, from secureJsonData or a URL, appears in the message.
func TestCheckHealthReportsBadSettings(t *testing.T) {
	h, ctx := start(t)
	const secret = "hunter2-secret"
	cases := []struct {
		ds   grafanahost.DataSource
		want string
	}{
		{grafanahost.DataSource{UID: "a", JSONData: `{}`}, "needs the Prometheus URL"},
		{grafanahost.DataSource{UID: "b", URL: "prometheus:9090", JSONData: `{}`}, "must start with http:// or https://"},
		{grafanahost.DataSource{UID: "c", URL: "http://admin:" + secret + "@prom:9090", JSONData: `{}`}, "contains credentials"},
		{grafanahost.DataSource{UID: "d", URL: "http://prom", JSONData: `{"prometheusAuth":"bearer"}`, Secure: map[string]string{"agentToken": secret}}, "bearer auth needs a token"},
		{grafanahost.DataSource{UID: "e", JSONData: `{"mode":"direct"}`, Secure: map[string]string{"agentToken": secret}}, "direct mode needs agents"},
		{grafanahost.DataSource{UID: "f", URL: "http://prom", JSONData: `{"mode":`}, "settings are not valid JSON"},
	}
	for _, tc := range cases {
		res, err := h.CheckHealth(ctx, tc.ds.PluginContext(plugin.ID))
		if err != nil {
			t.Fatalf("%s: %v", tc.ds.UID, err)
		}
		if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, tc.want) {
			t.Errorf("%s: got %v %q, want error containing %q", tc.ds.UID, res.Status, res.Message, tc.want)
		}
		if strings.Contains(res.Message, secret) {
			t.Errorf("%s: message echoes a secret: %q", tc.ds.UID, res.Message)
		}
	}
	if logs := h.Logs(); strings.Contains(logs, secret) {
		t.Errorf("plugin log contains a secret:\n%s", logs)
	}
}

// When Grafana saves new settings (same uid, newer Updated), the plugin answers
// from the new settings.
func TestCheckHealthFollowsSettingsChanges(t *testing.T) {
	h, ctx := start(t)
	_, direct := startAgent(t)
	ds := grafanahost.DataSource{UID: direct.UID, JSONData: `{}`}
	pCtx := ds.PluginContext(plugin.ID)
	res, err := h.CheckHealth(ctx, pCtx)
	if err != nil || res.Status != backend.HealthStatusError {
		t.Fatalf("before the fix: %v %+v", err, res)
	}
	pCtx = direct.PluginContext(plugin.ID)
	pCtx.DataSourceInstanceSettings.Updated = time.Now().Add(time.Minute)
	res, err = h.CheckHealth(ctx, pCtx)
	if err != nil || res.Status != backend.HealthStatusOk {
		t.Fatalf("after the fix: %v %+v", err, res)
	}
}

// Each query gets its own answer keyed by refId: a good one gets frames, a
// bad one fails alone with a message saying why (unknown type, hostile
// group-by, malformed JSON, no or inverted or huge time range).
func TestQueryDataAnswersEachQuery(t *testing.T) {
	h, ctx := start(t)
	_, direct := startAgent(t)
	now := time.Now()
	q := func(refID, js string) backend.DataQuery {
		return backend.DataQuery{RefID: refID, JSON: []byte(js), TimeRange: backend.TimeRange{From: now.Add(-5 * time.Minute), To: now},
			Interval: 15 * time.Second, MaxDataPoints: 1000}
	}
	noRange := q("F", `{"queryType":"drops"}`)
	noRange.TimeRange = backend.TimeRange{}
	inverted := q("G", `{"queryType":"drops"}`)
	inverted.TimeRange = backend.TimeRange{From: now, To: now.Add(-time.Hour)}
	huge := q("H", `{"queryType":"drops"}`)
	huge.TimeRange = backend.TimeRange{From: now.Add(-5 * 365 * 24 * time.Hour), To: now}
	resp, err := h.QueryData(ctx, &backend.QueryDataRequest{
		PluginContext: direct.PluginContext(plugin.ID),
		Queries: []backend.DataQuery{
			q("A", `{"queryType":"nodes"}`),
			q("B", `{"queryType":"flows"}`),
			q("C", `{"queryType":"podDrops","groupBy":["pod) or vector(1"]}`),
			q("D", `{"queryType":`),
			q("E", `{"queryType":"drops","value":"bits"}`),
			noRange, inverted, huge,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := resp.Responses["A"]; a.Error != nil || len(a.Frames) == 0 {
		t.Fatalf("A: %v, %d frames", a.Error, len(a.Frames))
	}
	want := map[string]string{
		"B": `unknown query type "flows"`,
		"C": `cannot group by "pod) or vector(1"`,
		"D": "query is not valid JSON",
		"E": `value "bits" is not supported`,
		"F": "no time range",
		"G": "ends",
		"H": "longer than the 400 days",
	}
	if len(resp.Responses) != len(want)+1 {
		t.Fatalf("got %d responses, want %d", len(resp.Responses), len(want)+1)
	}
	for ref, msg := range want {
		r, ok := resp.Responses[ref]
		if !ok {
			t.Fatalf("no response for %s", ref)
		}
		if r.Error == nil || r.Status != http.StatusBadRequest || !strings.Contains(r.Error.Error(), msg) {
			t.Errorf("%s: got status %d error %v, want 400 %q", ref, r.Status, r.Error, msg)
		}
	}
}

// Queries against a misconfigured data source fail with the settings problem.
func TestQueryDataReportsBadSettings(t *testing.T) {
	h, ctx := start(t)
	bad := grafanahost.DataSource{UID: "bad", JSONData: `{"mode":"direct"}`}
	resp, err := h.QueryData(ctx, &backend.QueryDataRequest{
		PluginContext: bad.PluginContext(plugin.ID),
		Queries:       []backend.DataQuery{{RefID: "A", JSON: []byte(`{}`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "direct mode needs agents") {
		t.Fatalf("got %+v", r)
	}
}

func callResource(t *testing.T, h *grafanahost.Host, ctx context.Context, ds grafanahost.DataSource, path string) (int, []byte) {
	t.Helper()
	resp, err := h.CallResource(ctx, &backend.CallResourceRequest{
		PluginContext: ds.PluginContext(plugin.ID), Path: path, Method: http.MethodGet, URL: path,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Status, resp.Body
}

// Resources answer the editors and variables: node names from the agents,
// the reason catalog; unknown paths and labels are JSON 404s naming them.
func TestCallResources(t *testing.T) {
	h, ctx := start(t)
	agent, direct := startAgent(t)
	status := agent.Status(t)
	code, body := callResource(t, h, ctx, direct, "values/node")
	var nodes []string
	if code != 200 || json.Unmarshal(body, &nodes) != nil || len(nodes) != 1 || nodes[0] != status.Node {
		t.Fatalf("values/node: %d %s, want [%q]", code, body, status.Node)
	}
	code, body = callResource(t, h, ctx, direct, "reasons")
	var catalog []struct{ Reason, Meaning string }
	if code != 200 || json.Unmarshal(body, &catalog) != nil || len(catalog) < 100 {
		t.Fatalf("reasons: %d, %d entries", code, len(catalog))
	}
	for path, want := range map[string]string{"no-such-thing": "no-such-thing", "values/secret": `no values of "secret"`, "values/node?step=1": `unknown parameter "step"`} {
		code, body := callResource(t, h, ctx, direct, path)
		var e struct{ Error string }
		if code < 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, want) {
			t.Errorf("%s: got %d %s, want an error containing %q", path, code, body, want)
		}
	}
}

// Prometheus mode serves no Live channel: subscriptions are refused as not
// found, and a stream run anyway ends with an error instead of hanging.
func TestStreamsNeedDirectMode(t *testing.T) {
	h, ctx := start(t)
	pCtx := promDS.PluginContext(plugin.ID)
	sub, err := h.SubscribeStream(ctx, &backend.SubscribeStreamRequest{PluginContext: pCtx, Path: "events/e30"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != backend.SubscribeStreamStatusNotFound {
		t.Fatalf("subscribe status %v, want not found", sub.Status)
	}
	err = h.RunStream(ctx, &backend.RunStreamRequest{PluginContext: pCtx, Path: "events/e30"}, func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "need direct mode") {
		t.Fatalf("RunStream error = %v", err)
	}
}

// Direct mode through the plugin answers every query type with frames from
// a real agent, except promql, which needs Prometheus and says so; the
// events query points its frame at the live channel of this data source.
func TestDirectModeAnswersEveryQueryType(t *testing.T) {
	h, ctx := start(t)
	_, direct := startAgent(t)
	now := time.Now()
	for _, qt := range models.QueryTypes {
		resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: direct.PluginContext(plugin.ID), Queries: []backend.DataQuery{{
			RefID: "A", TimeRange: backend.TimeRange{From: now.Add(-5 * time.Minute), To: now}, Interval: time.Second, MaxDataPoints: 1000,
			JSON: []byte(fmt.Sprintf(`{"queryType":%q,"expr":"up"}`, qt)),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		switch {
		case qt == models.QueryPromQL:
			if r.Error == nil || !strings.Contains(r.Error.Error(), "need prometheus mode") {
				t.Errorf("promql in direct mode: %v", r.Error)
			}
		case r.Error != nil || len(r.Frames) == 0:
			t.Errorf("%s: error %v, %d frames", qt, r.Error, len(r.Frames))
		case qt == models.QueryEvents:
			if m := r.Frames[0].Meta; m == nil || !strings.HasPrefix(m.Channel, "ds/"+direct.UID+"/events/") {
				t.Errorf("events frame meta %+v, want a channel of this data source", m)
			}
		}
	}
}
