package observe

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/server"
	"github.com/netlens/netlens/tests/testenv"
)

// A drop reads as one line: time, both ends with pods, protocol, reason,
// location, size and interface; ICMP shows type and code, IPv6 brackets.
func TestFormat(t *testing.T) {
	ts := time.Date(2026, 11, 26, 15, 4, 5, 123e6, time.Local)
	got := Format(api.DropEvent{Time: ts, Reason: "NETFILTER_DROP", Location: "nf_hook_slow", Protocol: "tcp", Bytes: 60, Interface: "eth0",
		Src: api.Endpoint{IP: "10.0.0.9", Port: 41234, Namespace: "default", Pod: "web-7f"},
		Dst: api.Endpoint{IP: "10.0.0.5", Port: 5432, Namespace: "prod", Pod: "db-0"}})
	want := "Nov 26 15:04:05.123 10.0.0.9:41234 (default/web-7f) -> 10.0.0.5:5432 (prod/db-0) tcp NETFILTER_DROP at nf_hook_slow, 60 bytes on eth0"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	got = Format(api.DropEvent{Time: ts, Reason: "NO_SOCKET", Protocol: "icmpv6", Bytes: 8, Ifindex: 7,
		Src: api.Endpoint{IP: "fd00::1", Port: 128}, Dst: api.Endpoint{IP: "fd00::2"}})
	if !strings.Contains(got, "[fd00::1] type 128 -> [fd00::2] code 0 icmpv6 NO_SOCKET, 8 bytes on ifindex 7") {
		t.Fatalf("got %s", got)
	}
	got = Format(api.DropEvent{Time: ts, Reason: "NO_SOCKET", Protocol: "udp", Bytes: 28, Ifindex: 2, Netns: 4026532246, NetnsName: "cni-1f0c"})
	if !strings.HasSuffix(got, "udp NO_SOCKET, 28 bytes on ifindex 2 in netns cni-1f0c") {
		t.Fatalf("got %s", got)
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// observe prints the replayed and then the live drops that pass its
// filters, with the token from its file; a wrong token ends it with an error.
func TestRunAgainstAgent(t *testing.T) {
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenPath, []byte("t0k"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := server.NewTokenFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	buf := events.NewBuffer(8)
	buf.Add(api.DropEvent{Reason: "NO_SOCKET", Protocol: "udp", Dst: api.Endpoint{IP: "10.0.0.1", Namespace: "prod", Pod: "old"}, Interface: "veth-b"})
	srv := httptest.NewServer(server.New(server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gatherer: prometheus.NewRegistry(), Status: func() api.Status { return api.Status{} }, Events: buf, Token: tok}).Handler())
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncWriter
	done := make(chan int)
	go func() {
		done <- Run(ctx, []string{"--server", srv.URL, "--token-file", tokenPath, "--namespace", "prod", "--interface", "veth-b,ifindex 3 in netns cni-x"}, &out, &errOut)
	}()
	testenv.Eventually(t, "observe subscribes", func() bool { live, _ := buf.Subscribers(); return live == 1 })
	buf.Add(api.DropEvent{Reason: "NETFILTER_DROP", Protocol: "tcp", Src: api.Endpoint{IP: "10.0.0.2", Namespace: "dev", Pod: "x"}})
	buf.Add(api.DropEvent{Reason: "NETFILTER_DROP", Protocol: "tcp", Dst: api.Endpoint{IP: "10.0.0.4", Namespace: "prod", Pod: "web"}, Interface: "eth9"})
	buf.Add(api.DropEvent{Reason: "NETFILTER_DROP", Protocol: "tcp", Dst: api.Endpoint{IP: "10.0.0.3", Namespace: "prod", Pod: "db-0"}, Ifindex: 3, NetnsName: "cni-x"})
	testenv.Eventually(t, "two lines of output", func() bool { return strings.Count(out.String(), "\n") >= 2 })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "(prod/old)") || !strings.Contains(lines[1], "(prod/db-0) tcp NETFILTER_DROP") ||
		!strings.HasSuffix(lines[1], " on ifindex 3 in netns cni-x") {
		t.Fatalf("lines %q", lines)
	}

	// The wrong token in a file of its own: the agent re-reads its token
	// file once a second, and would take a wrong token written there.
	wrongPath := filepath.Join(dir, "wrong-token")
	if err := os.WriteFile(wrongPath, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut2 syncWriter
	if code := Run(context.Background(), []string{"--server", srv.URL, "--token-file", wrongPath}, io.Discard, &errOut2); code != 1 || !strings.Contains(errOut2.String(), "401") {
		t.Fatalf("wrong token: exit %d, %q", code, errOut2.String())
	}
	if code := Run(context.Background(), []string{"--output", "yaml"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("bad --output: exit %d", code)
	}
}
