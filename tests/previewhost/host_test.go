package previewhost

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

// These tests run the host on the built plugin (npm run build, mage -v; as
// scripts/test.sh does before the Go tests) and the built backend binary.

func distDir(t *testing.T) string {
	t.Helper()
	dist := filepath.Join(testenv.RepoRoot(t), "dist")
	if _, err := os.Stat(filepath.Join(dist, "plugin.json")); err != nil {
		t.Fatalf("dist/ is not built (npm run build and mage -v; scripts/test.sh does before the Go tests): %v", err)
	}
	return dist
}

// start runs a host on dist with the data sources given and returns its URL.
func start(t *testing.T, dss ...DataSource) (*Server, string) {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	s, err := New(Config{Dist: distDir(t), Backend: os.Getenv("NETLENS_DATASOURCE_BINARY"), DataSources: dss, PluginLog: logs})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	return s, srv.URL
}

// call makes a request with a JSON body (nil for none) and decodes the JSON
// answer into out (when not nil); it returns the status.
func call(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// The app's files and the nested plugins' files are served as Grafana
// serves them: under the app's id (nested ones in their folders) and under
// each plugin's own id; nothing outside dist, and no backend binary.
func TestServesThePluginsFiles(t *testing.T) {
	dist := distDir(t)
	_, base := start(t)
	for path, file := range map[string]string{
		"/public/plugins/netlens-network-app/module.js":            "module.js",
		"/public/plugins/netlens-network-app/plugin.json":          "plugin.json",
		"/public/plugins/netlens-network-app/datasource/module.js": "datasource/module.js",
		"/public/plugins/netlens-network-datasource/module.js":     "datasource/module.js",
		"/public/plugins/netlens-reasons-panel/module.js":          "panels/reasons/module.js",
	} {
		want, err := os.ReadFile(filepath.Join(dist, file))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: %d, %d bytes; want %s (%d bytes)", path, resp.StatusCode, len(got), file, len(want))
		}
	}
	bins, _ := filepath.Glob(filepath.Join(dist, "datasource", "gpx_*"))
	if len(bins) == 0 {
		t.Fatal("no backend binary in dist/datasource")
	}
	for _, path := range []string{
		"/public/plugins/netlens-network-datasource/" + filepath.Base(bins[0]),
		"/public/plugins/netlens-network-app/%2e%2e/go.mod",
		"/public/plugins/netlens-network-app/..%2fgo.mod",
		"/public/plugins/no-such-app/module.js",
		"/public/plugins/netlens-network-app/",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || bytes.Contains(body, []byte("module github.com/netlens/netlens")) {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

// Plugin settings read and write as in Grafana: the app starts disabled
// (Config.AppEnabled false), is enabled and pinned by POST, keeps jsonData,
// and names the secure fields that are set without their values.
func TestPluginSettings(t *testing.T) {
	_, base := start(t)
	url := base + "/api/plugins/netlens-network-app/settings"
	var st map[string]any
	if code := call(t, "GET", url, nil, &st); code != http.StatusOK {
		t.Fatalf("GET: %d", code)
	}
	if st["enabled"] != false || st["type"] != "app" || st["module"] != "public/plugins/netlens-network-app/module.js" ||
		st["baseUrl"] != "public/plugins/netlens-network-app" || st["defaultNavUrl"] != "/a/netlens-network-app/overview" {
		t.Fatalf("settings %v", st)
	}
	logos := st["info"].(map[string]any)["logos"].(map[string]any)
	if logos["small"] != "public/plugins/netlens-network-app/img/logo.svg" {
		t.Errorf("logos %v", logos)
	}
	var msg map[string]string
	if code := call(t, "POST", url, map[string]any{"enabled": true, "pinned": true, "jsonData": map[string]any{"k": "v"},
		"secureJsonData": map[string]string{"apiKey": "s3cret-value"}}, &msg); code != http.StatusOK || msg["message"] != "Plugin settings updated" {
		t.Fatalf("POST: %d %v", code, msg)
	}
	var raw json.RawMessage
	call(t, "GET", url, nil, &raw)
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st["enabled"] != true || st["pinned"] != true || st["jsonData"].(map[string]any)["k"] != "v" ||
		st["secureJsonFields"].(map[string]any)["apiKey"] != true || strings.Contains(string(raw), "s3cret-value") {
		t.Fatalf("after POST: %s", raw)
	}
	var nested map[string]any
	call(t, "GET", base+"/api/plugins/netlens-network-datasource/settings", nil, &nested)
	if nested["baseUrl"] != "public/plugins/netlens-network-app/datasource" || nested["module"] != "public/plugins/netlens-network-app/datasource/module.js" {
		t.Errorf("nested data source settings %v", nested)
	}
	if code := call(t, "GET", base+"/api/plugins/grafana-piechart-panel/settings", nil, &msg); code != http.StatusNotFound {
		t.Errorf("unknown plugin: %d", code)
	}
}

// Data sources come from the repository's provisioning file, list and read
// in Grafana's shapes, and save as Grafana saves them: secrets kept and
// never answered, a stale version refused.
func TestDataSources(t *testing.T) {
	t.Setenv("NETLENS_AGENT_TOKEN", "t0ken-from-env")
	dss, err := LoadProvisioning(filepath.Join(testenv.RepoRoot(t), "provisioning", "datasources", "netlens.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dss) != 3 || dss[2].UID != "netlens-direct" || dss[2].JSONData["mode"] != "direct" {
		t.Fatalf("provisioned %+v", dss)
	}
	dss[2].SecureJSONData = map[string]string{"agentToken": "$NETLENS_AGENT_TOKEN"}
	_, base := start(t, dss...)

	var list []map[string]any
	if code := call(t, "GET", base+"/api/datasources", nil, &list); code != http.StatusOK || len(list) != 3 {
		t.Fatalf("list: %d %v", code, list)
	}
	if list[1]["uid"] != "netlens-prometheus" || list[1]["type"] != "netlens-network-datasource" || list[0]["isDefault"] != true {
		t.Errorf("list %v", list)
	}
	var raw json.RawMessage
	if code := call(t, "GET", base+"/api/datasources/uid/netlens-direct", nil, &raw); code != http.StatusOK {
		t.Fatalf("get: %d", code)
	}
	var ds map[string]any
	_ = json.Unmarshal(raw, &ds)
	if ds["secureJsonFields"].(map[string]any)["agentToken"] != true || strings.Contains(string(raw), "t0ken") || ds["version"] != 1.0 {
		t.Fatalf("get %s", raw)
	}

	// Save as the config editor does: the settings it shows, a new secret.
	ds["jsonData"].(map[string]any)["timeoutSeconds"] = 7
	ds["secureJsonData"] = map[string]string{"other": "x"}
	var saved map[string]any
	if code := call(t, "PUT", base+"/api/datasources/uid/netlens-direct", ds, &saved); code != http.StatusOK || saved["message"] != "Datasource updated" {
		t.Fatalf("save: %d %v", code, saved)
	}
	got := saved["datasource"].(map[string]any)
	if got["version"] != 2.0 || got["jsonData"].(map[string]any)["timeoutSeconds"] != 7.0 ||
		got["secureJsonFields"].(map[string]any)["agentToken"] != true || got["secureJsonFields"].(map[string]any)["other"] != true {
		t.Fatalf("saved %v", got)
	}
	var msg map[string]string
	if code := call(t, "PUT", base+"/api/datasources/uid/netlens-direct", ds, &msg); code != http.StatusConflict {
		t.Errorf("stale version saved: %d %v", code, msg)
	}
	if code := call(t, "GET", base+"/api/datasources/uid/nope", nil, &msg); code != http.StatusNotFound || msg["message"] != "Data source not found" {
		t.Errorf("unknown uid: %d %v", code, msg)
	}
	var added map[string]any
	if code := call(t, "POST", base+"/api/datasources", map[string]any{"name": "Netlens 2", "type": "netlens-network-datasource", "access": "proxy"}, &added); code != http.StatusOK {
		t.Fatalf("add: %d %v", code, added)
	}
	if uid, _ := added["datasource"].(map[string]any)["uid"].(string); uid == "" {
		t.Errorf("added %v", added)
	}
	if code := call(t, "POST", base+"/api/datasources", map[string]any{"name": "Netlens 2", "type": "netlens-network-datasource"}, &msg); code != http.StatusConflict {
		t.Errorf("a second data source of the same name: %d", code)
	}
}

// Bad requests to the query API get Grafana's clear errors, not a crash;
// a data source without a backend here says so.
func TestQueryErrors(t *testing.T) {
	_, base := start(t, DataSource{UID: "prom", Name: "Prometheus", Type: "prometheus", URL: "http://127.0.0.1:1"},
		DataSource{UID: "nl", Name: "Netlens", Type: "netlens-network-datasource", JSONData: map[string]any{"mode": "direct", "agentUrls": []string{"http://127.0.0.1:1"}}})
	var msg map[string]string
	for name, c := range map[string]struct {
		body any
		code int
		want string
	}{
		"no queries":      {map[string]any{"queries": []any{}, "from": "now-1h", "to": "now"}, http.StatusBadRequest, "No queries found"},
		"bad from":        {map[string]any{"queries": []any{map[string]any{"refId": "A", "datasource": map[string]string{"uid": "nl"}}}, "from": "yesterday", "to": "now"}, http.StatusBadRequest, `"yesterday" is not epoch milliseconds`},
		"no data source":  {map[string]any{"queries": []any{map[string]any{"refId": "A"}}, "from": "now-1h", "to": "now"}, http.StatusBadRequest, "names no data source uid"},
		"unknown uid":     {map[string]any{"queries": []any{map[string]any{"refId": "A", "datasource": map[string]string{"uid": "x"}}}, "from": "now-1h", "to": "now"}, http.StatusNotFound, "Data source not found"},
		"no backend here": {map[string]any{"queries": []any{map[string]any{"refId": "A", "datasource": map[string]string{"uid": "prom"}}}, "from": "now-1h", "to": "now"}, http.StatusBadRequest, "data source Prometheus is of type prometheus"},
	} {
		msg = nil
		if code := call(t, "POST", base+"/api/ds/query", c.body, &msg); code != c.code || !strings.Contains(msg["message"], c.want) {
			t.Errorf("%s: %d %q, want %d %q", name, code, msg["message"], c.code, c.want)
		}
	}
	// The backend's own error, per query: an unknown query type.
	var res struct {
		Results map[string]struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
		} `json:"results"`
	}
	code := call(t, "POST", base+"/api/ds/query", map[string]any{"queries": []any{map[string]any{"refId": "A", "queryType": "frobnicate", "datasource": map[string]string{"uid": "nl"}}}, "from": "now-1h", "to": "now"}, &res)
	if code != http.StatusBadRequest || res.Results["A"].Status != http.StatusBadRequest || !strings.Contains(res.Results["A"].Error, "frobnicate") {
		t.Errorf("unknown query type: %d %+v", code, res)
	}
}

// The app's dashboards are served by uid as Grafana serves imported ones;
// any other uid is not found.
func TestDashboards(t *testing.T) {
	_, base := start(t)
	var got struct {
		Dashboard map[string]any `json:"dashboard"`
		Meta      map[string]any `json:"meta"`
	}
	if code := call(t, "GET", base+"/api/dashboards/uid/netlens-drops", nil, &got); code != http.StatusOK {
		t.Fatalf("GET: %d", code)
	}
	if got.Dashboard["uid"] != "netlens-drops" || got.Dashboard["title"] != "Netlens / Drops" || got.Meta["pluginId"] != "netlens-network-app" {
		t.Errorf("dashboard %v %v, meta %v", got.Dashboard["uid"], got.Dashboard["title"], got.Meta)
	}
	if panels, _ := got.Dashboard["panels"].([]any); len(panels) == 0 {
		t.Errorf("no panels: %v", got.Dashboard)
	}
	var msg map[string]string
	if code := call(t, "GET", base+"/api/dashboards/uid/not-there", nil, &msg); code != http.StatusNotFound {
		t.Errorf("unknown uid: %d %v", code, msg)
	}
}
