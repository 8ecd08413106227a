//go:build linux

package direct

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/grafanahost"
	"github.com/netlens/netlens/tests/testenv"
)

// These tests run the built data source binary (`mage -v`) over go-plugin,
// as Grafana does, against real agent processes without drop counting
// (no root needed), at the agent's default --api-rate-limit.

// quietAgent runs an agent without drops or pod metadata, with every other
// setting at its default (the API rate limit included).
func quietAgent(t *testing.T, node string) *agentproc.Agent {
	t.Helper()
	return agentproc.Start(t, "--drop-source", "none", "--metadata", "none", "--node-name", node,
		"--state-dir", "", "--bpffs-path", "", "--history-interval", "1s")
}

func directDS(uid string, urls ...string) grafanahost.DataSource {
	js, _ := json.Marshal(map[string]any{"mode": "direct", "agentUrls": urls, "timeoutSeconds": 10})
	return grafanahost.DataSource{UID: uid, JSONData: string(js)}
}

// dashboardTargets are the panel queries of the shipped app-flavour
// dashboards (dashboards/*.json) with every variable at All: Grafana's
// frontend leaves such filters out (ALL_VALUES).
func dashboardTargets(t *testing.T) []json.RawMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var out []json.RawMessage
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Targets []map[string]any `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				if fs, ok := tg["filters"].(map[string]any); ok {
					for k, v := range fs {
						if vs, ok := v.([]any); ok && len(vs) > 0 && strings.HasPrefix(fmt.Sprint(vs[0]), "$") {
							delete(fs, k)
						}
					}
				}
				b, _ := json.Marshal(tg)
				out = append(out, b)
			}
		}
	}
	return out
}

// Users refresh the shipped dashboards at once, each a second after the
// other: every panel is its own QueryData call, as Grafana sends one request
// per panel, all concurrently, through one data source and so one client
// address to each agent. Every panel answers, with no agent unreachable or
// rate limited, at the agents' default --api-rate-limit: first two users (48
// panels), then four more (96 panels, more agent requests than a burst
// holds unless the data source shares them).
func TestDashboardRefreshWithinDefaultRateLimit(t *testing.T) {
	h := grafanahost.Start(t, testenv.DatasourceBinary(t))
	a, b := quietAgent(t, "refresh-a"), quietAgent(t, "refresh-b")
	ds := directDS("netlens-refresh", "http://"+a.Addr, "http://"+b.Addr)
	targets := dashboardTargets(t)
	if len(targets) != 24 {
		t.Fatalf("%d dashboard targets, want the shipped dashboards' 24", len(targets))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	now := time.Now()
	refresh := func(users []int) {
		t.Helper()
		type panel struct {
			user int
			json json.RawMessage
		}
		var panels []panel
		for _, user := range users {
			for _, tg := range targets {
				panels = append(panels, panel{user, tg})
			}
		}
		resps := make([]backend.DataResponse, len(panels))
		errs := make([]error, len(panels))
		var wg sync.WaitGroup
		for i, p := range panels {
			wg.Go(func() {
				to := now.Add(time.Duration(p.user) * time.Second)
				resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: ds.PluginContext(plugin.ID), Queries: []backend.DataQuery{{
					RefID: "A", JSON: p.json, TimeRange: backend.TimeRange{From: to.Add(-time.Hour), To: to},
					Interval: 5 * time.Second, MaxDataPoints: 700,
				}}})
				errs[i] = err
				if err == nil {
					resps[i] = resp.Responses["A"]
				}
			})
		}
		wg.Wait()
		for i, resp := range resps {
			if errs[i] != nil {
				t.Fatalf("panel %d: %v", i, errs[i])
			}
			if resp.Error != nil {
				t.Errorf("%d panels, panel %d %s: %v", len(panels), i, panels[i].json, resp.Error)
				continue
			}
			for _, f := range resp.Frames {
				if f.Meta == nil {
					continue
				}
				for _, n := range f.Meta.Notices {
					if strings.Contains(n.Text, "unreachable") || strings.Contains(n.Text, "rate limited") {
						t.Errorf("%d panels, panel %d %s: %s", len(panels), i, panels[i].json, n.Text)
					}
				}
			}
		}
	}
	refresh([]int{0, 1})
	if t.Failed() {
		return
	}
	refresh([]int{2, 3, 4, 5})
}

// An agent reachable at 127.0.0.1 and at localhost is one agent: health
// and the nodes table list it once, and a query answers what a data source
// with one of the URLs answers, with a notice that it was counted once.
func TestAgentAtTwoURLsThroughGrafana(t *testing.T) {
	h := grafanahost.Start(t, testenv.DatasourceBinary(t))
	a := quietAgent(t, "twice")
	st := a.Status(t)
	bootID, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	if st.BootID == "" || st.BootID != strings.TrimSpace(string(bootID)) {
		t.Fatalf("status boot id %q, want the kernel's %q", st.BootID, strings.TrimSpace(string(bootID)))
	}
	local := "http://" + a.Addr
	other := "http://" + strings.Replace(a.Addr, "127.0.0.1", "localhost", 1)
	both := directDS("netlens-twice", local, other)
	one := directDS("netlens-once", local)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	counted := fmt.Sprintf("agent twice reachable at URLs %s and %s: counted once", a.Addr, strings.TrimPrefix(other, "http://"))

	res, err := h.CheckHealth(ctx, both.PluginContext(plugin.ID))
	if err != nil || res.Status != backend.HealthStatusOk || !strings.HasPrefix(res.Message, "1 of 1 agents reachable (nodes twice).") || !strings.Contains(res.Message, "Agent"+strings.TrimPrefix(counted, "agent")) {
		t.Fatalf("health: %v %+v", err, res)
	}

	query := func(ds grafanahost.DataSource, js string, to time.Time) backend.DataResponse {
		t.Helper()
		resp, err := h.QueryData(ctx, &backend.QueryDataRequest{PluginContext: ds.PluginContext(plugin.ID), Queries: []backend.DataQuery{{
			RefID: "A", JSON: []byte(js), TimeRange: backend.TimeRange{From: to.Add(-time.Minute), To: to}, Interval: time.Second, MaxDataPoints: 1000,
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		return r
	}
	nodes := query(both, `{"queryType":"nodes"}`, time.Now())
	if f := nodes.Frames[0]; f.Rows() != 1 || noticeText(nodes.Frames) != counted {
		table, _ := f.StringTable(-1, -1)
		t.Fatalf("nodes, notices %q:\n%s", noticeText(nodes.Frames), table)
	}

	// The host stack counters over a range the agent's history holds in
	// full (a round after its end is recorded): the same values through
	// both data sources, not twice as much through the one with two URLs.
	agentAPI := &api.Client{BaseURL: local}
	// rounds is how many history rounds of the host stack counters lie in
	// (from, to].
	rounds := func(from, to time.Time) int {
		resp, err := agentAPI.Series(ctx, []string{"netlens_netstat_total"}, from.Add(time.Millisecond), to)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range resp.Series {
			n = max(n, len(s.Samples))
		}
		return n
	}
	start := time.Now().Add(-time.Minute)
	waitFor(t, "three history rounds", 20*time.Second, func() bool { return rounds(start, start.Add(time.Hour)) >= 3 })
	to := time.Now()
	waitFor(t, "a history round after the range's end", 10*time.Second, func() bool { return rounds(to, to.Add(time.Hour)) >= 1 })
	js := `{"queryType":"netstat","rate":false}`
	twice, once := query(both, js, to), query(one, js, to)
	if noticeText(twice.Frames) != counted || noticeText(once.Frames) != "" {
		t.Fatalf("notices %q and %q", noticeText(twice.Frames), noticeText(once.Frames))
	}
	got, want := lastByName(twice.Frames), lastByName(once.Frames)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d series through two URLs, %d through one: %v", len(got), len(want), once.Frames)
	}
	for name, v := range want {
		if math.Abs(got[name]-v) > 1e-9 {
			t.Errorf("%s: %v through two URLs, %v through one", name, got[name], v)
		}
	}
}

// lastByName is each frame's last value by display name.
func lastByName(frames data.Frames) map[string]float64 {
	out := map[string]float64{}
	for _, f := range frames {
		if len(f.Fields) != 2 || f.Rows() == 0 {
			continue
		}
		v := f.Fields[1]
		out[v.Config.DisplayNameFromDS] = v.At(v.Len() - 1).(float64)
	}
	return out
}
