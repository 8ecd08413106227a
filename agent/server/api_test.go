package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/tests/testenv"
)

type apiFixture struct {
	srv    *httptest.Server
	events *events.Buffer
	hist   *history.Store
	token  string
	file   string
}

func newAPI(t *testing.T, opts Options) *apiFixture {
	t.Helper()
	f := &apiFixture{events: events.NewBuffer(16), hist: history.New(time.Minute, 15*time.Second, 100)}
	reg := prometheus.NewRegistry()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Gatherer, opts.History, opts.Events = reg, f.hist, f.events
	opts.Status = func() api.Status { return api.Status{Node: "n1"} }
	if opts.Token != nil {
		f.file = opts.Token.path
	}
	f.srv = httptest.NewServer(New(opts).Handler())
	t.Cleanup(f.srv.Close)
	return f
}

func get(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// /api/v1/series answers a selector over a time range from the history,
// and rejects bad requests with a JSON error that says what is wrong.
func TestSeriesEndpoint(t *testing.T) {
	f := newAPI(t, Options{})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		f.hist.Add(t0.Add(time.Duration(i)*15*time.Second), []history.Sample{
			{Labels: []history.Label{{Name: "__name__", Value: "netlens_drop_packets_total"}, {Name: "reason", Value: "NO_SOCKET"}}, Value: float64(i)},
			{Labels: []history.Label{{Name: "__name__", Value: "netlens_drop_packets_total"}, {Name: "reason", Value: "NETFILTER_DROP"}}, Value: 7},
		})
	}
	code, body, _ := get(t, f.srv.URL+`/api/v1/series?match=netlens_drop_packets_total{reason="NO_SOCKET"}&start=1700000010&end=2023-11-14T22:13:50Z`, "")
	var resp api.SeriesResponse
	if code != 200 || json.Unmarshal([]byte(body), &resp) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if len(resp.Series) != 1 || len(resp.Series[0].Samples) != 2 || resp.Series[0].Samples[0].V != 1 || resp.IntervalSeconds != 15 {
		t.Fatalf("response %+v", resp)
	}
	// Two selectors matching one series answer it once.
	code, body, _ = get(t, f.srv.URL+`/api/v1/series?match=netlens_drop_packets_total&match={reason="NETFILTER_DROP"}&start=1700000000&end=1700000030`, "")
	if json.Unmarshal([]byte(body), &resp) != nil || code != 200 || len(resp.Series) != 2 {
		t.Fatalf("union: %d %s", code, body)
	}
	for query, want := range map[string]string{
		``:                         "give 1 to 16 match parameters",
		`?match={x=~".*"}`:         "matches the empty string",
		`?match=a&start=yesterday`: `start: "yesterday" is neither RFC 3339 nor Unix seconds`,
		`?match=a&start=20&end=10`: "start is after end",
		`?match=a&limit=0`:         "limit: want 1 to 10000",
		`?match=a&step=15`:         `unknown parameter "step"`,
		`?match=netlens_drop_packets_total&start=1700000000&end=1700000030&limit=1`: "matches 2 series, more than the limit of 1",
	} {
		code, body, _ := get(t, f.srv.URL+"/api/v1/series"+query, "")
		var e api.Error
		if code < 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, want) {
			t.Errorf("%s: %d %s, want an error containing %q", query, code, body, want)
		}
	}
	if code, _, _ := get(t, f.srv.URL+"/api/v1/nope", ""); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", code)
	}
	resp2, err := http.Post(f.srv.URL+"/api/v1/series?match=a", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp2.StatusCode)
	}
}

// readEvent reads SSE frames until a data line, skipping comments.
func readEvent(t *testing.T, r *bufio.Reader) (event, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			return event, strings.TrimPrefix(line, "data: ")
		}
	}
}

func openStream(t *testing.T, url string) *bufio.Reader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, ":") {
		t.Fatalf("first line %q", line)
	}
	return r
}

func waitSubscribers(t *testing.T, b *events.Buffer, n int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%d subscribers", n), func() bool { live, _ := b.Subscribers(); return live == n })
}

// /api/v1/events streams the events that pass the filters, replays the kept
// ones on request, and disconnects a client that stops reading instead of
// making the agent wait for it.
func TestEventStream(t *testing.T) {
	f := newAPI(t, Options{})
	f.events.Add(api.DropEvent{Reason: "OLD"})
	f.events.Add(api.DropEvent{Reason: "NO_SOCKET", Src: api.Endpoint{Namespace: "prod", Pod: "kept"}})
	r := openStream(t, f.srv.URL+"/api/v1/events?reason=NO_SOCKET,NETFILTER_DROP&namespace=prod&replay=true")
	waitSubscribers(t, f.events, 1)
	f.events.Add(api.DropEvent{Reason: "NO_SOCKET", Src: api.Endpoint{Namespace: "dev"}})
	f.events.Add(api.DropEvent{Reason: "TCP_CSUM", Dst: api.Endpoint{Namespace: "prod"}})
	f.events.Add(api.DropEvent{Reason: "NETFILTER_DROP", Dst: api.Endpoint{Namespace: "prod", Pod: "db-0"}})
	_, data := readEvent(t, r)
	var e api.DropEvent
	if json.Unmarshal([]byte(data), &e) != nil || e.Src.Pod != "kept" {
		t.Fatalf("replayed event: %s", data)
	}
	_, data = readEvent(t, r)
	if json.Unmarshal([]byte(data), &e) != nil || e.Reason != "NETFILTER_DROP" || e.Dst.Pod != "db-0" {
		t.Fatalf("first event through the filter: %s", data)
	}

	// A client that never reads: the agent keeps adding events without
	// blocking and drops the client once it is a buffer behind.
	slow := openStream(t, f.srv.URL+"/api/v1/events")
	waitSubscribers(t, f.events, 2)
	done := make(chan struct{})
	go func() {
		for range 50 * streamBuffer {
			f.events.Add(api.DropEvent{Reason: "NO_SOCKET", Dst: api.Endpoint{Namespace: "x"}})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testenv.Patience): // blocked adds never end; a slow machine still ends them
		t.Fatal("adding events blocked on a slow client")
	}
	if _, dropped := f.events.Subscribers(); dropped == 0 {
		t.Fatal("slow client not dropped")
	}
	for {
		ev, data := readEvent(t, slow)
		if ev == "error" {
			if !strings.Contains(data, "client too slow") {
				t.Fatalf("error event %s", data)
			}
			break
		}
	}
	for query, want := range map[string]string{"?replay=maybe": "replay: want true or false", "?since=1": `unknown parameter`} {
		if code, body, _ := get(t, f.srv.URL+"/api/v1/events"+query, ""); code != 400 || !strings.Contains(body, want) {
			t.Errorf("%s: %d %s", query, code, body)
		}
	}
}

// ?interface= matches the device exactly as the event shows it: a name in
// the agent's namespace, or "ifindex N in netns X" for a pod's device.
func TestEventStreamInterfaceFilter(t *testing.T) {
	f := newAPI(t, Options{})
	r := openStream(t, f.srv.URL+"/api/v1/events?interface="+url.QueryEscape("veth-b,ifindex 3 in netns cni-x"))
	waitSubscribers(t, f.events, 1)
	for _, e := range []api.DropEvent{
		{Reason: "A", Interface: "veth-b", Ifindex: 7},
		{Reason: "no", Interface: "veth-bb"},
		{Reason: "no", Ifindex: 7},                    // "ifindex 7": not by the name it once had
		{Reason: "no", Ifindex: 3, Netns: 4026532246}, // another unnamed namespace
		{Reason: "no"}, // no device
		{Reason: "B", Ifindex: 3, Netns: 4026532246, NetnsName: "cni-x"},
	} {
		f.events.Add(e)
	}
	for _, want := range []string{"A", "B"} {
		var e api.DropEvent
		if _, data := readEvent(t, r); json.Unmarshal([]byte(data), &e) != nil || e.Reason != want {
			t.Fatalf("want event %s, got %s", want, data)
		}
	}
}

// With a token, /api/v1 needs it (missing or wrong: 401), /metrics only when
// protected, health never; a new token in the file is taken without a restart.
func TestTokenAuth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := NewTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newAPI(t, Options{Token: tok, ProtectMetrics: true})
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/status", "", 401}, {"/api/v1/status", "wrong", 401}, {"/api/v1/status", "s3cret", 200},
		{"/metrics", "", 401}, {"/metrics", "s3cret", 200}, {"/healthz", "", 200}, {"/api/v1/nope", "", 401},
	} {
		if code, body, h := get(t, f.srv.URL+c.path, c.token); code != c.want {
			t.Errorf("%s with %q: %d %s", c.path, c.token, code, body)
		} else if code == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.path)
		}
	}
	if err := os.WriteFile(path, []byte("rotated-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	recheckDue(tok)
	if code, _, _ := get(t, f.srv.URL+"/api/v1/status", "rotated-token"); code != 200 {
		t.Fatalf("rotated token refused: %d", code)
	}
	if code, _, _ := get(t, f.srv.URL+"/api/v1/status", "s3cret"); code != 401 {
		t.Fatalf("old token still accepted: %d", code)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	recheckDue(tok)
	if code, _, _ := get(t, f.srv.URL+"/api/v1/status", "rotated-token"); code != 200 {
		t.Fatalf("an emptied token file must keep the last good token: %d", code)
	}
	if _, err := NewTokenFile(path); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty token file accepted at start: %v", err)
	}
}

// recheckDue moves the token file's last look back by tokenRecheck, as if
// that time had passed: the next request looks at the file again.
func recheckDue(tok *TokenFile) {
	tok.mu.Lock()
	defer tok.mu.Unlock()
	tok.checked = tok.checked.Add(-tokenRecheck)
}

// One client beyond its rate gets 429 with Retry-After; others are not affected.
func TestRateLimit(t *testing.T) {
	const rate, burst = 1, 2
	f := newAPI(t, Options{RatePerClient: rate})
	limited := 0
	start := time.Now()
	for range 30 {
		code, _, h := get(t, f.srv.URL+"/api/v1/status", "")
		if code == http.StatusTooManyRequests {
			limited++
			if h.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	// However long the requests took, the bucket admitted at most its burst
	// plus what refilled meanwhile; the rest was refused.
	elapsed := time.Since(start)
	if admitted := burst + int(elapsed.Seconds()*rate); limited < 30-admitted {
		t.Fatalf("only %d of 30 requests in %v limited at %d/s with bursts of %d", limited, elapsed, rate, burst)
	}
	l := newRateLimiter(5)
	now := time.Now()
	for range 10 {
		l.allow("a", now)
	}
	ok := func(client string, at time.Time) bool { ok, _ := l.allow(client, at); return ok }
	if ok("a", now) || !ok("b", now) || !ok("a", now.Add(time.Second)) {
		t.Fatal("buckets are not per client or do not refill")
	}
	// The wait is until the next token: 1/5 s from an empty bucket, less
	// what has refilled since.
	for range 10 {
		l.allow("d", now)
	}
	near := func(d, want time.Duration) bool { return (d - want).Abs() < time.Millisecond }
	if allowed, wait := l.allow("d", now); allowed || !near(wait, 200*time.Millisecond) {
		t.Fatalf("empty bucket: allowed %v, wait %v, want a refusal and 200ms", allowed, wait)
	}
	if allowed, wait := l.allow("d", now.Add(150*time.Millisecond)); allowed || !near(wait, 50*time.Millisecond) {
		t.Fatalf("150ms later: allowed %v, wait %v, want a refusal and 50ms", allowed, wait)
	}
	// Slow limits say how slow: at 0.1/s a token takes 10 s.
	slow := newRateLimiter(0.1)
	if allowed, _ := slow.allow("c", now); !allowed {
		t.Fatal("0.1/s admits no request at all")
	}
	if allowed, wait := slow.allow("c", now); allowed || wait != 10*time.Second {
		t.Fatalf("0.1/s: allowed %v, wait %v, want 10s", allowed, wait)
	}
}
