// Package agent_test runs the built netlens-agent binary as an operator would.
package agent_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

// Flags that keep an agent away from the node's real state and pins.
var isolated = []string{"--drop-source", "none", "--state-dir", "", "--bpffs-path", ""}

// The agent serves health, readiness and metrics; its exposition passes
// promtool's lint and names the running kernel; SIGTERM stops it cleanly.
func TestAgentServesAndStops(t *testing.T) {
	testenv.RequireCommands(t, "promtool")
	a := agentproc.Start(t, isolated...)

	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := testenv.HTTPGet(t, "http://"+a.Addr+p); code != 200 {
			t.Fatalf("GET %s: %d %q", p, code, body)
		}
	}
	code, metrics := testenv.HTTPGet(t, "http://"+a.Addr+"/metrics")
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
	// Drop counting was switched off, and the drops collector says so.
	if !strings.Contains(metrics, `netlens_agent_collector_up{collector="drops"} 0`) {
		t.Fatalf("drops collector not reported down:\n%s", metrics)
	}

	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(metrics)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	a.Stop(t)
}

// A bad flag stops the agent at once with exit code 2 and a message naming the flag.
func TestAgentRejectsBadFlags(t *testing.T) {
	bin := agentproc.Binary(t)
	for _, args := range [][]string{
		{"--log-level", "loud"},
		{"--listen-address", "nonsense"},
		{"--unknown"},
		{"--drop-source", "xdp"},
		{"--pods-file", "/nonexistent.json"},
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
	a := agentproc.Start(t, isolated...)
	var stderr bytes.Buffer
	cmd := exec.Command(agentproc.Binary(t), append([]string{"--listen-address", a.Addr}, isolated...)...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want code 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "cannot listen") || !strings.Contains(stderr.String(), a.Addr) {
		t.Fatalf("message lacks the reason or address:\n%s", stderr.String())
	}
}
