// Package agent_test runs the built netlens-agent binary as an operator would.
package agent_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/tests/testenv"
)

// startAgent starts the agent on a free loopback port and returns its address,
// read from the agent's own "started" log line.
func startAgent(t *testing.T, bin string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "--listen-address", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("agent exited before it started")
			}
			var rec struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("agent log line is not JSON: %q", line)
			}
			if rec.Msg == "netlens-agent started" {
				go func() {
					for range lines {
					}
				}()
				return cmd, rec.Address
			}
		case <-timeout:
			t.Fatal("agent did not log its start within 10s")
		}
	}
}

// The agent serves health, readiness and metrics; its exposition passes
// promtool's lint and names the running kernel; SIGTERM stops it cleanly.
func TestAgentServesAndStops(t *testing.T) {
	testenv.RequireCommands(t, "promtool")
	bin := testenv.GoBuild(t, "./agent/cmd/netlens-agent", "netlens-agent")
	cmd, addr := startAgent(t, bin)

	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := testenv.HTTPGet(t, "http://"+addr+p); code != 200 {
			t.Fatalf("GET %s: %d %q", p, code, body)
		}
	}
	code, metrics := testenv.HTTPGet(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	kernel := unix.ByteSliceToString(u.Release[:])
	want := `netlens_agent_info{drop_source="none",kernel="` + kernel + `",version="dev"} 1`
	if !strings.Contains(metrics, want) {
		t.Fatalf("metrics lack %s:\n%s", want, metrics)
	}

	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(metrics)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after SIGTERM")
	}
}

// A bad flag stops the agent at once with exit code 2 and a message naming the flag.
func TestAgentRejectsBadFlags(t *testing.T) {
	bin := testenv.GoBuild(t, "./agent/cmd/netlens-agent", "netlens-agent")
	for _, args := range [][]string{
		{"--log-level", "loud"},
		{"--listen-address", "nonsense"},
		{"--unknown"},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%v: exit %v, want code 2; stderr:\n%s", args, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), strings.TrimLeft(args[0], "-")) {
			t.Fatalf("%v: message does not name the flag:\n%s", args, stderr.String())
		}
	}
}

// A listen address already in use is a runtime failure (exit 1), logged with the address.
func TestAgentReportsBusyPort(t *testing.T) {
	bin := testenv.GoBuild(t, "./agent/cmd/netlens-agent", "netlens-agent")
	_, addr := startAgent(t, bin)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--listen-address", addr)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "cannot listen") || !strings.Contains(stderr.String(), addr) {
		t.Fatalf("message lacks the reason or address:\n%s", stderr.String())
	}
}
