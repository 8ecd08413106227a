//go:build linux

// Package direct tests the data source's direct mode (pkg/direct) against
// real agent processes: one counting real drops in the network lab (UDP to
// a closed port: NO_SOCKET drops, a known count), two more without a drop
// source. It queries drops, pod drops and nodes through the Reader, kills
// an agent mid-test, and runs the live event stream with a recording
// sender.
package direct

import (
	"context"
	"encoding/json"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const token = "direct-mode-token"

// recorder is a Grafana Live packet sender keeping every frame.
type recorder struct {
	mu     sync.Mutex
	frames []*data.Frame
}

func (r *recorder) Send(p *backend.StreamPacket) error {
	var f data.Frame
	if err := json.Unmarshal(p.Data, &f); err != nil {
		return err
	}
	r.mu.Lock()
	r.frames = append(r.frames, &f)
	r.mu.Unlock()
	return nil
}

func (r *recorder) rows() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, f := range r.frames {
		for i := 0; i < f.Rows(); i++ {
			row := map[string]any{}
			for _, fld := range f.Fields {
				row[fld.Name] = fld.At(i)
			}
			out = append(out, row)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clients counts an agent's open event streams (its status, with the token).
func clients(t *testing.T, ag *agentproc.Agent) int {
	t.Helper()
	st, err := (&api.Client{BaseURL: "http://" + ag.Addr, Token: token}).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Events.Clients
}

func rng(d time.Duration) query.Range {
	now := time.Now()
	return query.Range{From: now.Add(-d), To: now, Interval: time.Second, MaxDataPoints: 1000}
}

// byLabels indexes frames by the Value field's labels (String form).
func byLabels(frames data.Frames) map[string][]float64 {
	out := map[string][]float64{}
	for _, f := range frames {
		if len(f.Fields) != 2 {
			continue
		}
		v := f.Fields[1]
		vals := make([]float64, v.Len())
		for i := range vals {
			vals[i] = v.At(i).(float64)
		}
		out[v.Labels.String()] = vals
	}
	return out
}

func noticeText(frames data.Frames) string {
	var s []string
	for _, f := range frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				s = append(s, n.Text)
			}
		}
	}
	return strings.Join(s, " | ")
}

func TestDirectModeAgainstRealAgents(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip")
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--state-dir", "", "--bpffs-path", "", "--history-interval", "1s", "--history-duration", "15m",
		"--token-file", tokenPath, "--api-rate-limit", "1000"}
	labAgent := agentproc.Start(t, append([]string{"--drop-source", "tp_btf", "--node-name", "lab-node",
		"--pods-file", lab.PodsFile(t, a, b), "--drain-interval", "500ms"}, common...)...)
	quiet1 := agentproc.Start(t, append([]string{"--drop-source", "none", "--node-name", "quiet-1", "--metadata", "none"}, common...)...)
	quiet2 := agentproc.Start(t, append([]string{"--drop-source", "none", "--node-name", "quiet-2", "--metadata", "none"}, common...)...)

	is := backend.DataSourceInstanceSettings{UID: "netlens-direct",
		JSONData:                []byte(`{"mode":"direct","timeoutSeconds":3,"agentUrls":["http://` + labAgent.Addr + `","http://` + quiet1.Addr + `","http://` + quiet2.Addr + `"]}`),
		DecryptedSecureJSONData: map[string]string{models.SecureAgentToken: token}}
	s, err := models.LoadSettings(is)
	if err != nil {
		t.Fatal(err)
	}
	r, err := direct.New(s, direct.WithDataSourceUID(is.UID))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	ctx := context.Background()

	// The live stream, subscribed before any drop.
	path, err := direct.EventsPath(models.Filters{Namespace: []string{lab.Namespace}, Reason: []string{"NO_SOCKET"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	sctx, stopStream := context.WithCancel(ctx)
	streamDone := make(chan error, 1)
	go func() { streamDone <- r.Stream(sctx, path, backend.NewStreamSender(rec)) }()
	waitFor(t, "the stream to subscribe to all three agents", 10*time.Second, func() bool {
		for _, ag := range []*agentproc.Agent{labAgent, quiet1, quiet2} {
			if clients(t, ag) != 1 {
				return false
			}
		}
		return true
	})

	// Real drops: 5 datagrams (the pod series appears), then, three history
	// rounds later, 20 more: the rate over the range integrates to 20.
	send := func(n int) {
		t.Helper()
		if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, 9), n, 20) }); err != nil {
			t.Fatal(err)
		}
	}
	no := false
	podCounter := func() float64 {
		resp := r.Query(ctx, models.Query{QueryType: models.QueryPodDrops, Value: "packets", Rate: &no, GroupBy: []string{"node", "pod", "direction"},
			Filters: models.Filters{Pod: []string{b.KubeName()}, Namespace: []string{lab.Namespace}, Reason: []string{"NO_SOCKET"}}}, rng(2*time.Minute))
		if resp.Error != nil {
			t.Fatal(resp.Error)
		}
		vals := byLabels(resp.Frames)[`direction=ingress, node=lab-node, pod=`+b.KubeName()]
		if len(vals) == 0 {
			return 0
		}
		return vals[len(vals)-1]
	}
	send(5)
	waitFor(t, "the pod counter at 5", 20*time.Second, func() bool { return podCounter() == 5 })
	time.Sleep(3500 * time.Millisecond)
	send(20)
	waitFor(t, "the pod counter at 25", 20*time.Second, func() bool { return podCounter() == 25 })
	time.Sleep(5 * time.Second) // let the rate windows pass the second burst

	// Rates: the pod's ingress rate at every step is rate() of the agent's
	// own samples of the series (direct.Rates, unit-tested against
	// Prometheus's arithmetic). Their sum over the 1 s steps is the 20 drops
	// of the second burst only while the agent samples every second: a
	// loaded machine delays its rounds, and rate()'s extrapolation then
	// loses part of the burst, as Prometheus's does with scrape jitter. So
	// the rates are compared with those of the samples, exactly, and the
	// samples with the drops sent. The range ends 2 s ago, so that every
	// sample it covers is in the agent's history when both are read.
	rg := rng(2 * time.Minute)
	rg.To = rg.To.Add(-2 * time.Second)
	resp := r.Query(ctx, models.Query{QueryType: models.QueryPodDrops, Value: "packets", GroupBy: []string{"pod", "direction"},
		Filters: models.Filters{Pod: []string{b.KubeName()}, Reason: []string{"NO_SOCKET"}}}, rg)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if n := noticeText(resp.Frames); n != "" {
		t.Fatalf("unexpected notices: %s", n)
	}
	g := direct.NewGrid(rg)
	window := direct.RateWindow(g, time.Second)
	hist, err := labAgent.APIClient(token).Series(ctx, []string{`netlens_pod_drop_packets_total{pod="` + b.KubeName() + `",direction="ingress",reason="NO_SOCKET"}`},
		time.UnixMilli(g.Start-window), time.UnixMilli(g.End))
	if err != nil || len(hist.Series) != 1 {
		t.Fatalf("the agent's history of the pod's series: %v, %d series", err, len(hist.Series))
	}
	samples := hist.Series[0].Samples
	if first, last := samples[0].V, samples[len(samples)-1].V; first != 5 || last != 25 {
		t.Fatalf("the agent's samples go from %v to %v, want 5 to 25 (%v)", first, last, samples)
	}
	var want []float64
	for _, v := range direct.Rates(samples, g, window) {
		if !math.IsNaN(v) {
			want = append(want, v)
		}
	}
	rates := byLabels(resp.Frames)[`direction=ingress, pod=`+b.KubeName()]
	if len(rates) != len(want) {
		t.Fatalf("%d rate points, want %d: %v, want %v", len(rates), len(want), rates, want)
	}
	var integral float64
	for i, v := range rates {
		if math.Abs(v-want[i]) > 1e-9 {
			t.Fatalf("rate %d is %v, want %v from the agent's samples (rates %v, want %v)", i, v, want[i], rates, want)
		}
		integral += v // step 1 s
	}
	if integral <= 0 {
		t.Fatalf("the rates show no drops: %v", rates)
	}
	t.Logf("integral of the rate %.2f (20 drops; less where the agent's rounds were late)", integral)
	if f := resp.Frames[0]; f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Fields[1].Config.Unit != "pps" {
		t.Fatalf("frame %+v", f.Meta)
	}

	// Drops by node: only the lab agent counts drops; at least our 25
	// (the tracepoint sees the whole host).
	resp = r.Query(ctx, models.Query{QueryType: models.QueryDrops, Value: "packets", Rate: &no, GroupBy: []string{"node"},
		Filters: models.Filters{Reason: []string{"NO_SOCKET"}}}, rng(time.Minute))
	drops := byLabels(resp.Frames)
	if resp.Error != nil || len(drops) != 1 || len(drops["node=lab-node"]) == 0 || drops["node=lab-node"][len(drops["node=lab-node"])-1] < 25 {
		t.Fatalf("drops by node: %v %v", drops, resp.Error)
	}

	// Nodes: three agents, their drop sources.
	resp = r.Query(ctx, models.Query{QueryType: models.QueryNodes}, query.Range{})
	table, _ := resp.Frames[0].StringTable(-1, -1)
	if resp.Frames[0].Rows() != 3 || !strings.Contains(table, "lab-node") || !strings.Contains(table, "tp_btf") || !strings.Contains(table, "quiet-2") || strings.Contains(table, "false") {
		t.Fatalf("nodes:\n%s", table)
	}
	pods, err := r.Values(ctx, query.LabelPod, models.Filters{Namespace: []string{lab.Namespace}}, query.Range{})
	if err != nil || !strings.Contains(strings.Join(pods, ","), b.KubeName()) {
		t.Fatalf("pod values %q %v", pods, err)
	}

	// The live stream delivered real drops with pod names and the node.
	waitFor(t, "live events", 10*time.Second, func() bool { return len(rec.rows()) > 0 })
	var seen bool
	for _, row := range rec.rows() {
		if row["dst pod"] == b.KubeName() && row["src pod"] == a.KubeName() && row["node"] == "lab-node" && row["reason"] == "NO_SOCKET" && row["dst port"] == uint16(9) {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("no live event of a's drops to b: %v", rec.rows())
	}

	// The events query replays them and points at the live channel.
	resp = r.Query(ctx, models.Query{QueryType: models.QueryEvents, Filters: models.Filters{Namespace: []string{lab.Namespace}, Reason: []string{"NO_SOCKET"}}}, rng(5*time.Minute))
	if resp.Error != nil || resp.Frames[0].Rows() < 1 || resp.Frames[0].Meta.Channel != "ds/netlens-direct/"+path {
		t.Fatalf("events query: %v rows %d channel %q, notices %q", resp.Error, resp.Frames[0].Rows(), resp.Frames[0].Meta.Channel, noticeText(resp.Frames))
	}

	// Kill an agent: the others still answer, with a notice naming it.
	if err := syscall.Kill(quiet2.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the killed agent to refuse connections", 10*time.Second, func() bool {
		h := r.Health(ctx)
		return strings.Contains(h.Message, "2 of 3 agents reachable")
	})
	resp = r.Query(ctx, models.Query{QueryType: models.QueryPodDrops, Value: "packets", Rate: &no, GroupBy: []string{"node"},
		Filters: models.Filters{Pod: []string{b.KubeName()}}}, rng(time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if n := noticeText(resp.Frames); !strings.Contains(n, "1 of 3 agents unreachable: "+quiet2.Addr+": connection refused") {
		t.Fatalf("notice %q", n)
	}
	// b only receives: its one series is the ingress one, at 25.
	if v := byLabels(resp.Frames)["node=lab-node"]; len(v) == 0 || v[len(v)-1] != 25 {
		t.Fatalf("after the kill: %v", byLabels(resp.Frames))
	}

	// Stopping the stream closes every agent stream.
	stopStream()
	select {
	case err := <-streamDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream did not return after its context ended")
	}
	waitFor(t, "the agents' streams to close", 10*time.Second, func() bool {
		return clients(t, labAgent) == 0 && clients(t, quiet1) == 0
	})
}
