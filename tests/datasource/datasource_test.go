// Package datasource_test drives the built gpx_netlens binary through the
// Grafana test host, as Grafana would.
package datasource_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/plugin"
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

// "Save & test" on valid settings succeeds and says exactly what was checked.
func TestCheckHealthValidSettings(t *testing.T) {
	h, ctx := start(t)
	cases := map[string]grafanahost.DataSource{
		"prometheus": promDS,
		"direct":     {UID: "netlens-direct", JSONData: `{"mode":"direct","agentUrls":["http://10.0.0.4:10095"],"agentDnsName":"netlens-agent.netlens.svc"}`},
	}
	for name, ds := range cases {
		res, err := h.CheckHealth(ctx, ds.PluginContext(plugin.ID))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Status != backend.HealthStatusOk {
			t.Fatalf("%s: status %v: %s", name, res.Status, res.Message)
		}
		for _, want := range []string{"Settings are valid", "mode " + name, "Connectivity was not tested"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("%s: message %q lacks %q", name, res.Message, want)
			}
		}
	}
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
	ds := grafanahost.DataSource{UID: "changing", JSONData: `{}`}
	pCtx := ds.PluginContext(plugin.ID)
	res, err := h.CheckHealth(ctx, pCtx)
	if err != nil || res.Status != backend.HealthStatusError {
		t.Fatalf("before the fix: %v %+v", err, res)
	}
	ds.URL = "http://prometheus:9090"
	pCtx = ds.PluginContext(plugin.ID)
	pCtx.DataSourceInstanceSettings.Updated = time.Now().Add(time.Minute)
	res, err = h.CheckHealth(ctx, pCtx)
	if err != nil || res.Status != backend.HealthStatusOk {
		t.Fatalf("after the fix: %v %+v", err, res)
	}
}

// Each query gets its own answer keyed by refId; a bad query fails alone with
// a message saying why, and query types not built yet say so plainly.
func TestQueryDataAnswersEachQuery(t *testing.T) {
	h, ctx := start(t)
	now := time.Now()
	q := func(refID, js string) backend.DataQuery {
		return backend.DataQuery{RefID: refID, JSON: []byte(js), TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now},
			Interval: 15 * time.Second, MaxDataPoints: 1000}
	}
	resp, err := h.QueryData(ctx, &backend.QueryDataRequest{
		PluginContext: promDS.PluginContext(plugin.ID),
		Queries: []backend.DataQuery{
			q("A", `{"queryType":"drops","groupBy":["reason"]}`),
			q("B", `{"queryType":"flows"}`),
			q("C", `{"queryType":"podDrops","groupBy":["pod) or vector(1"]}`),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status backend.Status
		msg    string
	}{
		"A": {http.StatusNotImplemented, `query type "drops" is not implemented yet`},
		"B": {http.StatusBadRequest, `unknown query type "flows"`},
		"C": {http.StatusBadRequest, `cannot group by "pod) or vector(1"`},
	}
	if len(resp.Responses) != len(want) {
		t.Fatalf("got %d responses, want %d", len(resp.Responses), len(want))
	}
	for ref, w := range want {
		r, ok := resp.Responses[ref]
		if !ok {
			t.Fatalf("no response for %s", ref)
		}
		if r.Error == nil || r.Status != w.status || !strings.Contains(r.Error.Error(), w.msg) {
			t.Errorf("%s: got status %d error %v, want %d %q", ref, r.Status, r.Error, w.status, w.msg)
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

// Unknown resources are a JSON 404 naming the path.
func TestCallResourceUnknownPath(t *testing.T) {
	h, ctx := start(t)
	resp, err := h.CallResource(ctx, &backend.CallResourceRequest{
		PluginContext: promDS.PluginContext(plugin.ID),
		Path:          "no-such-thing", Method: http.MethodGet, URL: "no-such-thing",
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	if resp.Status != http.StatusNotFound || json.Unmarshal(resp.Body, &body) != nil || !strings.Contains(body.Error, "no-such-thing") {
		t.Fatalf("got %d %s", resp.Status, resp.Body)
	}
}

// No Live channel is served yet: subscriptions are refused as not found, and a
// stream run anyway ends with an error instead of hanging.
func TestStreamsRefuseUnknownChannels(t *testing.T) {
	h, ctx := start(t)
	pCtx := promDS.PluginContext(plugin.ID)
	sub, err := h.SubscribeStream(ctx, &backend.SubscribeStreamRequest{PluginContext: pCtx, Path: "events/all"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != backend.SubscribeStreamStatusNotFound {
		t.Fatalf("subscribe status %v, want not found", sub.Status)
	}
	err = h.RunStream(ctx, &backend.RunStreamRequest{PluginContext: pCtx, Path: "events/all"}, func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `unknown stream "events/all"`) {
		t.Fatalf("RunStream error = %v", err)
	}
}
