package direct_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/direct/directtest"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// localhost is the agent's URL under its other name.
func localhost(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

func host(u string) string { return strings.TrimPrefix(u, "http://") }

// hosts are the URLs' host:port in the order the reader lists them (sorted URLs).
func hosts(urls ...string) []string {
	slices.Sort(urls)
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = host(u)
	}
	return out
}

// row returns the nodes table's row whose node is node, by field name.
func row(t *testing.T, f *data.Frame, node string) map[string]any {
	t.Helper()
	for i := 0; i < f.Rows(); i++ {
		if f.Fields[0].At(i) == node {
			out := map[string]any{}
			for _, fl := range f.Fields {
				out[fl.Name] = fl.At(i)
			}
			return out
		}
	}
	t.Fatalf("no row of node %s", node)
	return nil
}

// An agent reachable at two URLs (127.0.0.1 and localhost) is one agent:
// asked once, counted once in sums, health, the nodes table, node values and
// events, with a notice naming both URLs.
func TestAgentAtTwoURLsCountedOnce(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	for i := range 3 {
		a.Events.Add(dropEvent("db-0", i))
	}
	b.Events.Add(dropEvent("db-1", 9))
	r, err := direct.New(settings(5, a.URL, localhost(a.URL), b.URL), direct.WithDataSourceUID("dsuid"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	aURLs := host(a.URL) + " and " + host(localhost(a.URL))
	dup := "agent node-a reachable at URLs " + aURLs + ": counted once"

	resp := r.Query(ctx, models.Query{QueryType: models.QueryDrops, GroupBy: []string{"reason"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	// Each agent's NO_SOCKET rises 1/s and NETFILTER_DROP 2/s: two agents.
	got := lastValues(t, resp.Frames)
	if math.Abs(got["NO_SOCKET"]-2) > 1e-9 || math.Abs(got["NETFILTER_DROP"]-4) > 1e-9 {
		t.Fatalf("rates %v, want the sums of two agents", got)
	}
	if n := notices(resp.Frames); n != dup {
		t.Fatalf("notices %q, want %q", n, dup)
	}
	if n := a.Requests("/api/v1/series"); n != 1 {
		t.Fatalf("node-a was asked for series %d times, want once", n)
	}

	h := r.Health(ctx)
	if h.Status != backend.HealthStatusOk || !strings.HasPrefix(h.Message, "2 of 2 agents reachable (nodes node-a, node-b).") || !strings.Contains(h.Message, "Agent node-a reachable at URLs "+aURLs) {
		t.Fatalf("health %v %q", h.Status, h.Message)
	}

	resp = r.Query(ctx, models.Query{QueryType: models.QueryNodes}, query.Range{})
	if resp.Error != nil || resp.Frames[0].Rows() != 2 {
		t.Fatalf("nodes: %v %v", resp.Error, resp.Frames)
	}
	if agents := row(t, resp.Frames[0], "node-a")["agent"]; agents != host(a.URL)+", "+host(localhost(a.URL)) {
		t.Fatalf("node-a's agent addresses %q", agents)
	}
	if n := notices(resp.Frames); n != dup {
		t.Fatalf("nodes notices %q", n)
	}

	nodes, err := r.Values(ctx, query.LabelNode, models.Filters{}, query.Range{})
	if err != nil || strings.Join(nodes, ",") != "node-a,node-b" {
		t.Fatalf("node values %q %v", nodes, err)
	}

	resp = r.Query(ctx, models.Query{QueryType: models.QueryEvents}, lastRange(time.Now().Add(time.Second), time.Minute))
	if resp.Error != nil || resp.Frames[0].Rows() != 4 {
		t.Fatalf("events: %v, %d rows, want 4 (3 of node-a once, 1 of node-b)", resp.Error, resp.Frames[0].Rows())
	}
}

// The live stream of an agent reachable at two URLs shows each event once.
func TestStreamAgentAtTwoURLs(t *testing.T) {
	a := agent(t, "node-a", token, time.Now())
	r, _ := direct.New(settings(5, a.URL, localhost(a.URL)), direct.WithStreamTuning(10, 20*time.Millisecond, 64))
	path, _ := direct.EventsPath(models.Filters{})
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Stream(ctx, path, backend.NewStreamSender(rec)) }()
	// Both URLs' readers have the agent's status (one request each), and
	// one of them streams.
	waitFor(t, "a reader streaming", 5*time.Second, func() bool {
		l, _ := a.Events.Subscribers()
		return l == 1 && a.Requests("/api/v1/status") == 2
	})
	a.Events.Add(dropEvent("db-0", 1))
	waitFor(t, "the event", 5*time.Second, func() bool { rows, _ := rec.rows(); return len(rows) >= 1 })
	// The other URL's reader stands by: still one stream on the agent. A
	// second stream would have had the event too; the next event, once
	// shown, comes after any copy of the first.
	if l, _ := a.Events.Subscribers(); l != 1 {
		t.Fatalf("%d streams open on the agent, want 1", l)
	}
	a.Events.Add(dropEvent("db-0", 2))
	waitFor(t, "the second event", 5*time.Second, func() bool {
		rows, _ := rec.rows()
		for _, row := range rows {
			if row["src port"] == uint16(40002) {
				return true
			}
		}
		return false
	})
	if rows, _ := rec.rows(); len(rows) != 2 || a.Requests("/api/v1/events") != 1 {
		t.Fatalf("rows %v, %d event streams: want each event once, from one stream", rows, a.Requests("/api/v1/events"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Two machines giving the same node name are two agents, not merged: both
// count, and a notice says what is wrong.
func TestSameNodeNameOnTwoMachines(t *testing.T) {
	now := time.Now()
	a := directtest.Start(t, "node-x", directtest.Options{Token: token, BootID: "11111111-aaaa"})
	b := directtest.Start(t, "node-x", directtest.Options{Token: token, BootID: "22222222-bbbb"})
	for _, ag := range []*directtest.Agent{a, b} {
		ag.Fill(now, 20, []directtest.Series{{Labels: map[string]string{"__name__": "netlens_drop_packets_total", "reason": "NO_SOCKET"},
			Value: func(i int) float64 { return float64(15 * i) }}})
	}
	r, _ := direct.New(settings(5, a.URL, b.URL))
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, GroupBy: []string{"node"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if got := lastValues(t, resp.Frames); math.Abs(got["node-x"]-2) > 1e-9 {
		t.Fatalf("rates %v, want both machines' 1/s", got)
	}
	boots := map[string]string{host(a.URL): "11111111", host(b.URL): "22222222"}
	hs := hosts(a.URL, b.URL)
	want := `2 different machines report the node name "node-x": ` + hs[0] + ` (boot id ` + boots[hs[0]] + `) and ` + hs[1] +
		` (boot id ` + boots[hs[1]] + `). Each is counted, but their series add up under that one node name: give each agent its own --node-name`
	if n := notices(resp.Frames); n != want {
		t.Fatalf("notice %q\nwant %q", n, want)
	}
	h := r.Health(context.Background())
	if !strings.HasPrefix(h.Message, "2 of 2 agents reachable (nodes node-x, node-x).") || !strings.Contains(h.Message, "2 different machines") {
		t.Fatalf("health %q", h.Message)
	}
}

// One URL of an agent failing while the other answers is a notice, not an
// agent down; both URLs of an agent failing is one agent down.
func TestAgentURLsFailing(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	target, _ := url.Parse(a.URL)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	later := func() { clock.Add(int64(time.Minute)) } // past every status cache
	r, _ := direct.New(settings(5, a.URL, proxy.URL, b.URL), direct.WithNow(func() time.Time { return time.Unix(0, clock.Load()) }))
	ctx := context.Background()
	nodes := func() *data.Frame {
		resp := r.Query(ctx, models.Query{QueryType: models.QueryNodes}, query.Range{})
		if resp.Error != nil {
			t.Fatal(resp.Error)
		}
		return resp.Frames[0]
	}
	if f := nodes(); f.Rows() != 2 || !strings.Contains(notices(data.Frames{f}), "counted once") {
		t.Fatalf("%d rows, notices %q", f.Rows(), notices(data.Frames{f}))
	}
	proxy.Close()
	later()
	f := nodes()
	want := "agent node-a answered at " + host(a.URL) + " but not at " + host(proxy.URL) + ": connection refused"
	if n := notices(data.Frames{f}); n != want || f.Rows() != 2 || row(t, f, "node-a")["reachable"] != true {
		t.Fatalf("notices %q (want %q), %d rows", n, want, f.Rows())
	}
	a.Close()
	later()
	f = nodes()
	hs := hosts(a.URL, proxy.URL)
	want = "1 of 2 agents unreachable: " + hs[0] + " and " + hs[1] + ": connection refused"
	if n := notices(data.Frames{f}); n != want || f.Rows() != 2 || row(t, f, "node-a")["reachable"] != false {
		t.Fatalf("notices %q (want %q), %d rows", n, want, f.Rows())
	}
}

// A machine that rebooted answers with a new boot id at the URLs that reach
// it; a URL of it that fails now is still that agent (a notice), not a
// second agent of the same node that is down.
func TestRebootedAgentWithAFailingURL(t *testing.T) {
	now := time.Now()
	before := directtest.Start(t, "node-a", directtest.Options{Token: token, BootID: "11111111-aaaa"})
	after := directtest.Start(t, "node-a", directtest.Options{Token: token, BootID: "22222222-bbbb"})
	var target atomic.Pointer[httputil.ReverseProxy]
	to := func(a *directtest.Agent) {
		u, _ := url.Parse(a.URL)
		target.Store(httputil.NewSingleHostReverseProxy(u))
	}
	to(before)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { target.Load().ServeHTTP(w, req) }))
	t.Cleanup(first.Close)
	u, _ := url.Parse(before.URL)
	second := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	r, _ := direct.New(settings(5, first.URL, second.URL), direct.WithNow(func() time.Time { return time.Unix(0, clock.Load()) }))
	nodes := func() *data.Frame {
		resp := r.Query(context.Background(), models.Query{QueryType: models.QueryNodes}, query.Range{})
		if resp.Error != nil {
			t.Fatal(resp.Error)
		}
		return resp.Frames[0]
	}
	if f := nodes(); f.Rows() != 1 {
		t.Fatalf("%d rows before the reboot", f.Rows())
	}
	to(after)
	second.Close()
	clock.Add(int64(time.Minute)) // past every status cache
	f := nodes()
	want := "agent node-a answered at " + host(first.URL) + " but not at " + host(second.URL) + ": connection refused"
	if n := notices(data.Frames{f}); n != want || f.Rows() != 1 || row(t, f, "node-a")["reachable"] != true {
		t.Fatalf("after the reboot: notices %q (want %q), %d rows", n, want, f.Rows())
	}
}

// refusing is a front of the agent at agentURL that answers requests for
// path 429 with Retry-After *retryAfter while *refuse, counted down, is
// positive, as the agent's rate limit does.
func refusing(t *testing.T, agentURL, path string, refuse *atomic.Int64, retryAfter *atomic.Value) *httptest.Server {
	target, _ := url.Parse(agentURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == path && refuse.Add(-1) >= 0 {
			w.Header().Set("Retry-After", retryAfter.Load().(string))
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"too many requests from 127.0.0.1: slow down"}`))
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(front.Close)
	return front
}

// An agent answering 429 is asked again once its Retry-After has passed;
// while it keeps refusing, it is "rate limited", not "unreachable", naming
// the agent and the Retry-After.
func TestRateLimitedAgent(t *testing.T) {
	now := time.Now()
	a := agent(t, "node-a", token, now)
	var refuse atomic.Int64 // series requests to refuse before answering
	var retryAfter atomic.Value
	retryAfter.Store("2")
	front := refusing(t, a.URL, "/api/v1/series", &refuse, &retryAfter)
	var waits []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	r, _ := direct.New(settings(5, front.URL), direct.WithSleep(sleep))
	q := models.Query{QueryType: models.QueryDrops, Value: "packets"}

	// Two refusals, then an answer: the query succeeds without a notice.
	refuse.Store(2)
	resp := r.Query(context.Background(), q, lastRange(now, 4*time.Minute))
	if resp.Error != nil || notices(resp.Frames) != "" || resp.Frames[0].Rows() == 0 {
		t.Fatalf("after two 429s: %v %q", resp.Error, notices(resp.Frames))
	}
	if len(waits) != 2 || waits[0] != 2*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v, want the Retry-After twice", waits)
	}

	// Refusing on: three attempts, then rate limited.
	refuse.Store(1000)
	waits = nil
	resp = r.Query(context.Background(), q, lastRange(now.Add(time.Second), 4*time.Minute))
	want := "no agent answered: 1 of 1 agent rate limited this data source: " + host(front.URL) +
		": rate limited: 429 Too Many Requests, Retry-After 2s, still after 3 attempts. Raise the agents' --api-rate-limit (docs/api.md)"
	if resp.Error == nil || resp.Error.Error() != want {
		t.Fatalf("error %v\nwant %s", resp.Error, want)
	}
	if len(waits) != 2 {
		t.Fatalf("waits %v, want 2 between 3 attempts", waits)
	}

	// A Retry-After beyond the per-agent timeout (5 s) is not waited for.
	retryAfter.Store("60")
	waits = nil
	resp = r.Query(context.Background(), q, lastRange(now.Add(2*time.Second), 4*time.Minute))
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "rate limited: 429 Too Many Requests, Retry-After 1m0s, longer than the time left for the request") || len(waits) != 0 {
		t.Fatalf("long Retry-After: %v, waits %v", resp.Error, waits)
	}

	// Nor one beyond the query's own deadline (3 s, shorter than the
	// per-agent timeout): still rate limited, not unreachable.
	retryAfter.Store("4")
	waits = nil
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp = r.Query(ctx, q, lastRange(now.Add(3*time.Second), 4*time.Minute))
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "rate limited: 429 Too Many Requests, Retry-After 4s, longer than the time left for the request") || len(waits) != 0 {
		t.Fatalf("Retry-After past the query's deadline: %v, waits %v", resp.Error, waits)
	}
}

// The events replay is rate limited like every other request: retried after
// Retry-After, and "rate limited" when the agent keeps refusing.
func TestRateLimitedEventsReplay(t *testing.T) {
	now := time.Now()
	a := agent(t, "node-a", token, now)
	var refuse atomic.Int64
	var retryAfter atomic.Value
	retryAfter.Store("1")
	front := refusing(t, a.URL, "/api/v1/events", &refuse, &retryAfter)
	var waits []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	r, _ := direct.New(settings(5, front.URL), direct.WithSleep(sleep))
	q := models.Query{QueryType: models.QueryEvents}

	refuse.Store(1)
	resp := r.Query(context.Background(), q, lastRange(now, 4*time.Minute))
	if resp.Error != nil || len(waits) != 1 {
		t.Fatalf("after one 429: %v, waits %v", resp.Error, waits)
	}
	refuse.Store(1000)
	resp = r.Query(context.Background(), q, lastRange(now, 4*time.Minute))
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "1 of 1 agent rate limited this data source") || strings.Contains(resp.Error.Error(), "unreachable") {
		t.Fatalf("replay refused on: %v", resp.Error)
	}
}

// refreshQueries are the panel queries of the shipped app-flavour dashboards
// (dashboards/*.json, every variable at All) and the app's pages
// (src/pages/scenes), as one refresh of each sends them.
func refreshQueries() []models.Query {
	no := func(qt models.QueryType, value string, groupBy ...string) models.Query {
		return models.Query{QueryType: qt, Value: value, GroupBy: groupBy}
	}
	d, pd, nic, ifs, ns := models.QueryDrops, models.QueryPodDrops, models.QueryNIC, models.QueryInterfaces, models.QueryNetstat
	return []models.Query{
		// Overview dashboard.
		no(d, "packets"), no(nic, "packets"), {QueryType: models.QueryNodes}, {QueryType: models.QueryNodes},
		no(d, "packets", "reason"), no(pd, "packets", "namespace"), no(d, "packets", "node"), no(nic, "packets", "node"), no(ns, "packets"),
		// Drops dashboard.
		no(d, "packets", "reason"), no(d, "packets", "node"), no(pd, "packets", "namespace"), no(d, "bytes", "reason"),
		no(pd, "packets", "namespace", "pod", "direction", "reason"), no(d, "packets", "location", "protocol"), no(d, "packets", "reason"),
		// NIC dashboard.
		no(nic, "packets", "node"), no(d, "packets", "node"), no(nic, "packets", "node", "interface"), no(nic, "packets", "node", "interface", "counter"),
		no(ifs, "packets", "node", "interface"), no(nic, "packets", "node", "interface"), no(ns, "packets", "node"), no(d, "packets", "node", "reason"),
	}
}

// A refresh of 48 panels at once (the shipped dashboards, twice) within the
// agent's default rate limit: identical agent requests are shared, so the
// agent is asked for its status once and for each set of series once.
func TestRefreshSharesAgentRequests(t *testing.T) {
	now := time.Now()
	a := directtest.Start(t, "node-a", directtest.Options{Token: token, RatePerClient: config.DefaultAPIRate})
	a.Fill(now, 20, []directtest.Series{{Labels: map[string]string{"__name__": "netlens_drop_packets_total", "reason": "NO_SOCKET"},
		Value: func(i int) float64 { return float64(15 * i) }}})
	// A still clock: shared answers do not expire while this machine runs
	// the 48 queries, however slowly.
	r, _ := direct.New(settings(10, a.URL), direct.WithNow(func() time.Time { return now }))
	panels := append(refreshQueries(), refreshQueries()...)
	if len(panels) != 48 {
		t.Fatalf("%d panels", len(panels))
	}
	rg := lastRange(now, time.Hour)
	resps := make([]backend.DataResponse, len(panels))
	done := make(chan int)
	for i, q := range panels {
		go func() { resps[i] = r.Query(context.Background(), q, rg); done <- i }()
	}
	for range panels {
		<-done
	}
	distinct := map[string]bool{}
	for i, resp := range resps {
		if resp.Error != nil {
			t.Fatalf("panel %d (%+v): %v", i, panels[i], resp.Error)
		}
		for _, f := range resp.Frames {
			for _, n := range f.Meta.Notices {
				if n.Severity != data.NoticeSeverityInfo && !strings.Contains(n.Text, "direct mode shows only what the agents keep") {
					t.Fatalf("panel %d (%+v): notice %q", i, panels[i], n.Text)
				}
			}
		}
		if panels[i].QueryType != models.QueryNodes {
			distinct[string(panels[i].QueryType)+panels[i].Value] = true
		}
	}
	if n := a.Requests("/api/v1/status"); n != 1 {
		t.Errorf("%d status requests, want 1", n)
	}
	if n := a.Requests("/api/v1/series"); n != len(distinct) {
		t.Errorf("%d series requests, want %d: one per metric set", n, len(distinct))
	}
}

// When an agent's first URL answers its status but fails the series
// request (the connection drops), its other URL is asked: the agent counts
// as answered.
func TestAgentAskedAtItsOtherURL(t *testing.T) {
	now := time.Now()
	a := agent(t, "node-a", token, now)
	target, _ := url.Parse(a.URL)
	fwd := httputil.NewSingleHostReverseProxy(target)
	// 127.0.0.1 sorts before localhost: the flaky front is asked first.
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/api/v1/series" {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		fwd.ServeHTTP(w, req)
	}))
	t.Cleanup(flaky.Close)
	r, _ := direct.New(settings(5, flaky.URL, localhost(a.URL)))
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, GroupBy: []string{"reason"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	want := "agent node-a reachable at URLs " + host(flaky.URL) + " and " + host(localhost(a.URL)) + ": counted once"
	if got := lastValues(t, resp.Frames); math.Abs(got["NO_SOCKET"]-1) > 1e-9 || notices(resp.Frames) != want {
		t.Fatalf("rates %v, notices %q (want %q)", got, notices(resp.Frames), want)
	}
}
