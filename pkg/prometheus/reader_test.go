package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

const secret = "s3cr3t-P@ss/word"

// fakeProm records requests and answers with canned JSON per path.
type fakeProm struct {
	mu       sync.Mutex
	requests []*http.Request
	forms    []url.Values
	answer   func(w http.ResponseWriter, r *http.Request, form url.Values)
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.forms = append(f.forms, r.Form)
	f.mu.Unlock()
	f.answer(w, r, r.Form)
}

func (f *fakeProm) last() (*http.Request, url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1], f.forms[len(f.forms)-1]
}

func serve(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, form url.Values)) (*fakeProm, string) {
	t.Helper()
	f := &fakeProm{answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func loadSettings(t *testing.T, u, jsonData string, secure map[string]string, user string) *models.Settings {
	t.Helper()
	is := backend.DataSourceInstanceSettings{URL: u, JSONData: []byte(jsonData), DecryptedSecureJSONData: secure, BasicAuthUser: user}
	s, err := models.LoadSettings(is)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newReader(t *testing.T, u, jsonData string) *Reader {
	t.Helper()
	r, err := New(loadSettings(t, u, jsonData, nil, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeJSON(w http.ResponseWriter, code int, v string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(v))
}

var testRange = query.Range{From: time.Unix(1_700_000_000, 0), To: time.Unix(1_700_000_600, 0), Interval: 15 * time.Second, MaxDataPoints: 1000}

const matrix2 = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"node":"n1","reason":"NETFILTER_DROP"},"values":[[1700000000,"1"],[1700000015,"2.5"]]},
 {"metric":{"node":"n2","reason":"NO_SOCKET"},"values":[[1700000000,"3"]]}]},
 "warnings":["too many samples, results truncated"],"infos":["metric might not be a counter"]}`

// A drops query: POST to the range API under the configured path, the
// PromQL as the query parameter, aligned start/end and the step; frames are
// TimeSeriesMulti, one per series, with labels, display names, units, the
// executed PromQL and Prometheus warnings and infos as notices.
func TestQueryDropsFrames(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { writeJSON(w, 200, matrix2) })
	rd := newReader(t, u+"/prom/", `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["node","reason"]}`), testRange)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	req, form := f.last()
	if req.Method != http.MethodPost || req.URL.Path != "/prom/api/v1/query_range" {
		t.Fatalf("request %s %s", req.Method, req.URL.Path)
	}
	wantQ := `sum by (node, reason) (rate(netlens_drop_packets_total[60s]))`
	if form.Get("query") != wantQ || form.Get("start") != "1699999995" || form.Get("end") != "1700000595" || form.Get("step") != "15" {
		t.Fatalf("form %v", form)
	}
	if len(resp.Frames) != 2 {
		t.Fatalf("%d frames", len(resp.Frames))
	}
	f0 := resp.Frames[0]
	if f0.Meta.Type != data.FrameTypeTimeSeriesMulti || f0.Meta.ExecutedQueryString != wantQ {
		t.Fatalf("meta %+v", f0.Meta)
	}
	vf := f0.Fields[1]
	if vf.Labels["node"] != "n1" || vf.Labels["reason"] != "NETFILTER_DROP" || vf.Config.DisplayNameFromDS != "n1 NETFILTER_DROP" || vf.Config.Unit != "pps" {
		t.Fatalf("value field %+v %+v", vf.Labels, vf.Config)
	}
	if f0.Rows() != 2 || vf.At(1).(float64) != 2.5 || !f0.Fields[0].At(1).(time.Time).Equal(time.Unix(1_700_000_015, 0)) {
		t.Fatalf("values %v", vf)
	}
	var notices []string
	for _, n := range f0.Meta.Notices {
		notices = append(notices, n.Severity.String()+": "+n.Text)
	}
	want := []string{"warning: Prometheus warning: too many samples, results truncated", "info: Prometheus info: metric might not be a counter"}
	if strings.Join(notices, "|") != strings.Join(want, "|") {
		t.Fatalf("notices %q", notices)
	}
	if resp.Frames[1].Meta.Notices != nil {
		t.Fatal("notices repeated on every frame")
	}
}

func TestQueryUnitsAndLegend(t *testing.T) {
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { writeJSON(w, 200, matrix2) })
	rd := newReader(t, u, `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["node","reason"],"value":"bytes","legendFormat":"{{ node }}: {{reason}} {{missing}}!"}`), testRange)
	vf := resp.Frames[0].Fields[1]
	if vf.Config.Unit != "Bps" || vf.Config.DisplayNameFromDS != "n1: NETFILTER_DROP !" {
		t.Fatalf("config %+v", vf.Config)
	}
	resp = rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["node"],"rate":false}`), testRange)
	if u := resp.Frames[0].Fields[1].Config.Unit; u != "short" {
		t.Fatalf("unit %q", u)
	}
	resp = rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","value":"bytes","rate":false}`), testRange)
	if u := resp.Frames[0].Fields[1].Config.Unit; u != "decbytes" {
		t.Fatalf("unit %q", u)
	}
}

// Retina series come back under netlens label names, so legends and
// dashboards work with both schemas.
func TestRetinaLabelsRenamed(t *testing.T) {
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"instance":"aks-1","podname":"web-0","workload_name":"web"},"values":[[1700000000,"4"]]}]}}`)
	})
	rd := newReader(t, u, `{"schema":"retina"}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"podDrops","groupBy":["node","pod","workload"]}`), testRange)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	vf := resp.Frames[0].Fields[1]
	if vf.Labels["node"] != "aks-1" || vf.Labels["pod"] != "web-0" || vf.Labels["workload"] != "web" || vf.Config.DisplayNameFromDS != "aks-1 web-0 web" {
		t.Fatalf("labels %v name %q", vf.Labels, vf.Config.DisplayNameFromDS)
	}
	if len(resp.Frames[0].Meta.Notices) == 0 || !strings.Contains(resp.Frames[0].Meta.Notices[0].Text, "adv_drop_count") {
		t.Fatalf("notices %+v", resp.Frames[0].Meta.Notices)
	}
}

// An empty answer is one empty frame carrying the executed query: alert
// rules see "no data", panels still show the query and notices.
func TestQueryEmptyResult(t *testing.T) {
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	})
	rd := newReader(t, u, `{"schema":"retina"}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["location"]}`), testRange)
	if resp.Error != nil || len(resp.Frames) != 1 || resp.Frames[0].Rows() != 0 {
		t.Fatalf("%+v", resp)
	}
	m := resp.Frames[0].Meta
	if m.ExecutedQueryString == "" || len(m.Notices) != 1 || !strings.Contains(m.Notices[0].Text, `no "location" label in the retina schema`) {
		t.Fatalf("meta %+v", m)
	}
}

// A raw PromQL query sends only the expression (with Grafana's interval
// variables replaced) as the query parameter to the configured server; series
// are named by legendFormat or metric{labels}.
func TestQueryPromQL(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"netlens"},"values":[[1700000000,"1"]]}]}}`)
	})
	rd := newReader(t, u, `{}`)
	expr := `up{job="netlens"} or rate(x[$__rate_interval]) # http://evil.example/ @ /api/v1/admin`
	resp := rd.Query(context.Background(), models.Query{QueryType: models.QueryPromQL, Expr: expr, Rate: boolp(true)}, testRange)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	req, form := f.last()
	if req.URL.Path != "/api/v1/query_range" || req.Host != strings.TrimPrefix(u, "http://") {
		t.Fatalf("request went to %s %s", req.Host, req.URL.Path)
	}
	if form.Get("query") != strings.Replace(expr, "$__rate_interval", "60s", 1) || len(form) != 4 {
		t.Fatalf("form %v", form)
	}
	if n := resp.Frames[0].Fields[1].Config.DisplayNameFromDS; n != `up{job="netlens"}` {
		t.Fatalf("name %q", n)
	}
	if resp.Frames[0].Fields[1].Labels["__name__"] != "up" {
		t.Fatal("raw labels not kept")
	}
	resp = rd.Query(context.Background(), models.Query{QueryType: models.QueryPromQL, Expr: "up", LegendFormat: "{{job}}", Rate: boolp(true)}, testRange)
	if n := resp.Frames[0].Fields[1].Config.DisplayNameFromDS; n != "netlens" {
		t.Fatalf("name %q", n)
	}
}

// Prometheus errors become a DataResponse error with a status and Prometheus's message.
func TestQueryPrometheusErrors(t *testing.T) {
	cases := []struct {
		code   int
		body   string
		status backend.Status
		want   string
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}`, backend.StatusBadRequest, `Prometheus error (bad_data, HTTP 400): 1:5: parse error`},
		{422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`, backend.StatusBadRequest, "execution"},
		{503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`, backend.StatusTimeout, "timed out"},
		{500, `<html>oops</html>`, backend.StatusBadGateway, "not the Prometheus HTTP API"},
		{404, `404 page not found`, backend.StatusNotFound, "is the URL the Prometheus server's base URL?"},
		{401, `unauthorized`, backend.StatusUnauthorized, "refused the credentials (HTTP 401 Unauthorized, none auth)"},
		{403, `{"error":"forbidden"}`, backend.StatusForbidden, "denied access (HTTP 403 Forbidden"},
	}
	for _, c := range cases {
		_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { writeJSON(w, c.code, c.body) })
		rd := newReader(t, u, `{}`)
		resp := rd.Query(context.Background(), models.Query{QueryType: models.QueryPromQL, Expr: "up{", Rate: boolp(true)}, testRange)
		if resp.Error == nil || resp.Status != c.status || !strings.Contains(resp.Error.Error(), c.want) || !strings.Contains(resp.Error.Error(), "Prometheus") {
			t.Errorf("%d: got %d %v, want %d %q", c.code, resp.Status, resp.Error, c.status, c.want)
		}
	}
}

// A redirect is reported, not followed: requests never leave the configured server.
func TestRedirectNotFollowed(t *testing.T) {
	hit := false
	_, other := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { hit = true })
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		http.Redirect(w, r, other+"/api/v1/query_range", http.StatusTemporaryRedirect)
	})
	rd := newReader(t, u, `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops"}`), testRange)
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "redirects (HTTP 307") || hit {
		t.Fatalf("%v (other server hit: %v)", resp.Error, hit)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	rd := newReader(t, u, `{"timeoutSeconds":1}`)
	start := time.Now()
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops"}`), testRange)
	if resp.Error == nil || resp.Status != backend.StatusTimeout || !strings.Contains(resp.Error.Error(), "did not answer within 1s") || time.Since(start) > 5*time.Second {
		t.Fatalf("%d %v after %v", resp.Status, resp.Error, time.Since(start))
	}
}

type fakeCred struct{ calls int }

func (c *fakeCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.calls++
	if len(o.Scopes) != 1 || o.Scopes[0] != AzureScope {
		return azcore.AccessToken{}, fmt.Errorf("wrong scopes %v", o.Scopes)
	}
	return azcore.AccessToken{Token: "azure-token-" + secret, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type failingCred struct{}

func (failingCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, fmt.Errorf("AADSTS7000215: Invalid client secret provided %s", secret)
}

// Each auth type sends its Authorization header.
func TestAuthHeaders(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"2"]}]}}`)
	})
	cred := &fakeCred{}
	cases := []struct {
		name     string
		jsonData string
		secure   map[string]string
		user     string
		opts     Options
		want     string
	}{
		{"none", `{}`, nil, "", Options{}, ""},
		{"basic", `{"prometheusAuth":"basic"}`, map[string]string{models.SecureBasicAuthPassword: secret}, "grafana", Options{}, "Basic Z3JhZmFuYTpzM2NyM3QtUEBzcy93b3Jk"},
		{"bearer", `{"prometheusAuth":"bearer"}`, map[string]string{models.SecureBearerToken: secret}, "", Options{}, "Bearer " + secret},
		{"azure", `{"prometheusAuth":"azure","azureCredentials":{"authType":"msi"}}`, nil, "", Options{AzureCredential: cred}, "Bearer azure-token-" + secret},
	}
	for _, c := range cases {
		rd, err := New(loadSettings(t, u, c.jsonData, c.secure, c.user), c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res := rd.Health(context.Background())
		if res.Status != backend.HealthStatusOk {
			t.Fatalf("%s: %s", c.name, res.Message)
		}
		req, _ := f.last()
		if got := req.Header.Get("Authorization"); got != c.want {
			t.Errorf("%s: Authorization %q, want %q", c.name, got, c.want)
		}
	}
	if cred.calls != 1 {
		t.Fatalf("azure credential called %d times", cred.calls)
	}
}

// The Azure credentials are built from settings without contacting Azure.
func TestAzureCredentialFromSettings(t *testing.T) {
	for _, js := range []string{
		`{"prometheusAuth":"azure","azureCredentials":{"authType":"clientsecret","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","clientId":"00000000-0000-0000-0000-000000000001"}}`,
		`{"prometheusAuth":"azure","azureCredentials":{"authType":"msi"}}`,
		`{"prometheusAuth":"azure","azureCredentials":{"authType":"msi","clientId":"00000000-0000-0000-0000-000000000002"}}`,
	} {
		if _, err := New(loadSettings(t, "https://x.prometheus.monitor.azure.com", js, map[string]string{models.SecureAzureClientSecret: secret}, ""), Options{}); err != nil {
			t.Errorf("%s: %v", js, err)
		}
	}
}

// No secret appears in errors, notices or health messages, even when the
// server or Azure AD echoes it.
func TestSecretsRedacted(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		auth := r.Header.Get("Authorization")
		switch {
		case strings.Contains(r.URL.Path, "label"):
			writeJSON(w, 401, "bad credentials: "+auth+" "+secret)
		case strings.HasSuffix(r.URL.Path, "query"):
			writeJSON(w, 403, "denied for "+auth)
		default:
			writeJSON(w, 400, `{"status":"error","errorType":"bad_data","error":"cannot parse `+auth+` `+url.QueryEscape(secret)+`"}`)
		}
	}
	_, u := serve(t, echo)
	for _, s := range []*models.Settings{
		loadSettings(t, u, `{"prometheusAuth":"basic"}`, map[string]string{models.SecureBasicAuthPassword: secret}, "grafana"),
		loadSettings(t, u, `{"prometheusAuth":"bearer"}`, map[string]string{models.SecureBearerToken: secret}, ""),
	} {
		rd, err := New(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		msgs := []string{rd.Health(context.Background()).Message}
		resp := rd.Query(context.Background(), models.Query{QueryType: models.QueryPromQL, Expr: "up", Rate: boolp(true)}, testRange)
		msgs = append(msgs, resp.Error.Error())
		_, err = rd.Values(context.Background(), query.LabelNode, models.Filters{}, testRange)
		msgs = append(msgs, err.Error())
		for _, m := range msgs {
			for _, leak := range []string{secret, url.QueryEscape(secret), "Z3JhZmFuYTpzM2NyM3QtUEBzcy93b3Jk"} {
				if strings.Contains(m, leak) {
					t.Errorf("%s auth: message leaks a secret: %s", s.PrometheusAuth, m)
				}
			}
			if !strings.Contains(m, "[redacted]") {
				t.Errorf("%s auth: expected a redaction in %s", s.PrometheusAuth, m)
			}
		}
	}
	// Azure AD errors too.
	rd, err := New(loadSettings(t, u, `{"prometheusAuth":"azure","azureCredentials":{"authType":"clientsecret","tenantId":"t","clientId":"c"}}`,
		map[string]string{models.SecureAzureClientSecret: secret}, ""), Options{AzureCredential: failingCred{}})
	if err != nil {
		t.Fatal(err)
	}
	res := rd.Health(context.Background())
	if res.Status != backend.HealthStatusError || strings.Contains(res.Message, secret) || !strings.Contains(res.Message, "Azure AD token") {
		t.Fatalf("%s", res.Message)
	}
}

func TestHealth(t *testing.T) {
	vec := func(n string) string {
		return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"` + n + `"]}]}}`
	}
	empty := `{"status":"success","data":{"resultType":"vector","result":[]}}`
	cases := []struct {
		name, jsonData, body string
		code                 int
		status               backend.HealthStatus
		want                 []string
		query                string
	}{
		{"ok", `{}`, vec("3"), 200, backend.HealthStatusOk, []string{"is reachable (none auth): 3 agents reporting netlens metrics"}, "count(netlens_agent_info)"},
		{"ok retina", `{"schema":"retina"}`, vec("1"), 200, backend.HealthStatusOk, []string{"1 node reporting retina metrics"}, healthExpr(models.SchemaRetina)},
		{"no metrics", `{}`, empty, 200, backend.HealthStatusError, []string{"is reachable", "no netlens metrics were found", "scrapes the netlens agents"}, ""},
		{"no retina metrics", `{"schema":"retina"}`, empty, 200, backend.HealthStatusError, []string{"no AKS Network Observability metrics"}, ""},
		{"auth", `{}`, "no", 401, backend.HealthStatusError, []string{"refused the credentials (HTTP 401"}, ""},
		{"not prometheus", `{}`, "<html>Grafana</html>", 200, backend.HealthStatusError, []string{"not the Prometheus HTTP API"}, ""},
	}
	for _, c := range cases {
		f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { writeJSON(w, c.code, c.body) })
		res := newReader(t, u, c.jsonData).Health(context.Background())
		if res.Status != c.status {
			t.Errorf("%s: status %v: %s", c.name, res.Status, res.Message)
		}
		for _, w := range c.want {
			if !strings.Contains(res.Message, w) {
				t.Errorf("%s: %q lacks %q", c.name, res.Message, w)
			}
		}
		if _, form := f.last(); c.query != "" && form.Get("query") != c.query {
			t.Errorf("%s: query %q", c.name, form.Get("query"))
		}
	}
	// Unreachable: the address and the error.
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	res := newReader(t, addr, `{}`).Health(context.Background())
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "cannot reach Prometheus at "+addr) || !strings.Contains(res.Message, "connection refused") {
		t.Fatalf("%s", res.Message)
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	s := loadSettings(t, "http://prom:9090", `{"scrapeIntervalSeconds":-1}`, nil, "")
	if _, err := New(s, Options{}); err == nil || !strings.Contains(err.Error(), "scrape interval") {
		t.Fatalf("err = %v", err)
	}
	s.PrometheusURL = "http://u:" + secret + "@prom"
	if _, err := New(s, Options{}); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v", err)
	}
}

// Values asks the label values API with escaped match[] selectors.
func TestValues(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":["b","a","b"]}`)
	})
	rd := newReader(t, u, `{}`)
	got, err := rd.Values(context.Background(), query.LabelPod, models.Filters{Namespace: []string{`x"}`}, Interface: []string{"eth0"}}, testRange)
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Fatalf("%v %v", got, err)
	}
	req, form := f.last()
	if req.Method != http.MethodGet || req.URL.Path != "/api/v1/label/pod/values" {
		t.Fatalf("%s %s", req.Method, req.URL.Path)
	}
	if m := form["match[]"]; len(m) != 1 || m[0] != `netlens_pod_drop_packets_total{namespace="x\"}", interface="eth0"}` && m[0] != `netlens_pod_drop_packets_total{namespace="x\"}"}` {
		t.Fatalf("match[] %q", m)
	}
	if form.Get("start") != "1700000000" || form.Get("end") != "1700000600" {
		t.Fatalf("form %v", form)
	}
	// Node values come from agent info, or from pod drops when filtering by namespace.
	_, _ = rd.Values(context.Background(), query.LabelNode, models.Filters{}, testRange)
	if _, form := f.last(); strings.Join(form["match[]"], " ") != "netlens_agent_info netlens_pod_drop_packets_total" {
		t.Fatalf("match[] %q", form["match[]"])
	}
	_, _ = rd.Values(context.Background(), query.LabelNode, models.Filters{Namespace: []string{"a", "b"}}, testRange)
	if _, form := f.last(); strings.Join(form["match[]"], " ") != `netlens_pod_drop_packets_total{namespace=~"a|b"}` {
		t.Fatalf("match[] %q", form["match[]"])
	}
	// Retina names.
	rr := newReader(t, u, `{"schema":"retina"}`)
	for label, path := range map[query.Label]string{query.LabelNode: "instance", query.LabelPod: "podname", query.LabelInterface: "interface_name", query.LabelReason: "reason", query.LabelNamespace: "namespace"} {
		if _, err := rr.Values(context.Background(), label, models.Filters{Node: []string{"aks-1"}}, testRange); err != nil {
			t.Fatal(err)
		}
		req, form := f.last()
		if req.URL.Path != "/api/v1/label/"+path+"/values" || !strings.Contains(form["match[]"][0], `instance="aks-1"`) {
			t.Errorf("%s: %s %q", label, req.URL.Path, form["match[]"])
		}
	}
	if _, err := rd.Values(context.Background(), query.Label("__name__"), models.Filters{}, testRange); err == nil {
		t.Fatal("unknown label accepted")
	}
}

func TestNodesTable(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, form url.Values) {
		if strings.Contains(form.Get("query"), "collector_up") {
			writeJSON(w, 200, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"node":"n2","collector":"nic"},"value":[1,"0"]},{"metric":{"node":"n2","collector":"drops"},"value":[1,"0"]}]}}`)
			return
		}
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"__name__":"netlens_agent_info","node":"n2","version":"0.1.0","kernel":"6.1.0","drop_source":"tp_btf"},"value":[1,"1"]},
			{"metric":{"__name__":"netlens_agent_info","node":"n1","version":"0.1.0","kernel":"5.15.0","drop_source":"tracepoint"},"value":[1,"1"]}]}}`)
	})
	rd := newReader(t, u, `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"nodes","filters":{"node":["n1","n2"]}}`), testRange)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	fr := resp.Frames[0]
	if fr.Meta.Type != data.FrameTypeTable || fr.Rows() != 2 {
		t.Fatalf("%+v", fr)
	}
	row1 := []string{}
	for _, fl := range fr.Fields {
		row1 = append(row1, fl.Name+"="+fl.At(1).(string))
	}
	if strings.Join(row1, " ") != "node=n2 cluster= version=0.1.0 kernel=6.1.0 drop_source=tp_btf collectors_down=drops, nic" {
		t.Fatalf("row %v", row1)
	}
	_, form := f.last()
	if form.Get("time") != "1700000600" {
		t.Fatalf("time %q", form.Get("time"))
	}
}

func TestEventsNeedDirectMode(t *testing.T) {
	rd := newReader(t, "http://127.0.0.1:1", `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"events"}`), testRange)
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "direct mode") {
		t.Fatal(resp.Error)
	}
}

// Frames survive Grafana's wire encoding.
func TestFramesMarshal(t *testing.T) {
	_, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { writeJSON(w, 200, matrix2) })
	resp := newReader(t, u, `{}`).Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["reason"]}`), testRange)
	if _, err := json.Marshal(resp); err != nil {
		t.Fatal(err)
	}
	for _, f := range resp.Frames {
		if _, err := f.MarshalArrow(); err != nil {
			t.Fatal(err)
		}
	}
}
