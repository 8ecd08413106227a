//go:build linux

// Package agentproc runs the built netlens-agent binary for tests, reads its
// address from its own start-up log line, and scrapes and parses its metrics.
package agentproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/drops"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  string
)

// Binary builds netlens-agent once per test process, into bin/test/ of the
// repository (ignored by git, reused by the next run), and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		var b bytes.Buffer
		dir := filepath.Join(testenv.RepoRoot(t), "bin", "test")
		sweepStaleBinaries(dir)
		binPath = filepath.Join(dir, fmt.Sprintf("netlens-agent-%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-o", binPath, "./agent/cmd/netlens-agent")
		cmd.Dir = testenv.RepoRoot(t)
		cmd.Env = append(cmd.Environ(), "GOTOOLCHAIN=local")
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Sprintf("go build: %v\n%s", err, b.String())
		}
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return binPath
}

// Agent is a running agent process.
type Agent struct {
	Addr string
	// Netns is the named network namespace the agent runs in; "" is the test's own.
	Netns  string
	cmd    *exec.Cmd
	log    *testenv.SyncBuffer
	done   chan error
	client *http.Client
}

// Options change how StartWith runs the agent.
type Options struct {
	// Netns, when set, runs the agent inside the named network namespace
	// (/run/netns/<Netns>, as `ip netns add` makes) with `ip netns exec`, which
	// execs the agent in place, so PID and signals reach the agent itself. The
	// agent's HTTP requests are then dialled from inside that namespace, so
	// its 127.0.0.1 listener is reachable.
	Netns string
	// Binary, when set, is the agent executable to run instead of the one
	// Binary builds (e.g. one built with testenv.GoBuild and other flags).
	Binary string
}

// Start runs the agent with args (plus --listen-address 127.0.0.1:0 unless
// given) and waits for it to log that it started. It is killed in t.Cleanup
// if the test did not stop it.
func Start(t testing.TB, args ...string) *Agent {
	t.Helper()
	return StartWith(t, Options{}, args...)
}

// StartWith is Start with options (e.g. inside a network namespace).
func StartWith(t testing.TB, opts Options, args ...string) *Agent {
	t.Helper()
	if !hasFlag(args, "--listen-address") {
		args = append([]string{"--listen-address", "127.0.0.1:0"}, args...)
	}
	a := &Agent{log: &testenv.SyncBuffer{}, done: make(chan error, 1), Netns: opts.Netns, client: http.DefaultClient}
	bin := opts.Binary
	if bin == "" {
		bin = Binary(t)
	}
	if opts.Netns == "" {
		a.cmd = exec.Command(bin, args...)
	} else {
		a.cmd = exec.Command("ip", append([]string{"netns", "exec", opts.Netns, bin}, args...)...)
		a.client = netnsClient(opts.Netns)
		t.Cleanup(a.client.CloseIdleConnections)
	}
	pr, pw := io.Pipe()
	a.cmd.Stderr = pw
	a.cmd.Stdout = a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			_ = a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log.String())
		}
	})

	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = a.log.Write([]byte(line + "\n"))
			var rec struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if !sent && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "netlens-agent started" {
				started <- rec.Address
				sent = true
			}
		}
	}()
	select {
	case a.Addr = <-started:
		return a
	case err := <-a.done:
		a.done <- err
		t.Fatalf("agent exited before it started (%v):\n%s", err, a.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not start within 60s:\n%s", a.log.String())
	}
	return nil
}

// DropFlags are flags for an agent counting drops in one test: the pod
// inventory, its own state directory and pin path (the pins are removed
// after the test), and a short drain interval.
func DropFlags(t testing.TB, podsPath string) []string {
	t.Helper()
	return append([]string{"--pods-file", podsPath}, StateFlags(t)...)
}

// StateFlags are DropFlags without a pod inventory: the agent's own state
// directory and pin path, and a short drain interval.
func StateFlags(t testing.TB) []string {
	t.Helper()
	pin := fmt.Sprintf("/sys/fs/bpf/netlens-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		_ = drops.Unpin(pin)
		_ = os.Remove(pin)
	})
	return []string{"--state-dir", t.TempDir(), "--bpffs-path", pin, "--drain-interval", "1s"}
}

// Stop sends SIGTERM and waits for a clean exit.
func (a *Agent) Stop(t testing.TB) {
	t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.done:
		if err != nil {
			t.Fatalf("agent did not exit cleanly: %v\n%s", err, a.log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent still running 30s after SIGTERM")
	}
}

// PID is the agent's process id.
func (a *Agent) PID() int { return a.cmd.Process.Pid }

// Log is what the agent logged so far.
func (a *Agent) Log() string { return a.log.String() }

// Status fetches /api/v1/status.
func (a *Agent) Status(t testing.TB) api.Status {
	t.Helper()
	code, body := a.get(t, "/api/v1/status")
	var st api.Status
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /api/v1/status: %d %s", code, body)
	}
	return st
}

// Metrics scrapes /metrics and parses the exposition.
func (a *Agent) Metrics(t testing.TB) Metrics {
	t.Helper()
	m, err := a.Scrape()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Scrape is Metrics that returns its error instead of failing the test, for
// goroutines other than the test's.
func (a *Agent) Scrape() (Metrics, error) {
	resp, err := a.client.Get("http://" + a.Addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading /metrics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	m, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %v\n%s", err, b)
	}
	return m, nil
}

// APIClient is a client of the agent's API with token ("" for none) that
// reaches the agent in its namespace, with no overall timeout (event streams
// run until their context ends).
func (a *Agent) APIClient(token string) *api.Client {
	hc := *a.client
	hc.Timeout = 0
	return &api.Client{BaseURL: "http://" + a.Addr, Token: token, HTTP: &hc}
}

// CloseIdleConnections closes the test's idle keep-alive connections to the agent.
func (a *Agent) CloseIdleConnections() { a.client.CloseIdleConnections() }

func (a *Agent) get(t testing.TB, path string) (int, string) {
	t.Helper()
	if a.Netns == "" {
		return testenv.HTTPGet(t, "http://"+a.Addr+path)
	}
	resp, err := a.client.Get("http://" + a.Addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// netnsClient is an HTTP client whose connections are opened from inside the
// named network namespace: a socket belongs to the namespace of the thread
// that created it, and keeps it whichever thread uses it later.
func netnsClient(netns string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := dialInNetns(ctx, netns, network, addr)
			done <- result{c, err}
		}()
		r := <-done
		return r.c, r.err
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func dialInNetns(ctx context.Context, netns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := lab.InNetns(netns, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Metrics are parsed metric families by name.
type Metrics map[string]*dto.MetricFamily

// Parse parses the Prometheus text format.
func Parse(text string) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(text))
}

// Sum adds up the values of name's series whose labels include all of labels.
func (m Metrics) Sum(name string, labels map[string]string) float64 {
	var sum float64
	for _, s := range m.Series(name, labels) {
		sum += s.Value
	}
	return sum
}

// Series is one series: its labels and value.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Series lists name's series whose labels include all of labels.
func (m Metrics) Series(name string, labels map[string]string) []Series {
	mf, ok := m[name]
	if !ok {
		return nil
	}
	var out []Series
outer:
	for _, metric := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range metric.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue outer
			}
		}
		var v float64
		switch {
		case metric.Counter != nil:
			v = metric.GetCounter().GetValue()
		case metric.Gauge != nil:
			v = metric.GetGauge().GetValue()
		case metric.Untyped != nil:
			v = metric.GetUntyped().GetValue()
		}
		out = append(out, Series{Labels: got, Value: v})
	}
	return out
}

// sweepStaleBinaries removes the binaries of test processes that ended.
func sweepStaleBinaries(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pidStr, ok := strings.CutPrefix(e.Name(), "netlens-agent-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}
