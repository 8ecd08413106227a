// Package agentproc runs the built netlens-agent binary for tests, reads its
// address from its own start-up log line, and scrapes and parses its metrics.
package agentproc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	cmd  *exec.Cmd
	log  *testenv.SyncBuffer
	done chan error
}

// Start runs the agent with args (plus --listen-address 127.0.0.1:0 unless
// given) and waits for it to log that it started. It is killed in t.Cleanup
// if the test did not stop it.
func Start(t testing.TB, args ...string) *Agent {
	t.Helper()
	if !hasFlag(args, "--listen-address") {
		args = append([]string{"--listen-address", "127.0.0.1:0"}, args...)
	}
	a := &Agent{log: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	a.cmd = exec.Command(Binary(t), args...)
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
	code, body := testenv.HTTPGet(t, "http://"+a.Addr+"/api/v1/status")
	var st api.Status
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /api/v1/status: %d %s", code, body)
	}
	return st
}

// Metrics scrapes /metrics and parses the exposition.
func (a *Agent) Metrics(t testing.TB) Metrics {
	t.Helper()
	code, body := testenv.HTTPGet(t, "http://"+a.Addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	m, err := Parse(body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return m
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
