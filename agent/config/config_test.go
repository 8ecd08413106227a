package config

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Defaults follow the design contract: port 10095, info level, JSON logs.
func TestParseDefaults(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("NODE_NAME", "node-7")
	c, err := Parse(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ListenAddress: ":10095", LogLevel: slog.LevelInfo, LogFormat: "json",
		DropSource: "auto", DropEventsPerSecond: 1000, DropTableEntries: 16384, DrainInterval: 5 * time.Second,
		MaxPodSeries: 10000, StateDir: "/var/lib/netlens", BPFFSPath: "/sys/fs/bpf/netlens", ProcPath: "/proc",
		HistoryDuration: 15 * time.Minute, HistoryInterval: 15 * time.Second, HistoryMaxSeries: 50000, APIRate: 50,
		Metadata: "none", NodeName: "node-7",
	}
	if c.EthtoolInclude == nil || c.EthtoolInclude.String() != DefaultEthtoolInclude {
		t.Fatalf("ethtool include %v, want the default", c.EthtoolInclude)
	}
	c.EthtoolInclude = nil
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func TestParseValidFlags(t *testing.T) {
	c, err := Parse([]string{"--listen-address", "127.0.0.1:0", "--log-level=debug", "--log-format", "text"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddress != "127.0.0.1:0" || c.LogLevel != slog.LevelDebug || c.LogFormat != "text" {
		t.Fatalf("flags not applied: %+v", c)
	}
}

// Every bad value is rejected with a message that names the flag and says what is wanted.
func TestParseRejectsBadValues(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "verbose"}, `invalid value "verbose" for flag --log-level`},
		{[]string{"--log-level", "info+2"}, `invalid value "info+2" for flag --log-level`},
		{[]string{"--log-format", "xml"}, `invalid value "xml" for flag --log-format`},
		{[]string{"--listen-address", "10095"}, `invalid value "10095" for flag --listen-address: want host:port`},
		{[]string{"--listen-address", ":http"}, `port "http" is not a number`},
		{[]string{"--listen-address", ":70000"}, `port "70000" is not a number from 0 to 65535`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--drop-source", "xdp"}, `invalid value "xdp" for flag --drop-source`},
		{[]string{"--drop-table-entries", "1"}, "invalid value 1 for flag --drop-table-entries"},
		{[]string{"--drop-events-per-second", "-1"}, "invalid value \"-1\" for flag -drop-events-per-second"},
		{[]string{"--drain-interval", "1ms"}, "invalid value 1ms for flag --drain-interval"},
		{[]string{"--pods-file", "/nonexistent/pods.json"}, `invalid value "/nonexistent/pods.json" for flag --pods-file`},
		{[]string{"--tls-cert-file", "/etc/hostname"}, "flags --tls-cert-file and --tls-key-file go together"},
		{[]string{"--token-file", "/nonexistent/token"}, `invalid value "/nonexistent/token" for flag --token-file`},
		{[]string{"--metrics-auth"}, "flag --metrics-auth needs --token-file"},
		{[]string{"--history-interval", "100ms"}, "invalid value 100ms for flag --history-interval"},
		{[]string{"--history-duration", "1s"}, "invalid value 1s for flag --history-duration"},
		{[]string{"--api-rate-limit", "0"}, "invalid value 0 for flag --api-rate-limit"},
		{[]string{"--config", "/nonexistent/netlens.yaml"}, `invalid value "/nonexistent/netlens.yaml" for flag --config`},
		{[]string{"--ethtool-include", "rx_(cache"}, `invalid value "rx_(cache" for flag --ethtool-include: error parsing regexp`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := Parse(tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("error = %v, want ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-listen-address") {
		t.Fatalf("usage lacks flags:\n%s", out.String())
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netlens.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A YAML file sets flags by their names; flags on the command line win.
func TestParseConfigFile(t *testing.T) {
	path := writeConfig(t, "# agent settings\nlog-level: debug\ndrain-interval: 2s\nmax-pod-series: 500\nlisten-address: \":9999\"\n")
	c, err := Parse([]string{"--config", path, "--max-pod-series", "7"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelDebug || c.DrainInterval != 2*time.Second || c.ListenAddress != ":9999" {
		t.Fatalf("file not applied: %+v", c)
	}
	if c.MaxPodSeries != 7 {
		t.Fatalf("command line should win over the file: max pod series %d", c.MaxPodSeries)
	}
	if c, err := Parse([]string{"--config", writeConfig(t, "")}, &bytes.Buffer{}); err != nil || c.DrainInterval != 5*time.Second {
		t.Fatalf("empty file: %v %+v", err, c)
	}
}

// Unknown keys, nested values, repeated keys and bad values are rejected with
// the key (and line) named; values from the file are validated like flags.
func TestParseConfigFileRejects(t *testing.T) {
	cases := []struct{ text, want string }{
		{"log-levle: debug\n", `line 1: unknown key "log-levle"`},
		{"config: other.yaml\n", `unknown key "config"`},
		{"drain-interval: soon\n", `invalid value "soon" for key "drain-interval"`},
		{"max-pod-series:\n  - 1\n", `key "max-pod-series": want a single value`},
		{"log-level: info\nlog-level: debug\n", `key "log-level" appears twice`},
		{"- a\n- b\n", "want a mapping of flag names to values"},
		{"drop-source: xdp\n", `invalid value "xdp" for flag --drop-source`},
		{"log-level: [\n", "config file"},
	}
	for _, tc := range cases {
		_, err := Parse([]string{"--config", writeConfig(t, tc.text)}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

// --metadata auto picks the pods file when given, else the Kubernetes API
// when a kubeconfig is given or the agent runs in a cluster, else nothing;
// the node name defaults to $NODE_NAME, else the host name.
func TestParseMetadataSource(t *testing.T) {
	dir := t.TempDir()
	pods := filepath.Join(dir, "pods.json")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	for _, p := range []string{pods, kubeconfig} {
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host, _ := os.Hostname()
	cases := []struct {
		inCluster, nodeEnv string
		args               []string
		metadata, node     string
	}{
		{"", "", nil, "none", host},
		{"10.96.0.1", "n1", nil, "kubernetes", "n1"},
		{"", "", []string{"--kubeconfig", kubeconfig, "--node-name", "n2"}, "kubernetes", "n2"},
		{"10.96.0.1", "n1", []string{"--pods-file", pods}, "pods-file", "n1"},
		{"10.96.0.1", "n1", []string{"--metadata", "none"}, "none", "n1"},
		{"", "", []string{"--metadata", "kubernetes", "--kubeconfig", kubeconfig, "--cluster-pods"}, "kubernetes", host},
	}
	for _, c := range cases {
		t.Setenv("KUBERNETES_SERVICE_HOST", c.inCluster)
		t.Setenv("NODE_NAME", c.nodeEnv)
		cfg, err := Parse(c.args, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("%v (in cluster %q): %v", c.args, c.inCluster, err)
		}
		if cfg.Metadata != c.metadata || cfg.NodeName != c.node {
			t.Errorf("%v (in cluster %q): metadata %q node %q, want %q %q", c.args, c.inCluster, cfg.Metadata, cfg.NodeName, c.metadata, c.node)
		}
	}
	if cfg, _ := Parse([]string{"--kubeconfig", kubeconfig, "--cluster-pods"}, &bytes.Buffer{}); !cfg.ClusterPods || cfg.Kubeconfig != kubeconfig {
		t.Errorf("--cluster-pods and --kubeconfig not applied: %+v", cfg)
	}
}

// Bad metadata choices are rejected naming the flag at fault.
func TestParseRejectsBadMetadata(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	pods := filepath.Join(t.TempDir(), "pods.json")
	if err := os.WriteFile(pods, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--metadata", "etcd"}, `invalid value "etcd" for flag --metadata`},
		{[]string{"--metadata", "kubernetes"}, `invalid value "kubernetes" for flag --metadata: not running in a cluster`},
		{[]string{"--metadata", "pods-file"}, `invalid value "pods-file" for flag --metadata: give --pods-file`},
		{[]string{"--kubeconfig", "/nonexistent"}, `invalid value "/nonexistent" for flag --kubeconfig`},
		{[]string{"--kubeconfig", pods, "--pods-file", pods}, `for flag --kubeconfig: --pods-file is given too`},
		{[]string{"--kubeconfig", pods, "--node-name", ""}, `invalid value "" for flag --node-name`},
	} {
		if _, err := Parse(c.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
