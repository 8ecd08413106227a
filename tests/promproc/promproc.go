// Package promproc runs Debian's `prometheus` binary for tests: on a
// temporary data directory, with a given configuration, listening on a free
// loopback port; and backfills OpenMetrics text with `promtool tsdb
// create-blocks-from openmetrics` before it starts.
package promproc

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/testenv"
)

// Prometheus is a running Prometheus server.
type Prometheus struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	log     *testenv.SyncBuffer
	done    chan error
}

// Options configure Start.
type Options struct {
	// Config is prometheus.yml (empty: no scrape jobs).
	Config string
	// Backfill is OpenMetrics text (ending in "# EOF") turned into blocks in
	// the data directory before the server starts.
	Backfill string
}

// Start runs prometheus and waits until it is ready. It is stopped in t.Cleanup.
func Start(t testing.TB, opts Options) *Prometheus {
	t.Helper()
	testenv.RequireCommands(t, "prometheus", "promtool")
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if opts.Backfill != "" {
		in := filepath.Join(dir, "backfill.om")
		if err := os.WriteFile(in, []byte(opts.Backfill), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("promtool", "tsdb", "create-blocks-from", "openmetrics", in, dataDir).CombinedOutput()
		if err != nil {
			t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
		}
	}
	cfg := opts.Config
	if cfg == "" {
		cfg = "global:\n  scrape_interval: 15s\n"
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "check", "config", cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s\n%s", err, out, cfg)
	}
	addr := freeAddr(t)
	p := &Prometheus{URL: "http://" + addr, DataDir: dataDir, log: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command("prometheus",
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+dataDir,
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time=30d",
		"--log.level=warn",
	)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("prometheus exited before it was ready (%v):\n%s", err, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 60s:\n%s", p.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log is what the server logged so far.
func (p *Prometheus) Log() string { return p.log.String() }

// ScrapeConfig is a configuration scraping targets every interval, with
// extra labels (such as node and cluster) on every series.
func ScrapeConfig(interval time.Duration, targets []string, labels map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n  - job_name: netlens\n    scrape_interval: %s\n    scrape_timeout: %s\n    static_configs:\n      - targets: [", interval, interval, interval, interval)
	for i, t := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", t)
	}
	b.WriteString("]\n")
	if len(labels) > 0 {
		b.WriteString("        labels:\n")
		for k, v := range labels {
			fmt.Fprintf(&b, "          %s: %q\n", k, v)
		}
	}
	return b.String()
}

// Instant evaluates expr now with the server's own API: the reference the
// data source's answers are compared with.
func (p *Prometheus) Instant(t testing.TB, expr string) []Sample {
	t.Helper()
	resp, err := http.PostForm(p.URL+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("instant query %s: %v %s", expr, err, r.Error)
	}
	var out []Sample
	for _, s := range r.Data.Result {
		var v float64
		fmt.Sscan(s.Value[1].(string), &v)
		out = append(out, Sample{Labels: s.Metric, Value: v})
	}
	return out
}

// Sample is one series of an instant vector.
type Sample struct {
	Labels map[string]string
	Value  float64
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
