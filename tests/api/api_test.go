//go:build linux

// Package api tests the agent's HTTP API against a real agent counting real
// drops in the network lab: status, series history, the live event stream
// with pod names, token authentication, bad requests, and a stream client
// that stops reading while the agent keeps counting.
package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const token = "lab-token-123"

type setup struct {
	agent  *agentproc.Agent
	client *api.Client
	a, b   *lab.Pod
}

func start(t *testing.T, extra ...string) *setup {
	t.Helper()
	testenv.RequireBTF(t)
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	tokenPath := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--pods-file", lab.PodsFile(t, a, b), "--state-dir", "", "--bpffs-path", "",
		"--drain-interval", "500ms", "--history-interval", "1s", "--history-duration", "1m",
		"--token-file", tokenPath, "--drop-source", "tp_btf"}, extra...)
	ag := agentproc.Start(t, args...)
	return &setup{agent: ag, a: a, b: b, client: &api.Client{BaseURL: "http://" + ag.Addr, Token: token}}
}

func (s *setup) sendDrops(t *testing.T, n int) {
	t.Helper()
	if err := s.a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(s.b.IPv4, 9), n, 20) }); err != nil {
		t.Fatal(err)
	}
}

// The event stream delivers real drops with both pods named; the series
// history shows the pod's drop counter rising to the number sent; status
// reports the history and the stream's client.
func TestEventsAndSeriesFromRealDrops(t *testing.T) {
	s := start(t)
	// Bounds the stream and every call of the test; each wait has its own bound.
	ctx, cancel := context.WithTimeout(context.Background(), 3*testenv.Patience)
	defer cancel()
	got := make(chan api.DropEvent, 64)
	go func() {
		_ = s.client.Events(ctx, api.EventFilter{Reasons: []string{"NO_SOCKET"}, Namespaces: []string{lab.Namespace}}, func(e api.DropEvent) { got <- e })
	}()
	waitFor(t, "stream subscribed", func() bool {
		st, err := s.client.Status(ctx)
		return err == nil && st.Events.Clients == 1
	})
	const sent = 25
	s.sendDrops(t, sent)
	select {
	case e := <-got:
		if e.Reason != "NO_SOCKET" || e.Src.Pod != s.a.KubeName() || e.Dst.Pod != s.b.KubeName() || e.Dst.Port != 9 ||
			e.Src.Namespace != lab.Namespace || e.Protocol != "udp" || e.Bytes != 28 {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(testenv.Patience):
		t.Fatal("no event for real drops")
	}

	sel := fmt.Sprintf(`netlens_pod_drop_packets_total{pod=%q,direction="ingress",reason="NO_SOCKET"}`, s.b.KubeName())
	var last api.SeriesResponse
	waitFor(t, "history reaches the drops sent", func() bool {
		var err error
		last, err = s.client.Series(ctx, []string{sel}, time.Now().Add(-time.Minute), time.Now())
		if err != nil || len(last.Series) != 1 {
			return false
		}
		smp := last.Series[0].Samples
		return smp[len(smp)-1].V == sent
	})
	smp := last.Series[0].Samples
	for i := 1; i < len(smp); i++ {
		if smp[i].T <= smp[i-1].T || smp[i].V < smp[i-1].V {
			t.Fatalf("samples not in time order or counter fell: %+v", smp)
		}
	}
	if last.IntervalSeconds != 1 {
		t.Fatalf("interval %v", last.IntervalSeconds)
	}
	// A range before the drops holds no sample of the pod's series.
	if r, err := s.client.Series(ctx, []string{sel}, time.Now().Add(-time.Hour), time.Now().Add(-50*time.Minute)); err != nil || len(r.Series) != 0 {
		t.Fatalf("old range: %+v %v", r, err)
	}
	st, err := s.client.Status(ctx)
	if err != nil || st.History.Series == 0 || st.History.Bytes == 0 || st.History.DurationSeconds != 60 {
		t.Fatalf("status history %+v (%v)", st.History, err)
	}
}

// Without the token, or with a wrong one, the API answers 401; health and
// metrics stay open (no --metrics-auth); bad requests get a JSON error.
func TestAuthAndBadRequests(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	for _, tok := range []string{"", "wrong"} {
		c := &api.Client{BaseURL: s.client.BaseURL, Token: tok}
		_, err := c.Status(ctx)
		var se *api.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusUnauthorized {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
	if code, _ := testenv.HTTPGet(t, s.client.BaseURL+"/metrics"); code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	_, err := s.client.Series(ctx, []string{`{reason=~".*"}`}, time.Now().Add(-time.Minute), time.Now())
	var se *api.StatusError
	if !errors.As(err, &se) || se.Code != 400 || !strings.Contains(se.Message, "matches the empty string") {
		t.Fatalf("bad selector: %v", err)
	}
}

// A stream client that stops reading while drops flood in is disconnected
// (its queue overflows; the agent does not wait for it), and the agent keeps
// counting every drop exactly and answers scrapes meanwhile. How fast the
// scrape is depends on the machine, so it is not timed.
func TestSlowStreamClientDoesNotStallAgent(t *testing.T) {
	s := start(t, "--drop-events-per-second", "200000")
	conn, err := net.Dial("tcp", s.agent.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096) // fill up soon
	}
	fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer %s\r\n\r\n", token)
	waitFor(t, "stream subscribed", func() bool {
		st, err := s.client.Status(context.Background())
		return err == nil && st.Events.Clients == 1
	})
	const sent = 60000
	s.sendDrops(t, sent)
	waitFor(t, "the silent client is dropped", func() bool {
		st, err := s.client.Status(context.Background())
		return err == nil && st.Events.ClientsDropped >= 1
	})
	m := s.agent.Metrics(t)
	got := m.Sum("netlens_pod_drop_packets_total", map[string]string{"pod": s.b.KubeName(), "direction": "ingress", "reason": "NO_SOCKET"})
	if got != sent {
		t.Fatalf("counted %v of %d drops with a stalled stream client", got, sent)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testenv.Patience); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}
