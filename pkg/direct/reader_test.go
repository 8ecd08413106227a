package direct_test

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/direct/directtest"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

const token = "agent-token"

func settings(timeout int, urls ...string) *models.Settings {
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{
		JSONData:                mustJSON(map[string]any{"mode": "direct", "agentUrls": urls, "timeoutSeconds": timeout}),
		DecryptedSecureJSONData: map[string]string{models.SecureAgentToken: token},
	})
	if err != nil {
		panic(err)
	}
	return s
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// agent starts an in-process agent for node whose history holds 20 rounds
// (15 s apart, the last now) of NO_SOCKET drops rising 1/s and
// NETFILTER_DROP rising 2/s, and a pod drop series.
func agent(t *testing.T, node string, tok string, now time.Time) *directtest.Agent {
	a := directtest.Start(t, node, directtest.Options{Token: tok})
	a.Fill(now, 20, []directtest.Series{
		{Labels: map[string]string{"__name__": "netlens_drop_packets_total", "reason": "NO_SOCKET", "location": "udp_queue_rcv_skb", "protocol": "udp"},
			Value: func(i int) float64 { return float64(1000 + 15*i) }},
		{Labels: map[string]string{"__name__": "netlens_drop_packets_total", "reason": "NETFILTER_DROP", "location": "nf_hook_slow", "protocol": "tcp"},
			Value: func(i int) float64 { return float64(30 * i) }},
		{Labels: map[string]string{"__name__": "netlens_pod_drop_packets_total", "namespace": "shop", "pod": "web-" + node, "direction": "ingress", "reason": "NO_SOCKET", "workload": "web"},
			Value: func(i int) float64 { return float64(15 * i) }},
	})
	return a
}

func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func lastRange(now time.Time, d time.Duration) query.Range {
	return query.Range{From: now.Add(-d), To: now, Interval: 15 * time.Second, MaxDataPoints: 1000}
}

// series returns the frames' last values by display name.
func lastValues(t *testing.T, frames data.Frames) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, f := range frames {
		if len(f.Fields) != 2 {
			continue
		}
		v := f.Fields[1]
		out[v.Config.DisplayNameFromDS] = v.At(v.Len() - 1).(float64)
	}
	return out
}

func notices(frames data.Frames) string {
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

// Two agents answer, one refuses connections, one rejects the token: the
// answer sums the two, and a notice names each failure.
func TestQueryWithUnreachableAgents(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	wrong := agent(t, "node-c", "another-token", now)
	closed := closedURL(t)
	r, err := direct.New(settings(5, a.URL, b.URL, closed, wrong.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, GroupBy: []string{"reason"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	got := lastValues(t, resp.Frames)
	if math.Abs(got["NO_SOCKET"]-2) > 1e-9 || math.Abs(got["NETFILTER_DROP"]-4) > 1e-9 || len(got) != 2 {
		t.Fatalf("rates %v", got)
	}
	n := notices(resp.Frames)
	for _, want := range []string{"2 of 4 agents unreachable", strings.TrimPrefix(closed, "http://") + ": connection refused",
		strings.TrimPrefix(wrong.URL, "http://") + ": agent token rejected (401)"} {
		if !strings.Contains(n, want) {
			t.Errorf("notice %q lacks %q", n, want)
		}
	}
	f := resp.Frames[0]
	if f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Fields[0].Name != "Time" || f.Fields[1].Name != "Value" || f.Fields[1].Config.Unit != "pps" {
		t.Fatalf("frame shape %+v", f)
	}

	// By node: the node label comes from each agent's status.
	resp = r.Query(context.Background(), models.Query{QueryType: models.QueryPodDrops, GroupBy: []string{"node", "pod"}, Value: "packets",
		LegendFormat: "{{node}} {{pod}}"}, lastRange(now, 4*time.Minute))
	got = lastValues(t, resp.Frames)
	if len(got) != 2 || math.Abs(got["node-a web-node-a"]-1) > 1e-9 || math.Abs(got["node-b web-node-b"]-1) > 1e-9 {
		t.Fatalf("by node: %v", got)
	}
	for _, f := range resp.Frames {
		if f.Fields[1].Labels["node"] == "" {
			t.Fatalf("no node label: %v", f.Fields[1].Labels)
		}
	}

	// Raw counters (rate=false), node filter.
	no := false
	resp = r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, Value: "packets", Rate: &no,
		Filters: models.Filters{Node: []string{"node-b"}, Reason: []string{"NO_SOCKET"}}}, lastRange(now, 4*time.Minute))
	got = lastValues(t, resp.Frames)
	// The last step is now rounded down to 15 s: the latest sample at or
	// before it is the last round, or the one before when now is not aligned.
	if v := got["drops"]; len(got) != 1 || (v != 1000+15*19 && v != 1000+15*18) {
		t.Fatalf("counter: %v (%s)", got, notices(resp.Frames))
	}
}

func TestQueryAllUnreachableIsAnError(t *testing.T) {
	r, _ := direct.New(settings(2, closedURL(t), closedURL(t)))
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, Value: "packets"}, lastRange(time.Now(), time.Minute))
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "no agent answered: 2 of 2 agents unreachable") || !strings.Contains(resp.Error.Error(), "connection refused") {
		t.Fatalf("error %v", resp.Error)
	}
}

// An agent that never answers costs the timeout, not the panel.
func TestQueryTimeout(t *testing.T) {
	now := time.Now()
	a := agent(t, "node-a", token, now)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	r, _ := direct.New(settings(1, a.URL, hang.URL))
	start := time.Now()
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, Value: "packets"}, lastRange(now, 2*time.Minute))
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("took %v", el)
	}
	if resp.Error != nil || !strings.Contains(notices(resp.Frames), "1 of 2 agents unreachable: "+strings.TrimPrefix(hang.URL, "http://")+": no answer within 1s") {
		t.Fatalf("%v %q", resp.Error, notices(resp.Frames))
	}
}

func TestQueryBeyondHistory(t *testing.T) {
	now := time.Now()
	a := agent(t, "node-a", token, now)
	r, _ := direct.New(settings(5, a.URL))
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, Value: "packets"}, lastRange(now, time.Hour))
	if resp.Error != nil || len(resp.Frames) != 1 || !strings.Contains(notices(resp.Frames), "the last 15m0s") {
		t.Fatalf("%v %d %q", resp.Error, len(resp.Frames), notices(resp.Frames))
	}
	// What exists is still returned.
	if resp.Frames[0].Rows() == 0 {
		t.Fatal("no data")
	}
}

func TestNodesValuesHealth(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	closed := closedURL(t)
	r, _ := direct.New(settings(5, a.URL, b.URL, closed))
	ctx := context.Background()

	resp := r.Query(ctx, models.Query{QueryType: models.QueryNodes}, query.Range{})
	if resp.Error != nil || len(resp.Frames) != 1 || resp.Frames[0].Rows() != 3 {
		t.Fatalf("nodes: %v %v", resp.Error, resp.Frames)
	}
	f := resp.Frames[0]
	table, _ := f.StringTable(-1, -1)
	for _, want := range []string{"node-a", "node-b", "6.18.0-test", "tp_btf", "nic", "false", "connection refused"} {
		if !strings.Contains(table, want) {
			t.Errorf("nodes table lacks %q:\n%s", want, table)
		}
	}

	for label, want := range map[query.Label]string{
		query.LabelNode:   "node-a,node-b",
		query.LabelReason: "NETFILTER_DROP,NO_SOCKET",
		query.LabelPod:    "web-node-a,web-node-b",
	} {
		got, err := r.Values(ctx, label, models.Filters{}, query.Range{})
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("values %s: %q %v, want %s", label, got, err, want)
		}
	}
	got, err := r.Values(ctx, query.LabelPod, models.Filters{Node: []string{"node-b"}, Namespace: []string{"shop"}}, query.Range{})
	if err != nil || strings.Join(got, ",") != "web-node-b" {
		t.Errorf("pods on node-b: %q %v", got, err)
	}
	// With a namespace filter, reasons come from pod drops only.
	got, _ = r.Values(ctx, query.LabelReason, models.Filters{Namespace: []string{"shop"}}, query.Range{})
	if strings.Join(got, ",") != "NO_SOCKET" {
		t.Errorf("reasons in shop: %q", got)
	}

	h := r.Health(ctx)
	if h.Status != backend.HealthStatusOk || !strings.Contains(h.Message, "2 of 3 agents reachable (nodes node-a, node-b)") || !strings.Contains(h.Message, "connection refused") {
		t.Fatalf("health %v %q", h.Status, h.Message)
	}
	wrong := agent(t, "node-c", "other", now)
	r2, _ := direct.New(settings(5, a.URL, wrong.URL))
	h = r2.Health(ctx)
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "agent token rejected (401)") {
		t.Fatalf("health with a wrong token %v %q", h.Status, h.Message)
	}
	if strings.Contains(h.Message, token) {
		t.Fatal("health message echoes the token")
	}
}

// recorder is a Grafana Live packet sender that records frames and can be
// held to act as a slow client.
type recorder struct {
	mu     sync.Mutex
	frames []*data.Frame
	hold   chan struct{} // when non-nil, Send waits for it to close
}

func (r *recorder) Send(p *backend.StreamPacket) error {
	r.mu.Lock()
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	var f data.Frame
	if err := json.Unmarshal(p.Data, &f); err != nil {
		return err
	}
	r.mu.Lock()
	r.frames = append(r.frames, &f)
	r.mu.Unlock()
	return nil
}

func (r *recorder) rows() (rows []map[string]any, dropped []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.frames {
		for i := 0; i < f.Rows(); i++ {
			row := map[string]any{}
			for _, fld := range f.Fields {
				row[fld.Name] = fld.At(i)
			}
			rows = append(rows, row)
		}
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				dropped = append(dropped, n.Text)
			}
		}
	}
	return rows, dropped
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dropEvent(pod string, i int) api.DropEvent {
	return api.DropEvent{Time: time.Now(), Reason: "NO_SOCKET", Location: "udp_queue_rcv_skb", Protocol: "udp",
		Src: api.Endpoint{IP: "10.1.0.2", Port: uint16(40000 + i), Namespace: "shop", Pod: "client"},
		Dst: api.Endpoint{IP: "10.1.0.3", Port: 9, Namespace: "shop", Pod: pod}, Interface: "eth0", Bytes: 28}
}

// The live stream merges every agent's events with the node, filters them,
// and ends when its context does, closing the agents' streams.
func TestStream(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	closed := closedURL(t) // reconnect attempts must not disturb the others
	r, _ := direct.New(settings(5, a.URL, b.URL, closed), direct.WithStreamTuning(10, 20*time.Millisecond, 64))
	path, _ := direct.EventsPath(models.Filters{Namespace: []string{"shop"}, Interface: []string{"eth0"}})
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Stream(ctx, path, backend.NewStreamSender(rec)) }()
	subscribed := func() bool {
		la, _ := a.Events.Subscribers()
		lb, _ := b.Events.Subscribers()
		return la == 1 && lb == 1
	}
	waitFor(t, "both agents streaming", 5*time.Second, subscribed)
	a.Events.Add(dropEvent("db-0", 1))
	b.Events.Add(dropEvent("db-1", 2))
	other := dropEvent("db-2", 3)
	other.Interface = "eth1" // filtered out by interface, in the reader
	b.Events.Add(other)
	elsewhere := dropEvent("x", 4)
	elsewhere.Src.Namespace, elsewhere.Dst.Namespace = "kube-system", "kube-system" // filtered by the agent
	a.Events.Add(elsewhere)
	// Each agent's events arrive in order: once its last event (a sentinel
	// that passes the filters) is shown, the filtered ones would have been.
	a.Events.Add(dropEvent("end-a", 5))
	b.Events.Add(dropEvent("end-b", 6))
	waitFor(t, "both sentinels", 5*time.Second, func() bool {
		rows, _ := rec.rows()
		n := 0
		for _, row := range rows {
			if p := row["dst pod"]; p == "end-a" || p == "end-b" {
				n++
			}
		}
		return n == 2
	})
	rows, _ := rec.rows()
	if len(rows) != 4 {
		t.Fatalf("rows %v", rows)
	}
	rows = slices.DeleteFunc(rows, func(row map[string]any) bool { return strings.HasPrefix(row["dst pod"].(string), "end-") })
	pods := map[string]string{}
	for _, row := range rows {
		pods[row["node"].(string)] = row["dst pod"].(string)
		if row["reason"] != "NO_SOCKET" || row["dst port"] != uint16(9) || row["bytes"] != uint32(28) || row["src ip"] != "10.1.0.2" {
			t.Fatalf("row %v", row)
		}
	}
	if pods["node-a"] != "db-0" || pods["node-b"] != "db-1" {
		t.Fatalf("pods by node %v", pods)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Stream did not return after its context ended")
	}
	waitFor(t, "agents' streams closed", 5*time.Second, func() bool {
		la, _ := a.Events.Subscribers()
		lb, _ := b.Events.Subscribers()
		return la == 0 && lb == 0
	})
}

// A slow Grafana client never holds up the agents' readers: events beyond
// the buffer are dropped, counted, and reported in the next frame.
func TestStreamBackpressure(t *testing.T) {
	a := agent(t, "node-a", token, time.Now())
	var emitted atomic.Int64
	r, _ := direct.New(settings(5, a.URL), direct.WithStreamTuning(10, 10*time.Millisecond, 20), direct.WithEmitted(func() { emitted.Add(1) }))
	path, _ := direct.EventsPath(models.Filters{})
	hold := make(chan struct{})
	rec := &recorder{hold: hold}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Stream(ctx, path, backend.NewStreamSender(rec)) }()
	waitFor(t, "streaming", 5*time.Second, func() bool { l, _ := a.Events.Subscribers(); return l == 1 })
	// Events go in bursts of 50, each once the reader has taken the last
	// one, so that the agent's own buffer (256) never fills however slowly
	// this machine runs: what is tested is the reader's buffer, not the agent's.
	const total = 500
	for i := range total {
		a.Events.Add(dropEvent("db-0", i))
		if i%50 == 49 {
			waitFor(t, "the reader to take the burst", 5*time.Second, func() bool { return emitted.Load() == int64(i+1) })
		}
	}
	// The agent never had to disconnect the reader for being slow.
	if live, dropped := a.Events.Subscribers(); live != 1 || dropped != 0 {
		t.Fatalf("agent subscribers %d, dropped %d", live, dropped)
	}
	rec.mu.Lock()
	rec.hold = nil
	rec.mu.Unlock()
	close(hold)
	// Every event the reader took is now either sent or counted as dropped:
	// wait until the frames account for all of them.
	var rows []map[string]any
	var notes []string
	var droppedTotal int
	waitFor(t, "every event shown or counted as dropped", 5*time.Second, func() bool {
		rows, notes = rec.rows()
		for _, n := range notes {
			var d, all int
			if _, err := fmtSscanf(n, &d, &all); err == nil {
				droppedTotal = all
			}
		}
		return droppedTotal > 0 && len(rows)+droppedTotal >= total
	})
	if len(rows)+droppedTotal != total {
		t.Fatalf("%d rows + %d dropped != %d (notices %q)", len(rows), droppedTotal, total, notes)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The events query replays the agents' kept events as a table and points
// the panel at the live channel.
func TestEventsQuery(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	for i := range 3 {
		a.Events.Add(dropEvent("db-0", i))
	}
	b.Events.Add(dropEvent("db-1", 9))
	r, _ := direct.New(settings(5, a.URL, b.URL), direct.WithDataSourceUID("dsuid"))
	q := models.Query{QueryType: models.QueryEvents, Filters: models.Filters{Pod: []string{"db-0", "db-1"}}}
	resp := r.Query(context.Background(), q, lastRange(time.Now().Add(time.Second), time.Minute))
	if resp.Error != nil || len(resp.Frames) != 1 {
		t.Fatalf("%v %v", resp.Error, resp.Frames)
	}
	f := resp.Frames[0]
	want, _ := direct.Channel("dsuid", q.Filters)
	if f.Rows() != 4 || f.Meta.Channel != want || !strings.HasPrefix(want, "ds/dsuid/events/") {
		t.Fatalf("rows %d channel %q (want %q)", f.Rows(), f.Meta.Channel, want)
	}
	if err := r.Subscribe(strings.TrimPrefix(want, "ds/dsuid/")); err != nil {
		t.Fatal(err)
	}
}
