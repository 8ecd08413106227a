//go:build linux

package previewhost

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	centrifugego "github.com/centrifugal/centrifuge-go"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// The host against a real agent counting real drops in the network lab (UDP
// to a closed port of a pod: NO_SOCKET drops, a known count), as the plugin's
// frontend reaches it: the health check, /api/ds/query, resources, and the
// live drop tail through Grafana Live (a centrifuge client subscribing to the
// channel that the events query names), which ends when its subscriber goes.
func TestDirectModeThroughTheHost(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip")
	const token = "preview-host-token"
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agent := agentproc.Start(t, append(agentproc.DropFlags(t, lab.PodsFile(t, a, b)), "--drop-source", "tp_btf",
		"--node-name", "lab-node", "--token-file", tokenPath, "--history-interval", "1s")...)
	s, base := start(t, DataSource{UID: "netlens-direct", Name: "Netlens (agents)", Type: "netlens-network-datasource",
		JSONData:       map[string]any{"mode": "direct", "agentUrls": []string{"http://" + agent.Addr}, "timeoutSeconds": 5},
		SecureJSONData: map[string]string{"agentToken": token}},
		DataSource{UID: "netlens-wrong", Name: "Netlens (wrong URL)", Type: "netlens-network-datasource",
			JSONData: map[string]any{"mode": "direct", "agentUrls": []string{"http://127.0.0.1:1"}, "timeoutSeconds": 2}})

	// Save & test: the check's own message, 200 or 400 as in Grafana.
	var health map[string]any
	if code := call(t, "GET", base+"/api/datasources/uid/netlens-direct/health", nil, &health); code != http.StatusOK || health["status"] != "OK" ||
		!strings.Contains(health["message"].(string), "lab-node") {
		t.Fatalf("health: %d %v", code, health)
	}
	if code := call(t, "GET", base+"/api/datasources/uid/netlens-wrong/health", nil, &health); code != http.StatusBadRequest || health["status"] != "ERROR" ||
		!strings.Contains(health["message"].(string), "127.0.0.1:1") {
		t.Fatalf("health of a wrong URL: %d %v", code, health)
	}

	// The events query names the live channel of its filters.
	filters := map[string]any{"namespace": []string{lab.Namespace}, "reason": []string{"NO_SOCKET"}}
	res := queryData(t, base, map[string]any{"refId": "E", "queryType": "events", "filters": filters})
	frames := res.Responses["E"].Frames
	if len(frames) != 1 || frames[0].Meta == nil || !strings.HasPrefix(frames[0].Meta.Channel, "ds/netlens-direct/events/") {
		t.Fatalf("events query: %+v", res.Responses["E"])
	}

	// Subscribe as Grafana's frontend does: "<org>/<channel>".
	ws := "ws" + strings.TrimPrefix(base, "http") + "/api/live/ws"
	client := centrifugego.NewJsonClient(ws, centrifugego.Config{})
	t.Cleanup(client.Close)
	if err := client.Connect(); err != nil {
		t.Fatal(err)
	}
	sub, err := client.NewSubscription("1/" + frames[0].Meta.Channel)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var rows []map[string]any
	sub.OnPublication(func(e centrifugego.PublicationEvent) {
		var f data.Frame
		if err := json.Unmarshal(e.Data, &f); err != nil {
			t.Errorf("publication is no data frame: %v: %s", err, e.Data)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range f.Rows() {
			row := map[string]any{}
			for _, fl := range f.Fields {
				if v, ok := fl.ConcreteAt(i); ok {
					row[fl.Name] = v
				}
			}
			rows = append(rows, row)
		}
	})
	subscribed := make(chan struct{})
	sub.OnSubscribed(func(centrifugego.SubscribedEvent) { close(subscribed) })
	if err := sub.Subscribe(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-subscribed:
	case <-time.After(testenv.Patience):
		t.Fatal("no subscription")
	}
	clients := func() int {
		st, err := (&api.Client{BaseURL: "http://" + agent.Addr, Token: token}).Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Events.Clients
	}
	testenv.Eventually(t, "the host's stream to reach the agent", func() bool { return clients() == 1 })

	const n = 7
	if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), n, 20) }); err != nil {
		t.Fatal(err)
	}
	toB := func() int {
		mu.Lock()
		defer mu.Unlock()
		c := 0
		for _, r := range rows {
			if r["dst pod"] == b.KubeName() && r["src pod"] == a.KubeName() && r["reason"] == "NO_SOCKET" && r["node"] == "lab-node" {
				c++
			}
		}
		return c
	}
	testenv.Eventually(t, "the drops in the live tail", func() bool { return toB() >= n })
	if got := toB(); got != n {
		t.Errorf("live tail: %d events from a to b, want %d", got, n)
	}

	// The same drops counted, through /api/ds/query.
	rate := false
	testenv.Eventually(t, "the pod counter at n", func() bool {
		res := queryData(t, base, map[string]any{"refId": "P", "queryType": "podDrops", "value": "packets", "rate": rate,
			"groupBy": []string{"pod"}, "filters": map[string]any{"pod": []string{b.KubeName()}, "reason": []string{"NO_SOCKET"}}})
		for _, f := range res.Responses["P"].Frames {
			if v := f.Fields[len(f.Fields)-1]; v.Len() > 0 {
				if last, ok := v.ConcreteAt(v.Len() - 1); ok && last == float64(n) {
					return true
				}
			}
		}
		return false
	})

	// Resources: the editors' values and the reason catalog.
	var pods []string
	if code := call(t, "GET", base+"/api/datasources/uid/netlens-direct/resources/values/pod?namespace="+lab.Namespace, nil, &pods); code != http.StatusOK ||
		!strings.Contains(strings.Join(pods, ","), b.KubeName()) {
		t.Errorf("pod values: %d %v", code, pods)
	}
	var reasons []map[string]any
	if code := call(t, "GET", base+"/api/datasources/uid/netlens-direct/resources/reasons?reason=NO_SOCKET", nil, &reasons); code != http.StatusOK ||
		len(reasons) != 1 || reasons[0]["reason"] != "NO_SOCKET" {
		t.Errorf("reasons: %d %v", code, reasons)
	}

	// The last subscriber gone, the stream ends, at the agent too.
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the stream to stop", func() bool { return s.live.running() == 0 && clients() == 0 })
}

// queryData posts queries of the data source netlens-direct over the last
// five minutes, as a panel does, and decodes Grafana's answer.
func queryData(t *testing.T, base string, queries ...map[string]any) *backend.QueryDataResponse {
	t.Helper()
	for _, q := range queries {
		q["datasource"] = map[string]string{"uid": "netlens-direct", "type": "netlens-network-datasource"}
	}
	now := time.Now()
	var res backend.QueryDataResponse
	if code := call(t, "POST", base+"/api/ds/query", map[string]any{"queries": queries,
		"from": strconv.FormatInt(now.Add(-5*time.Minute).UnixMilli(), 10), "to": strconv.FormatInt(now.UnixMilli(), 10)}, &res); code != http.StatusOK {
		t.Fatalf("query: %d %+v", code, res.Responses)
	}
	return &res
}
