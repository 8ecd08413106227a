//go:build linux

package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/previewhost"
	"github.com/netlens/netlens/tests/promproc"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	// Node and Cluster name the lab's node alike in both data source modes:
	// the agent's --node-name, and the labels the scrape adds (as in
	// tests/droplab, which the dashboards suites use).
	Node    = "lab-node"
	Cluster = "lab"
	// RuleComment names the iptables rule that drops client→server UDP to
	// DenyPort; its packet counter is the ground truth the pages must show.
	RuleComment = "nl-browser-deny"
	DenyPort    = 5432
	// Reason is how the agent classifies the rule's drops.
	Reason = "NETFILTER_DROP"
	// Chromium is the browser Jest drives (playwright-core brings none).
	Chromium = "/usr/bin/chromium"
	// ScreenshotsEnv names a directory for the browser tests' screenshots.
	ScreenshotsEnv = "NETLENS_SCREENSHOTS"
	// WorldEnv is how Jest finds world.json.
	WorldEnv = "NETLENS_BROWSER_WORLD"
	// OnlyEnv, when set, is a Jest --testPathPattern: run only the matching
	// *.browser.ts files (while working on one).
	OnlyEnv = "NETLENS_BROWSER_ONLY"

	// Data source uids, as the Jest side selects them.
	PrometheusUID = "netlens-prometheus"
	DirectUID     = "netlens-direct"
	WrongUID      = "netlens-wrong"

	initialDrops = 25
	packetSize   = 100
	maxDeny      = 10000
	denyWait     = 10 * time.Second
)

// World is everything the browser tests run against: a network lab whose
// rule drops packets, the real agent counting them, Prometheus scraping it,
// and the preview host serving the built plugin with data sources for both
// modes and one whose agent cannot be reached.
type World struct {
	// Path is world.json, what the Jest side reads (WorldEnv).
	Path string
	// BaseURL is the preview host.
	BaseURL       string
	PrometheusURL string
	AgentURL      string
	// ControlURL serves /deny and /truth (see Setup).
	ControlURL string
	// AppID is the app plugin's id (src/plugin.json).
	AppID string
	// Token is the agent API's bearer token, which the direct data source has.
	Token string
	// Screenshots is an absolute directory ("" for none), from ScreenshotsEnv.
	Screenshots string

	Lab            *lab.Lab
	Client, Server *lab.Pod
	Agent          *agentproc.Agent
	Prometheus     *promproc.Prometheus
	Host           *previewhost.Server

	repo string
	// mu serialises the lab's traffic and counter reads (the control
	// server's handlers run concurrently), so that a Deny's wait sees only
	// its own packets.
	mu sync.Mutex
}

// worldJSON is world.json; the Jest side depends on its key names.
type worldJSON struct {
	BaseURL       string            `json:"baseURL"`
	Chromium      string            `json:"chromium"`
	PrometheusURL string            `json:"prometheusURL"`
	AgentURL      string            `json:"agentURL"`
	ControlURL    string            `json:"controlURL"`
	AppID         string            `json:"appId"`
	DataSources   map[string]string `json:"datasources"`
	Client        podRef            `json:"client"`
	Server        podRef            `json:"server"`
	Reason        string            `json:"reason"`
	Port          int               `json:"port"`
	RuleComment   string            `json:"ruleComment"`
	Screenshots   string            `json:"screenshots"`
}

type podRef struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
}

// Setup builds the world and tears it down in t.Cleanup. It needs root and
// BTF (failing, not skipping, under NETLENS_REQUIRE_PRIVILEGED=1), the built
// plugin in dist/ and node_modules.
//
// The control server answers GET /deny?n=N (1..10000): it sends N more
// denied datagrams client→server:DenyPort and waits until the rule counted
// them, answering {"sent":N,"rule":<rule's packet counter>}; GET /truth
// answers {"rule":<rule's packet counter>}.
func Setup(t testing.TB) *World {
	t.Helper()
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "iptables", "prometheus", "promtool", "node")
	repo := testenv.RepoRoot(t)
	// The cheap checks first, so a missing build fails before the lab is made.
	dist := filepath.Join(repo, "dist")
	if _, err := os.Stat(filepath.Join(dist, "module.js")); err != nil {
		t.Fatalf("the plugin is not built (%v): run npm run build and mage -v", err)
	}
	backendBin, err := previewhost.BackendBinary(dist)
	if err != nil {
		t.Fatalf("%v: run npm run build and mage -v", err)
	}
	w := &World{repo: repo, AppID: pluginID(t, filepath.Join(repo, "src", "plugin.json"))}
	dsType := pluginID(t, filepath.Join(repo, "src", "datasource", "plugin.json"))
	if w.Screenshots = os.Getenv(ScreenshotsEnv); w.Screenshots != "" {
		// Relative to the repository root, where Jest runs, not to this package.
		if !filepath.IsAbs(w.Screenshots) {
			w.Screenshots = filepath.Join(repo, w.Screenshots)
		}
		if err := os.MkdirAll(w.Screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	w.Lab = lab.New(t)
	w.Client, w.Server = w.Lab.AddPod("client"), w.Lab.AddPod("server")
	w.Lab.MustNodeRun("iptables", "-I", "FORWARD", "-s", w.Client.IPv4.String(), "-d", w.Server.IPv4.String(),
		"-p", "udp", "--dport", strconv.Itoa(DenyPort), "-m", "comment", "--comment", RuleComment, "-j", "DROP")
	w.Token = randomToken(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(w.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := append(agentproc.DropFlags(t, lab.PodsFile(t, w.Client, w.Server)),
		"--node-name", Node, "--token-file", tokenFile,
		// Direct mode reads the agent's history: sample it as often as the
		// drain, so pages catch up within seconds.
		"--history-interval", "1s",
		// A browser page queries in bursts; the default per-client limit
		// would turn some of them into 429s that no test is about.
		"--api-rate-limit", "1000")
	w.Agent = agentproc.Start(t, flags...)
	w.AgentURL = "http://" + w.Agent.Addr

	if _, err := w.Deny(initialDrops); err != nil {
		t.Fatal(err)
	}

	w.Prometheus = promproc.Start(t, promproc.Options{Config: promproc.ScrapeConfig(time.Second, []string{w.Agent.Addr},
		map[string]string{"node": Node, "cluster": Cluster})})
	w.PrometheusURL = w.Prometheus.URL
	w.waitScraped(t)

	shell := t.TempDir()
	if err := previewhost.BuildShell(repo, shell); err != nil {
		t.Fatal(err)
	}
	// An address nothing listens on: a listener's port, closed again.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrongURL := "http://" + closed.Addr().String()
	closed.Close()

	pluginLog := &testenv.SyncBuffer{}
	w.Host, err = previewhost.New(previewhost.Config{
		Dist:    dist,
		Backend: backendBin,
		// As provisioning/plugins enables it in a real Grafana.
		AppEnabled: true,
		PluginLog:  pluginLog,
		Shell:      shell,
		DataSources: []previewhost.DataSource{
			{UID: PrometheusUID, Name: "Netlens (Prometheus)", Type: dsType, URL: w.PrometheusURL, IsDefault: true,
				JSONData: map[string]any{"mode": "prometheus", "schema": "netlens", "prometheusAuth": "none", "scrapeIntervalSeconds": 1}},
			{UID: DirectUID, Name: "Netlens (agents)", Type: dsType,
				JSONData:       map[string]any{"mode": "direct", "schema": "netlens", "agentUrls": []string{w.AgentURL}},
				SecureJSONData: map[string]string{"agentToken": w.Token}},
			{UID: WrongUID, Name: "Netlens (unreachable agent)", Type: dsType,
				JSONData: map[string]any{"mode": "direct", "schema": "netlens", "agentUrls": []string{wrongURL}, "timeoutSeconds": 3}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Host.Close()
		if t.Failed() {
			t.Logf("plugin log:\n%s", pluginLog.String())
		}
	})
	host := httptest.NewServer(w.Host.Handler())
	t.Cleanup(host.Close)
	w.BaseURL = host.URL

	// Registered after the lab's teardown, so run before it: Close waits
	// for the handlers, and no /deny outlives the lab.
	control := httptest.NewServer(w.controlHandler())
	t.Cleanup(control.Close)
	w.ControlURL = control.URL

	w.Path = filepath.Join(t.TempDir(), "world.json")
	b, err := json.MarshalIndent(worldJSON{
		BaseURL: w.BaseURL, Chromium: Chromium, PrometheusURL: w.PrometheusURL, AgentURL: w.AgentURL,
		ControlURL: w.ControlURL, AppID: w.AppID,
		DataSources: map[string]string{"prometheus": PrometheusUID, "direct": DirectUID, "wrong": WrongUID},
		Client:      podRef{lab.Namespace, w.Client.KubeName()},
		Server:      podRef{lab.Namespace, w.Server.KubeName()},
		Reason:      Reason, Port: DenyPort, RuleComment: RuleComment, Screenshots: w.Screenshots,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// pluginID reads the id of a plugin.json.
func pluginID(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.ID == "" {
		t.Fatalf("%s: no plugin id (%v)", path, err)
	}
	return p.ID
}

func randomToken(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitScraped waits until Prometheus holds the client's egress and the
// server's ingress drops as the rule counted them.
func (w *World) waitScraped(t testing.TB) {
	t.Helper()
	want, err := w.Truth()
	if err != nil {
		t.Fatal(err)
	}
	series := func(pod *lab.Pod, direction string) string {
		return fmt.Sprintf(`sum(netlens_pod_drop_packets_total{cluster=%q, node=%q, namespace=%q, pod=%q, direction=%q, reason=%q})`,
			Cluster, Node, lab.Namespace, pod.KubeName(), direction, Reason)
	}
	for _, expr := range []string{series(w.Client, "egress"), series(w.Server, "ingress")} {
		testenv.Eventually(t, fmt.Sprintf("Prometheus to show the rule's %d packets: %s", want, expr), func() bool {
			ss := w.Prometheus.Instant(t, expr)
			return len(ss) == 1 && ss[0].Value == float64(want)
		})
	}
}

// Truth is the rule's packet counter, the kernel's count of its drops.
func (w *World) Truth() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ruleCount()
}

// Deny sends n denied datagrams client→server and returns the rule's packet
// counter once it counted them.
func (w *World) Deny(n int) (uint64, error) {
	if n < 1 || n > maxDeny {
		return 0, fmt.Errorf("n = %d: want 1 to %d", n, maxDeny)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	before, err := w.ruleCount()
	if err != nil {
		return 0, err
	}
	dst := netip.AddrPortFrom(w.Server.IPv4, DenyPort)
	if err := w.Client.Do(func() error { return lab.SendUDP(dst, n, packetSize) }); err != nil {
		return 0, err
	}
	// The rule counts each datagram as the bridge forwards it, which may be
	// after the send returned.
	deadline := time.Now().Add(denyWait)
	for {
		now, err := w.ruleCount()
		if err != nil || now >= before+uint64(n) {
			return now, err
		}
		if time.Now().After(deadline) {
			return now, fmt.Errorf("the rule counted %d of %d datagrams within %v", now-before, n, denyWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ruleCount reads the rule's packet counter; w.mu is held. It returns its
// error, as it runs in HTTP handlers too, where failing the test is not allowed.
func (w *World) ruleCount() (uint64, error) {
	p, _, err := w.Lab.ReadRuleCounter("iptables", RuleComment)
	return p, err
}

func (w *World) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /deny", func(rw http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 1 || n > maxDeny {
			reply(rw, http.StatusBadRequest, map[string]any{"error": fmt.Sprintf("n must be an integer from 1 to %d", maxDeny)})
			return
		}
		rule, err := w.Deny(n)
		if err != nil {
			reply(rw, http.StatusInternalServerError, map[string]any{"error": err.Error(), "sent": n, "rule": rule})
			return
		}
		reply(rw, http.StatusOK, map[string]any{"sent": n, "rule": rule})
	})
	mux.HandleFunc("GET /truth", func(rw http.ResponseWriter, r *http.Request) {
		rule, err := w.Truth()
		if err != nil {
			reply(rw, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		reply(rw, http.StatusOK, map[string]any{"rule": rule})
	})
	return mux
}

func reply(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	// Pages on the preview host's origin may ask too.
	rw.Header().Set("Access-Control-Allow-Origin", "*")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

// jestReport is the part of Jest's --json output that RunJest reads.
type jestReport struct {
	Success        bool `json:"success"`
	NumTotalTests  int  `json:"numTotalTests"`
	NumFailedTests int  `json:"numFailedTests"`
	TestResults    []struct {
		Name             string `json:"name"`
		Status           string `json:"status"`
		Message          string `json:"message"`
		AssertionResults []struct {
			FullName        string   `json:"fullName"`
			Status          string   `json:"status"`
			DurationMs      float64  `json:"duration"`
			FailureMessages []string `json:"failureMessages"`
		} `json:"assertionResults"`
	} `json:"testResults"`
}

// RunJest runs the browser tests (tests/browser/jest.config.js) against the
// world, with env added to the environment, and reports each Jest test as a
// subtest: failed ones fail, pending and skipped ones skip (which the CI
// report counts as failures unless they are known gaps).
func (w *World) RunJest(t *testing.T, env ...string) {
	t.Helper()
	testenv.RequireCommands(t, Chromium)
	jest := filepath.Join("node_modules", ".bin", "jest")
	if _, err := os.Stat(filepath.Join(w.repo, jest)); err != nil {
		t.Fatalf("jest is not installed (%v): run npm ci", err)
	}
	report := filepath.Join(t.TempDir(), "jest.json")
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		// Stop Jest in time for this test to report what it has, before go
		// test's -timeout panics the whole binary.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancel()
	}
	args := []string{jest, "-c", "tests/browser/jest.config.js", "--ci", "--runInBand", "--json", "--outputFile", report}
	if only := os.Getenv(OnlyEnv); only != "" {
		args = append(args, "--testPathPattern", only)
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	// Jest's own process group, so that stopping it stops the browsers it
	// launched too, and what it leaves behind (a browser of a test that
	// timed out) can be ended after it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A browser outliving Jest may hold its output open.
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = w.repo
	cmd.Env = append(append(os.Environ(), WorldEnv+"="+w.Path), env...)
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}

	var r jestReport
	b, err := os.ReadFile(report)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	failed := runErr != nil || err != nil || r.NumFailedTests > 0 || r.NumTotalTests == 0
	if failed {
		t.Logf("jest output:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("jest (%v) wrote no report: %v", runErr, err)
	}
	for _, tr := range r.TestResults {
		if rel, err := filepath.Rel(w.repo, tr.Name); err == nil {
			tr.Name = rel
		}
		// A suite that failed outside its tests (a beforeAll, a syntax error)
		// has its reason here, and maybe no assertion results.
		if tr.Status == "failed" && tr.Message != "" {
			t.Errorf("%s:\n%s", tr.Name, tr.Message)
		}
		for _, a := range tr.AssertionResults {
			t.Run(subtestName(a.FullName), func(t *testing.T) {
				// Where a slow run spends its time.
				t.Logf("took %.1f s in Jest", a.DurationMs/1000)
				switch a.Status {
				case "passed":
				case "failed":
					t.Error(strings.Join(a.FailureMessages, "\n"))
				case "pending", "skipped", "todo", "disabled":
					t.Skipf("jest: %s (%s)", a.Status, tr.Name)
				default:
					t.Errorf("jest status %q (%s)", a.Status, tr.Name)
				}
			})
		}
	}
	switch {
	case runErr != nil:
		t.Errorf("jest: %v (%d of %d tests failed)", runErr, r.NumFailedTests, r.NumTotalTests)
	case r.NumFailedTests > 0:
		t.Errorf("jest: %d of %d tests failed", r.NumFailedTests, r.NumTotalTests)
	case r.NumTotalTests == 0:
		t.Error("jest ran no tests")
	}
}

// subtestName is a Jest test's full name as a Go subtest name: no slashes,
// which would nest it, and no spaces, which go test would rewrite anyway.
func subtestName(full string) string {
	name := strings.Join(strings.FieldsFunc(full, func(r rune) bool {
		return r == '/' || r == ' ' || r == '\t' || r == '\n'
	}), "_")
	if name == "" {
		return "unnamed"
	}
	return name
}
