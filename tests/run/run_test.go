// Package run_test checks scripts/run.sh, the README's run command, end to
// end: the script builds its lab, agent, Prometheus and live view; drops of
// its deny rule reach Prometheus with the lab's pod names, bracketed by the
// rule's own counter (the kernel's ground truth) while traffic flows and equal
// to it once traffic pauses; and SIGINT, as Ctrl-C sends it, stops everything
// and leaves nothing behind.
//
// The script runs with NETLENS_RUN_SKIP_BUILD=1 and an agent built by the
// test; dist/ must exist (scripts/test.sh builds it before the Go tests). No
// Grafana runs here: that part of the script does not run (NOT RUN
// runsh-grafana, docs/known-gaps.md).
//
// NETLENS_RUN_SCRIPT runs another copy of the script (for checking that these
// assertions fail on a broken one without editing the shared file; the copy's
// directory needs env.sh, and dist/ and provisioning/ beside it).
package run_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	// drainInterval is the agent's default --drain-interval, which run.sh keeps:
	// a scraped count covers the drops up to at most this long before the scrape.
	drainInterval = 5 * time.Second
	// series is the drop metric of the lab's server, as named by run.sh's pods file.
	series = `netlens_pod_drop_packets_total{job="netlens",namespace="netlens-demo",pod="server",workload="server",direction="ingress",reason="NETFILTER_DROP"}`
)

func TestRunScriptStartsTheStackAndCleansUp(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "bash", "env", "setsid", "ip", "iptables", "iptables-save", "nft", "prometheus", "curl", "ps", "ping")
	testenv.NotRunPart(t, "runsh-grafana", "run.sh's Grafana start: Grafana's server must not be used on these machines (AGPL) and no Docker daemon runs here")
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "dist")); err != nil {
		t.Fatalf("dist/ not found: build the plugin first (npm run build; scripts/test.sh does before the Go tests): %v", err)
	}
	agentBin := agentproc.Binary(t)
	agentAddr, promAddr, previewAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	_, previewPort, _ := net.SplitHostPort(previewAddr)
	tmp := t.TempDir() // the script's TMPDIR: its temporary directory must be gone at the end

	// Started with SIGINT ignored, as a script's background command is: run.sh
	// must still stop on it (it re-executes itself with SIGINT at its default).
	script := os.Getenv("NETLENS_RUN_SCRIPT")
	if script == "" {
		script = filepath.Join(root, "scripts", "run.sh")
	}
	pid, out, done := startScript(t, exec.Command("bash", "-c", `trap "" INT; exec bash "$0"`, script),
		agentBin, agentAddr, promAddr, previewPort, tmp)
	prefix := fmt.Sprintf("nlrun-%d-", pid)
	exited := false
	var children []proc
	t.Cleanup(func() {
		if !exited { // the test failed before stopping it
			children = append(children, descendants(pid)...)
			_ = syscall.Kill(pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-done
			}
		}
		if t.Failed() {
			t.Logf("run.sh output:\n%s", tail(readFile(out.Name()), 60))
		}
		// What a broken script left behind must not outlive the test.
		for _, c := range children {
			if alive(c) {
				_ = syscall.Kill(c.pid, syscall.SIGKILL)
			}
		}
		for _, n := range []string{"client", "server", "node"} {
			if _, err := os.Stat("/run/netns/" + prefix + n); err == nil {
				_ = exec.Command("ip", "netns", "delete", prefix+n).Run()
			}
		}
	})
	output := func() string { return readFile(out.Name()) }

	waitFor(t, 3*time.Minute, done, "run.sh to say the stack is running", func() bool {
		return strings.Contains(output(), "Netlens is running")
	})
	agentURL, promURL := "http://"+agentAddr, "http://"+promAddr
	for _, u := range []string{agentURL + "/metrics", agentURL + "/api/v1/status", promURL + "/graph"} {
		if !strings.Contains(output(), u) {
			t.Errorf("run.sh did not print %s", u)
		}
	}

	// What must be gone at the end, recorded while it runs.
	netnsInodes := map[string]uint64{}
	for _, n := range []string{"node", "client", "server"} {
		var st syscall.Stat_t
		if err := syscall.Stat("/run/netns/"+prefix+n, &st); err != nil {
			t.Fatalf("lab namespace %s%s missing while running: %v", prefix, n, err)
		}
		netnsInodes[prefix+n] = st.Ino
	}
	children = descendants(pid)
	if !slices.ContainsFunc(children, func(p proc) bool { return strings.Contains(p.cmdline, "/netlens-preview --listen") }) {
		t.Errorf("no preview host among run.sh's children: %v", children)
	}
	for _, want := range []string{agentBin + " --listen-address", agentBin + " observe", "prometheus --config.file", "ping -q", "bash -c while"} {
		if !anyHasPrefix(children, want) {
			t.Errorf("no child process %q of run.sh; children: %v", want, children)
		}
	}

	// Without Grafana, the preview host serves the app on Grafana's port, says
	// it is not Grafana, and has the demo's data sources pointing at this
	// run's agent and Prometheus.
	previewURL := "http://localhost:" + previewPort
	if !strings.Contains(output(), previewURL+"/a/netlens-network-app/") {
		t.Errorf("run.sh did not print the preview host's %s/a/netlens-network-app/", previewURL)
	}
	if code, page := testenv.HTTPGet(t, previewURL+"/a/netlens-network-app/"); code != http.StatusOK || !strings.Contains(page, "not Grafana") {
		t.Errorf("the preview host's app page (HTTP %d) does not say it is not Grafana:\n%s", code, page)
	}
	var dss []struct {
		UID, Type, URL string
		JSONData       map[string]any `json:"jsonData"`
	}
	getJSON(t, previewURL+"/api/datasources", &dss)
	byUID := map[string]string{}
	for _, ds := range dss {
		byUID[ds.UID] = ds.URL + fmt.Sprint(ds.JSONData["agentUrls"])
	}
	if !strings.Contains(byUID["netlens-prometheus"], promURL) || !strings.Contains(byUID["netlens-direct"], agentURL) {
		t.Errorf("the preview host's data sources do not point at this run's Prometheus %s and agent %s: %v", promURL, agentURL, byUID)
	}

	// Drops of the deny rule reach Prometheus under the pods file's names.
	var first []sample
	waitFor(t, time.Minute, done, "drops in Prometheus", func() bool {
		first = samples(t, promURL, series+"[10m]")
		return len(first) > 0 && first[len(first)-1].v > 0
	})
	if s := samples(t, promURL, `netlens_pod_drop_packets_total{namespace="netlens-demo",pod="client",direction="egress",reason="NETFILTER_DROP"}[10m]`); len(s) == 0 || s[len(s)-1].v <= 0 {
		t.Errorf("no egress drops of netlens-demo/client in Prometheus: %v", s)
	}

	// Prometheus scrapes the agent as job netlens every 5s (asked once it has
	// scraped: its target list is empty until discovery ran).
	var targets struct {
		Data struct {
			ActiveTargets []struct {
				Labels         map[string]string `json:"labels"`
				ScrapeInterval string            `json:"scrapeInterval"`
				Health         string            `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, promURL+"/api/v1/targets", &targets)
	if tg := targets.Data.ActiveTargets; len(tg) != 1 || tg[0].Labels["job"] != "netlens" || tg[0].Labels["instance"] != agentAddr || tg[0].ScrapeInterval != "5s" {
		t.Errorf("Prometheus targets: want job netlens scraping %s every 5s, got %+v", agentAddr, tg)
	}

	// Ground truth: the rule's counter r0 at t0 and r1 after the query. A
	// sample scraped after t0 plus one drain interval (and slack) counts every
	// drop up to t0, so it is >= r0; no sample can exceed what the rule had
	// dropped by the time it was queried, r1. With traffic at 10 packets/s the
	// bracket is about one scrape plus one drain wide.
	r0 := ruleCounter(t, prefix+"server")
	t0 := time.Now()
	after := t0.Add(drainInterval + 2*time.Second)
	var all []sample
	waitFor(t, time.Minute, done, "a scrape one drain interval after reading the rule counter", func() bool {
		all = samples(t, promURL, series+"[10m]")
		return len(all) > 0 && !all[len(all)-1].t.Before(after)
	})
	r1 := ruleCounter(t, prefix+"server")
	var p float64
	for i, s := range all {
		if i > 0 && s.v < all[i-1].v {
			t.Errorf("counter went down: %v then %v", all[i-1], s)
		}
		if s.v > float64(r1) {
			t.Errorf("Prometheus has %v drops at %s, more than the rule's %d", s.v, s.t.Format(time.RFC3339), r1)
		}
		if p == 0 && !s.t.Before(after) {
			p = s.v
		}
	}
	if p < float64(r0) || r0 == 0 {
		t.Errorf("Prometheus has %v drops in a scrape after %s, the rule had dropped %d by %s", p, after.Format(time.RFC3339), r0, t0.Format(time.RFC3339))
	}
	t.Logf("rule counter %d at t0, %d at the end; Prometheus %v one drain interval after t0", r0, r1, p)

	// Exact at rest: with the denied traffic paused (SIGSTOP to the script's
	// loop), a scrape one drain interval later holds every drop the rule
	// counted, no more and no less; a drop the agent missed (say, traffic
	// before its probe was attached) shows here.
	loop := -1
	for _, c := range children {
		if strings.HasPrefix(c.cmdline, "bash -c while") {
			loop = c.pid
		}
	}
	if loop < 0 {
		t.Fatal("no traffic loop to pause")
	}
	if err := syscall.Kill(loop, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// (If the test stops before SIGCONT, the script's SIGKILL still ends the loop.)
	// The signal takes effect when the loop next leaves the kernel, so once it
	// is stopped the write it may have been in has returned, and the datagram
	// has passed the rule on the way (veth delivery runs within the write).
	waitFor(t, time.Minute, done, "the traffic loop to stop", func() bool { return procState(t, loop) == 'T' })
	rest := ruleCounter(t, prefix+"server")
	quiet := time.Now().Add(drainInterval + 2*time.Second)
	waitFor(t, time.Minute, done, "a scrape one drain interval after pausing the traffic", func() bool {
		all = samples(t, promURL, series+"[10m]")
		return len(all) > 0 && !all[len(all)-1].t.Before(quiet)
	})
	if last := all[len(all)-1]; last.v != float64(rest) {
		t.Errorf("traffic paused: Prometheus has %v drops at %s, the rule counted %d", last.v, last.t.Format(time.RFC3339), rest)
	}
	if again := ruleCounter(t, prefix+"server"); again != rest {
		t.Errorf("rule counter moved from %d to %d with the traffic paused", rest, again)
	}
	if err := syscall.Kill(loop, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("traffic paused: rule counter %d, Prometheus %v", rest, all[len(all)-1].v)

	// The live view, with stdout not a terminal, shows the lab's drops by pod and reason.
	if o := output(); !strings.Contains(o, "(netlens-demo/client) -> ") || !strings.Contains(o, "(netlens-demo/server) udp NETFILTER_DROP") {
		t.Errorf("the live view shows no netlens-demo/client -> netlens-demo/server NETFILTER_DROP drops:\n%s", tail(o, 20))
	}

	exited = interrupt(t, pid, done, time.Minute)

	// Nothing left: namespaces (and with them the bridge, veths and the rule),
	// processes, ports, temporary files.
	for name, ino := range netnsInodes {
		if _, err := os.Stat("/run/netns/" + name); err == nil {
			t.Errorf("namespace %s still exists", name)
		}
		// A namespace lives on unnamed while a process is inside it.
		if holders := netnsHolders(ino); len(holders) > 0 {
			t.Errorf("namespace %s (inode %d) still held by processes %v", name, ino, holders)
		}
	}
	if o, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil || strings.Contains(string(o), prefix) {
		t.Errorf("ip netns list (%v):\n%s", err, o)
	}
	if o, err := exec.Command("ip", "-o", "link").CombinedOutput(); err != nil || strings.Contains(string(o), "nlrun") {
		t.Errorf("ip -o link (%v):\n%s", err, o)
	}
	for _, c := range [][]string{{"iptables-save"}, {"nft", "list", "ruleset"}} {
		if o, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil || strings.Contains(string(o), "nlrun") {
			t.Errorf("%s (%v):\n%s", strings.Join(c, " "), err, o)
		}
	}
	if o, err := exec.Command("ip", "netns", "exec", prefix+"server", "iptables", "-S", "INPUT").CombinedOutput(); err == nil {
		t.Errorf("the server namespace and its deny rule still exist:\n%s", o)
	}
	for _, c := range children {
		if alive(c) {
			t.Errorf("process %d (%s) still running", c.pid, c.cmdline)
		}
	}
	if left := processesMatching(func(pr proc) bool {
		return pr.pgrp == pid || strings.HasPrefix(pr.cmdline, agentBin) || strings.Contains(pr.cmdline, tmp)
	}); len(left) > 0 {
		t.Errorf("processes of the run still running: %v", left)
	}
	for _, a := range []string{agentAddr, promAddr} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("port %s not free: %v", a, err)
			continue
		}
		l.Close()
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) > 0 {
		t.Errorf("temporary files left in %s: %v %v", tmp, entries, err)
	}
}

// startScript starts cmd (run.sh) from the repository's top directory with
// the stack's addresses, the agent binary and TMPDIR in its environment, in
// its own process group (which gets SIGINT as a terminal's Ctrl-C would send
// it), its output in a file, not a pipe: Wait returns when the script exits
// even if a child it failed to stop still holds its output. It returns the
// script's pid, the output file and a channel that gets Wait's result.
func startScript(t *testing.T, cmd *exec.Cmd, agentBin, agentAddr, promAddr, previewPort, tmp string) (int, *os.File, chan error) {
	t.Helper()
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "NETLENS_RUN_SKIP_BUILD=1", "NETLENS_AGENT_BINARY="+agentBin,
		"NETLENS_LISTEN_ADDRESS="+agentAddr, "NETLENS_PROMETHEUS_ADDRESS="+promAddr, "NETLENS_GRAFANA_PORT="+previewPort, "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(t.TempDir(), "run.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd.Process.Pid, out, done
}

// interrupt sends SIGINT to the script's process group, as Ctrl-C does, and
// waits up to within for it to exit 0. It reports whether the script exited.
func interrupt(t *testing.T, pid int, done chan error, within time.Duration) bool {
	t.Helper()
	if err := syscall.Kill(-pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run.sh after SIGINT: %v (want exit status 0)", err)
		}
		return true
	case <-time.After(within):
		t.Fatalf("run.sh still running %v after SIGINT", within)
		return false
	}
}

// waitFor polls cond every 250ms until it holds, failing the test after
// timeout or if run.sh exits first.
func waitFor(t *testing.T, timeout time.Duration, done chan error, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run.sh exited (%v) while waiting for %s", err, what)
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
	}
}

type sample struct {
	t time.Time
	v float64
}

func (s sample) String() string { return fmt.Sprintf("%v@%s", s.v, s.t.Format(time.RFC3339)) }

// samples returns the raw samples of a range selector over one series.
func samples(t *testing.T, promURL, expr string) []sample {
	t.Helper()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	getJSON(t, promURL+"/api/v1/query?"+url.Values{"query": {expr}}.Encode(), &r)
	if r.Status != "success" || len(r.Data.Result) > 1 {
		t.Fatalf("query %s: want at most one series, got %+v", expr, r)
	}
	var out []sample
	for _, res := range r.Data.Result {
		for _, v := range res.Values {
			ts, _ := v[0].(float64)
			f, err := strconv.ParseFloat(fmt.Sprint(v[1]), 64)
			if err != nil {
				t.Fatalf("query %s: value %v: %v", expr, v[1], err)
			}
			out = append(out, sample{t: time.UnixMilli(int64(ts * 1000)), v: f})
		}
	}
	return out
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %d: %v", u, resp.StatusCode, err)
	}
}

// ruleCounter is the packet count of run.sh's deny rule in the server namespace.
func ruleCounter(t *testing.T, netns string) uint64 {
	t.Helper()
	o, err := exec.Command("ip", "netns", "exec", netns, "iptables", "-L", "INPUT", "-v", "-n", "-x").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables in %s: %v\n%s", netns, err, o)
	}
	for _, line := range strings.Split(string(o), "\n") {
		if strings.Contains(line, "/* nlrun-deny */") {
			n, err := strconv.ParseUint(strings.Fields(line)[0], 10, 64)
			if err != nil {
				t.Fatalf("bad rule line %q", line)
			}
			return n
		}
	}
	t.Fatalf("no nlrun-deny rule in %s:\n%s", netns, o)
	return 0
}

// procState is a process's state letter in /proc/<pid>/stat (T: stopped).
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// "pid (comm) state ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		t.Fatalf("bad /proc/%d/stat: %q", pid, b)
	}
	return b[i+2]
}

// proc is a process as /proc shows it; start tells a reused pid apart.
type proc struct {
	pid, ppid, pgrp int
	start           string
	cmdline         string
}

func (p proc) String() string { return fmt.Sprintf("%d %q", p.pid, p.cmdline) }

func readProc(pid int) (proc, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// Fields after the command name, which may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 || f[0] == "Z" {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return proc{pid: pid, ppid: ppid, pgrp: pgrp, start: f[19], cmdline: strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))}, true
}

func processesMatching(match func(proc) bool) []proc {
	var out []proc
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && match(p) {
			out = append(out, p)
		}
	}
	return out
}

// descendants lists every running process below pid.
func descendants(pid int) []proc {
	all := processesMatching(func(proc) bool { return true })
	below := map[int]bool{pid: true}
	var out []proc
	for grew := true; grew; {
		grew = false
		for _, p := range all {
			if below[p.ppid] && !below[p.pid] {
				below[p.pid], grew = true, true
				out = append(out, p)
			}
		}
	}
	return out
}

func anyHasPrefix(ps []proc, prefix string) bool {
	for _, p := range ps {
		if strings.HasPrefix(p.cmdline, prefix) {
			return true
		}
	}
	return false
}

// alive reports whether p still runs (the same process, not a reused pid).
func alive(p proc) bool {
	now, ok := readProc(p.pid)
	return ok && now.start == p.start
}

// netnsHolders lists processes whose network namespace has inode ino.
func netnsHolders(ino uint64) []proc {
	want := fmt.Sprintf("net:[%d]", ino)
	return processesMatching(func(p proc) bool {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.pid))
		return err == nil && l == want
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
