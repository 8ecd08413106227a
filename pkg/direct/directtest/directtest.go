// Package directtest runs in-process Netlens agents for tests and
// benchmarks of direct mode: the agent's own HTTP server (agent/server)
// over a history store and an event buffer that the test fills, so the
// agent API they answer is the real one, byte for byte.
package directtest

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/agent/server"
)

// Agent is an in-process agent API server.
type Agent struct {
	URL     string
	Node    string
	BootID  string
	History *history.Store
	Events  *events.Buffer
	srv     *httptest.Server

	mu       sync.Mutex
	requests map[string]int
}

// Options configure an Agent.
type Options struct {
	// Interval and Window of the history (defaults 15 s and 15 min, the agent's).
	Interval, Window time.Duration
	// Token, when set, is required as the bearer token.
	Token string
	// BootID is the boot id the status reports (default: one of its own
	// per agent, as different machines have).
	BootID string
	// RatePerClient is the agent's --api-rate-limit (default: none).
	RatePerClient float64
}

var boots atomic.Uint64

// Start runs an agent for node; it stops in t.Cleanup.
func Start(t testing.TB, node string, o Options) *Agent {
	t.Helper()
	if o.Interval == 0 {
		o.Interval = 15 * time.Second
	}
	if o.Window == 0 {
		o.Window = 15 * time.Minute
	}
	if o.BootID == "" {
		o.BootID = fmt.Sprintf("%08d-test-boot-id", boots.Add(1))
	}
	a := &Agent{Node: node, BootID: o.BootID, History: history.New(o.Window, o.Interval, 100000), Events: events.NewBuffer(1024), requests: map[string]int{}}
	opts := server.Options{
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		History:       a.History,
		Events:        a.Events,
		RatePerClient: o.RatePerClient,
		Status: func() api.Status {
			return api.Status{Node: node, BootID: o.BootID, Kernel: "6.18.0-test", Version: "test", DropSource: "tp_btf",
				Collectors: []api.CollectorStatus{{Name: "drops", Up: true}, {Name: "nic", Up: false, Error: "no ethtool"}},
				History:    a.History.Status()}
		},
	}
	if o.Token != "" {
		p := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(p, []byte(o.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tf, err := server.NewTokenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		opts.Token = tf
	}
	h := server.New(opts).Handler()
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests[r.URL.Path]++
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	a.URL = a.srv.URL
	t.Cleanup(a.Close)
	return a
}

// Requests is how many requests the agent received for path (e.g. /api/v1/series).
func (a *Agent) Requests(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[path]
}

// Close stops the server (its clients then get connection refused).
func (a *Agent) Close() {
	a.srv.CloseClientConnections()
	a.srv.Close()
}

// Series is one counter for Fill: its labels (with __name__) and its value
// at round i (NaN leaves the round out).
type Series struct {
	Labels map[string]string
	Value  func(i int) float64
}

// Fill adds rounds of the series, one every interval, the last at end.
func (a *Agent) Fill(end time.Time, rounds int, series []Series) {
	iv := a.History.Interval()
	for i := range rounds {
		var smp []history.Sample
		for _, s := range series {
			v := s.Value(i)
			if v != v {
				continue
			}
			var ls []history.Label
			ls = append(ls, history.Label{Name: "__name__", Value: s.Labels["__name__"]})
			for k, val := range s.Labels {
				if k != "__name__" {
					ls = append(ls, history.Label{Name: k, Value: val})
				}
			}
			sortLabels(ls[1:])
			smp = append(smp, history.Sample{Labels: ls, Value: v})
		}
		a.History.Add(end.Add(-time.Duration(rounds-1-i)*iv), smp)
	}
}

func sortLabels(ls []history.Label) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}
