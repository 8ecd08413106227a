//go:build linux

package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/direct/directtest"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

// directReader builds a direct-mode reader over the agent URLs.
func directReader(b *testing.B, urls []string) *direct.Reader {
	var quoted []string
	for _, u := range urls {
		quoted = append(quoted, `"`+u+`"`)
	}
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{
		JSONData: []byte(`{"mode":"direct","timeoutSeconds":10,"agentUrls":[` + strings.Join(quoted, ",") + `]}`)})
	if err != nil {
		b.Fatal(err)
	}
	r, err := direct.New(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	return r
}

// runQueries times q over the last 15 minutes (a panel of 1000 points:
// 1 s steps, 901 of them) and reports the median and the 90th percentile.
func runQueries(b *testing.B, r *direct.Reader, q models.Query, wantFrames bool) {
	ctx := context.Background()
	rg := func() query.Range {
		now := time.Now()
		return query.Range{From: now.Add(-15 * time.Minute), To: now, Interval: time.Second, MaxDataPoints: 1000}
	}
	// Warm: statuses cached, connections open, as for a dashboard refresh.
	if resp := r.Query(ctx, q, rg()); resp.Error != nil {
		b.Fatal(resp.Error)
	}
	var took []time.Duration
	var frames int
	for b.Loop() {
		t0 := time.Now()
		resp := r.Query(ctx, q, rg())
		took = append(took, time.Since(t0))
		if resp.Error != nil {
			b.Fatal(resp.Error)
		}
		for _, f := range resp.Frames {
			if f.Meta != nil && len(f.Meta.Notices) > 0 && !strings.Contains(f.Meta.Notices[0].Text, "keep") {
				b.Fatalf("notice: %s", f.Meta.Notices[0].Text)
			}
		}
		frames = len(resp.Frames)
	}
	if wantFrames && frames < 2 {
		b.Fatalf("only %d frames", frames)
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(frames), "frames")
}

// BenchmarkDirectQuery: one direct-mode query (pod drops, rate, by
// namespace and pod, 15-minute range, 1 s steps) over N in-process agents.
// Each agent is the agent's real HTTP server (agent/server) over a full
// history: 15 minutes at the default 15 s interval (60 samples per series)
// of 20 drop series and 100 pod drop series (10 namespaces x 10 pods, so
// series of different agents merge), every counter rising. The in-process
// agents stand in for processes so that the history holds the full 15
// minutes (a real agent needs 15 minutes to fill it); the bytes on the
// wire and the work per agent are the real API's.
//
//	go test ./bench/ -run '^$' -bench 'DirectQuery$' -benchtime 50x -count 3
func BenchmarkDirectQuery(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			now := time.Now()
			var urls []string
			for i := range n {
				a := directtest.Start(b, fmt.Sprintf("node-%03d", i), directtest.Options{})
				var series []directtest.Series
				for k := range 20 {
					series = append(series, directtest.Series{Labels: map[string]string{"__name__": "netlens_drop_packets_total",
						"reason": fmt.Sprintf("REASON_%02d", k), "location": "fn", "protocol": "udp"},
						Value: func(j int) float64 { return float64(j * (k + 1)) }})
				}
				for k := range 100 {
					series = append(series, directtest.Series{Labels: map[string]string{"__name__": "netlens_pod_drop_packets_total",
						"namespace": fmt.Sprintf("team-%d", k%10), "pod": fmt.Sprintf("checkout-%d", k), "direction": "ingress",
						"reason": "NETFILTER_DROP", "workload": "checkout"},
						Value: func(j int) float64 { return float64(j * (k%7 + 1)) }})
				}
				a.Fill(now, 60, series)
				urls = append(urls, a.URL)
			}
			r := directReader(b, urls)
			runQueries(b, r, models.Query{QueryType: models.QueryPodDrops, Value: "packets", GroupBy: []string{"namespace", "pod"}}, true)
		})
	}
}

// BenchmarkDirectQueryProcesses: the same fan-out over N real
// netlens-agent processes on loopback (--drop-source none, default 15 s
// history interval), querying the host stack counters (netstat, softnet,
// conntrack: the series an agent without eBPF has), by node, over a
// 15-minute range. Their history holds only what accumulated since they
// started (a few rounds), so this measures the fan-out and the per-agent
// cost of real processes, not the full 15-minute payload.
//
//	sudo bash -c 'source scripts/env.sh && go test ./bench/ -run "^$" -bench DirectQueryProcesses -benchtime 50x -count 1'
func BenchmarkDirectQueryProcesses(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			var urls []string
			for i := range n {
				a := agentproc.Start(b, "--drop-source", "none", "--metadata", "none", "--node-name", fmt.Sprintf("node-%03d", i),
					"--state-dir", "", "--bpffs-path", "", "--api-rate-limit", "10000")
				urls = append(urls, "http://"+a.Addr)
			}
			waitHistoryRounds(b, urls, 3) // two before the last step
			r := directReader(b, urls)
			runQueries(b, r, models.Query{QueryType: models.QueryNetstat, GroupBy: []string{"node"}}, n > 1)
		})
	}
}

// waitHistoryRounds waits until every agent's history holds n rounds (one
// every 15 s from its start) of its host stack counters.
func waitHistoryRounds(b *testing.B, urls []string, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Duration(n-1)*15*time.Second + testenv.Patience)
	for _, u := range urls {
		c := &api.Client{BaseURL: u}
		for {
			r, err := c.Series(context.Background(), []string{"netlens_netstat_total"}, time.Now().Add(-time.Hour), time.Now())
			if err == nil && len(r.Series) > 0 && len(r.Series[0].Samples) >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: no %d history rounds of netlens_netstat_total: %d series, %v", u, n, len(r.Series), err)
			}
			time.Sleep(time.Second)
		}
	}
}
