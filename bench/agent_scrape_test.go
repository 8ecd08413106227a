// Package bench holds Netlens's performance benchmarks. Results are recorded
// in bench/README.md with the command that produced them.
package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/netlens/netlens/agent"
	"github.com/netlens/netlens/agent/config"
)

// BenchmarkAgentScrape measures one Prometheus scrape of a real agent's
// /metrics over HTTP: the baseline that collectors add their cost to.
func BenchmarkAgentScrape(b *testing.B) {
	a, err := agent.New(config.Config{DropSource: "none"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	client := srv.Client()
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		resp, err := client.Get(srv.URL + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		size = n
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}
