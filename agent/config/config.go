// Package config parses and validates the agent's command line.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the agent's validated configuration.
type Config struct {
	// ListenAddress is host:port of the HTTP server (/metrics, /healthz, /readyz, /api/v1).
	ListenAddress string
	LogLevel      slog.Level
	// LogFormat is "json" or "text".
	LogFormat string
	// ShowVersion asks the agent to print its version and exit.
	ShowVersion bool
	// Unpin asks the agent to remove its pinned eBPF objects and exit.
	Unpin bool

	// DropSource forces the kernel hook drops are counted at (auto: best available).
	DropSource string
	// DropEventsPerSecond is the node-wide rate of sampled drop events; 0: none.
	DropEventsPerSecond uint
	// DropTableEntries bounds the kernel's drop count table.
	DropTableEntries uint
	// DrainInterval is how often the kernel's drop counts are read (scrapes read them too).
	DrainInterval time.Duration
	// MaxPodSeries bounds the pod drop series.
	MaxPodSeries uint
	// PodsFile is a `kubectl get pods -o json` inventory for pod attribution.
	PodsFile string
	// Metadata is the pod inventory drops are attributed with, as --metadata
	// resolved: "kubernetes", "pods-file" or "none" (never "auto").
	Metadata string
	// Kubeconfig is the kubeconfig file of the Kubernetes source; "" is the
	// in-cluster service account.
	Kubeconfig string
	// NodeName is the Kubernetes node the agent runs on: its pods are watched.
	NodeName string
	// ClusterPods watches all pods of the cluster, so remote ends are named too.
	ClusterPods bool
	// StateDir keeps drop totals across restarts; "" disables it.
	StateDir string
	// BPFFSPath is where programs and maps are pinned; "" disables pinning.
	BPFFSPath string

	// ProcPath is the procfs the host stack collectors read (netstat, softnet, conntrack).
	ProcPath string
	// EthtoolInclude selects the ethtool statistics exported per interface (by name, queue folded).
	EthtoolInclude *regexp.Regexp

	// TokenFile holds the bearer token /api/v1 (and with MetricsAuth /metrics)
	// require; re-read when it changes. "" leaves the API open.
	TokenFile   string
	MetricsAuth bool
	// TLSCertFile and TLSKeyFile serve HTTPS (both or neither); re-read when they change.
	TLSCertFile string
	TLSKeyFile  string
	// HistoryDuration and HistoryInterval shape the in-memory history of
	// every series; HistoryMaxSeries bounds it.
	HistoryDuration  time.Duration
	HistoryInterval  time.Duration
	HistoryMaxSeries uint
	// APIRate is the requests per second one client may make to /api/v1.
	APIRate float64
}

// DefaultEthtoolInclude matches the ethtool statistics that tell of drops,
// errors and receive pressure.
const DefaultEthtoolInclude = `drop|discard|err|miss|buf|cache|full|busy|no_mem|nomem|no_wqe|fifo|overrun|timeout|alloc_fail|wake`

// DropSources are the values of --drop-source.
var DropSources = []string{"auto", "tp_btf", "tracepoint", "fexit", "kprobe", "none"}

// DefaultListenAddress is the agent's port from the design contract.
const DefaultListenAddress = ":10095"

// DefaultAPIRate is --api-rate-limit's default: requests per second one
// client address may make to /api/v1, in bursts of twice that. A whole
// Grafana is one address; docs/api.md shows why this fits several users
// refreshing the shipped dashboards at once in direct mode.
const DefaultAPIRate = 50

// ErrHelp is returned when -h or --help was given; usage has been written.
var ErrHelp = flag.ErrHelp

// Parse parses the agent's arguments (without the program name). Usage and
// flag errors are written to output. Every error names the flag at fault.
func Parse(args []string, output io.Writer) (Config, error) {
	fs := flag.NewFlagSet("netlens-agent", flag.ContinueOnError)
	fs.SetOutput(output)
	var (
		c        Config
		logLevel string
	)
	fs.StringVar(&c.ListenAddress, "listen-address", DefaultListenAddress, "`host:port` to serve /metrics, /healthz, /readyz and the agent API on")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the version and exit")
	fs.BoolVar(&c.Unpin, "unpin", false, "remove the pinned eBPF programs and maps under --bpffs-path and exit (when removing the agent from a node)")
	fs.StringVar(&c.DropSource, "drop-source", "auto", "kernel hook for drops: auto, tp_btf, tracepoint, fexit, kprobe or none")
	fs.UintVar(&c.DropEventsPerSecond, "drop-events-per-second", 1000, "sampled drop events per second for the node (0 disables events)")
	fs.UintVar(&c.DropTableEntries, "drop-table-entries", 16384, "entries of each of the two kernel drop count tables (distinct reason, location, protocol and address pairs between two reads); each table takes about entries x (100 + 16 x CPUs) bytes of kernel memory")
	fs.DurationVar(&c.DrainInterval, "drain-interval", 5*time.Second, "how often drop counts are read from the kernel")
	fs.UintVar(&c.MaxPodSeries, "max-pod-series", 10000, "most pod drop series exported; drops beyond are counted in netlens_pod_drop_overflow_packets_total")
	fs.StringVar(&c.PodsFile, "pods-file", "", "pod inventory (`kubectl get pods -o json` output) for attributing drops to pods")
	fs.StringVar(&c.Metadata, "metadata", "auto", "pod inventory drops are attributed with: auto (--pods-file if given, else the Kubernetes API if --kubeconfig is given or the agent runs in a cluster, else none), kubernetes, pods-file or none")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig `file` for the Kubernetes API; empty uses the in-cluster service account")
	fs.StringVar(&c.NodeName, "node-name", defaultNodeName(), "Kubernetes node the agent runs on, whose pods it watches (default: $NODE_NAME, else the host name)")
	fs.BoolVar(&c.ClusterPods, "cluster-pods", false, "also watch every pod of the cluster, so the remote end of a drop is named too (memory grows with the cluster: about 2 KiB per pod)")
	fs.StringVar(&c.StateDir, "state-dir", "/var/lib/netlens", "directory that keeps drop totals across agent restarts (\"\" disables)")
	fs.StringVar(&c.BPFFSPath, "bpffs-path", "/sys/fs/bpf/netlens", "bpffs directory for pinned programs and maps, so drops are counted while the agent restarts (\"\" disables)")
	fs.StringVar(&c.ProcPath, "procfs-path", "/proc", "procfs mount point of the host's network namespace (netstat, softnet and conntrack statistics)")
	fs.StringVar(&c.TokenFile, "token-file", "", "file holding the bearer token that /api/v1 requires (re-read when it changes); empty leaves the API open")
	fs.BoolVar(&c.MetricsAuth, "metrics-auth", false, "require the --token-file token on /metrics too")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "PEM certificate to serve HTTPS with (with --tls-key-file; re-read when it changes)")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file")
	fs.DurationVar(&c.HistoryDuration, "history-duration", 15*time.Minute, "how much history of every series /api/v1/series keeps")
	fs.DurationVar(&c.HistoryInterval, "history-interval", 15*time.Second, "how often the history samples every series")
	fs.UintVar(&c.HistoryMaxSeries, "history-max-series", 50000, "most series the history keeps; more are counted in its status")
	fs.Float64Var(&c.APIRate, "api-rate-limit", DefaultAPIRate, "requests per second one client address may make to /api/v1 (bursts of twice that)")
	configFile := fs.String("config", "", "YAML file with the same keys as these flags (without the dashes); flags given on the command line win")
	ethtoolInclude := fs.String("ethtool-include", DefaultEthtoolInclude, "regular expression selecting the ethtool statistics exported in netlens_nic_stat_total, matched against the name with the queue folded out (rx3_cache_full: rx_cache_full); \".\" exports all")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if *configFile != "" {
		if err := applyFile(fs, *configFile); err != nil {
			return Config{}, err
		}
	}
	var err error
	if c.EthtoolInclude, err = regexp.Compile(*ethtoolInclude); err != nil {
		return Config{}, fmt.Errorf("invalid value %q for flag --ethtool-include: %w", *ethtoolInclude, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (all options are flags, see --help)", fs.Arg(0))
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil || !isKnownLevel(logLevel) {
		return Config{}, fmt.Errorf("invalid value %q for flag --log-level: want debug, info, warn or error", logLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return Config{}, fmt.Errorf("invalid value %q for flag --log-format: want json or text", c.LogFormat)
	}
	if err := validateListenAddress(c.ListenAddress); err != nil {
		return Config{}, fmt.Errorf("invalid value %q for flag --listen-address: %w", c.ListenAddress, err)
	}
	if !slices.Contains(DropSources, c.DropSource) {
		return Config{}, fmt.Errorf("invalid value %q for flag --drop-source: want one of %s", c.DropSource, strings.Join(DropSources, ", "))
	}
	if c.DropTableEntries < 64 || c.DropTableEntries > 1<<18 {
		return Config{}, fmt.Errorf("invalid value %d for flag --drop-table-entries: want 64 to 262144", c.DropTableEntries)
	}
	if c.DropEventsPerSecond > 1_000_000 {
		return Config{}, fmt.Errorf("invalid value %d for flag --drop-events-per-second: want at most 1000000", c.DropEventsPerSecond)
	}
	if c.DrainInterval < 100*time.Millisecond || c.DrainInterval > 10*time.Minute {
		return Config{}, fmt.Errorf("invalid value %s for flag --drain-interval: want 100ms to 10m", c.DrainInterval)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return Config{}, errors.New("flags --tls-cert-file and --tls-key-file go together: give both or neither")
	}
	for flagName, path := range map[string]string{"token-file": c.TokenFile, "tls-cert-file": c.TLSCertFile, "tls-key-file": c.TLSKeyFile} {
		if path != "" {
			if _, err := os.Stat(path); err != nil {
				return Config{}, fmt.Errorf("invalid value %q for flag --%s: %w", path, flagName, err)
			}
		}
	}
	if c.MetricsAuth && c.TokenFile == "" {
		return Config{}, errors.New("flag --metrics-auth needs --token-file")
	}
	if c.HistoryInterval < time.Second || c.HistoryInterval > 10*time.Minute {
		return Config{}, fmt.Errorf("invalid value %s for flag --history-interval: want 1s to 10m", c.HistoryInterval)
	}
	if c.HistoryDuration < c.HistoryInterval || c.HistoryDuration > 24*time.Hour {
		return Config{}, fmt.Errorf("invalid value %s for flag --history-duration: want --history-interval (%s) to 24h", c.HistoryDuration, c.HistoryInterval)
	}
	if c.HistoryMaxSeries < 1 || c.HistoryMaxSeries > 1_000_000 {
		return Config{}, fmt.Errorf("invalid value %d for flag --history-max-series: want 1 to 1000000", c.HistoryMaxSeries)
	}
	if !(c.APIRate >= 0.1 && c.APIRate <= 10000) {
		return Config{}, fmt.Errorf("invalid value %v for flag --api-rate-limit: want 0.1 to 10000", c.APIRate)
	}
	if c.PodsFile != "" {
		if _, err := os.Stat(c.PodsFile); err != nil {
			return Config{}, fmt.Errorf("invalid value %q for flag --pods-file: %w", c.PodsFile, err)
		}
	}
	if err := c.resolveMetadata(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MetadataSources are the values of --metadata.
var MetadataSources = []string{"auto", "kubernetes", "pods-file", "none"}

// defaultNodeName is $NODE_NAME (the downward API's spec.nodeName), else the host name.
func defaultNodeName() string {
	if n := os.Getenv("NODE_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// resolveMetadata turns --metadata auto into the source used and checks
// that the chosen source has what it needs.
func (c *Config) resolveMetadata() error {
	if !slices.Contains(MetadataSources, c.Metadata) {
		return fmt.Errorf("invalid value %q for flag --metadata: want one of %s", c.Metadata, strings.Join(MetadataSources, ", "))
	}
	if c.Kubeconfig != "" {
		if _, err := os.Stat(c.Kubeconfig); err != nil {
			return fmt.Errorf("invalid value %q for flag --kubeconfig: %w", c.Kubeconfig, err)
		}
	}
	inCluster := os.Getenv("KUBERNETES_SERVICE_HOST") != ""
	switch c.Metadata {
	case "auto":
		switch {
		case c.PodsFile != "" && c.Kubeconfig != "":
			return fmt.Errorf("invalid value %q for flag --kubeconfig: --pods-file is given too; give one, or choose with --metadata", c.Kubeconfig)
		case c.PodsFile != "":
			c.Metadata = "pods-file"
		case c.Kubeconfig != "" || inCluster:
			c.Metadata = "kubernetes"
		default:
			c.Metadata = "none"
		}
	case "kubernetes":
		if c.Kubeconfig == "" && !inCluster {
			return errors.New(`invalid value "kubernetes" for flag --metadata: not running in a cluster (no KUBERNETES_SERVICE_HOST): give --kubeconfig`)
		}
	case "pods-file":
		if c.PodsFile == "" {
			return errors.New(`invalid value "pods-file" for flag --metadata: give --pods-file`)
		}
	}
	if c.Metadata == "kubernetes" && c.NodeName == "" && !c.ClusterPods {
		return errors.New(`invalid value "" for flag --node-name: the Kubernetes source needs the node name (set NODE_NAME from spec.nodeName)`)
	}
	return nil
}

func isKnownLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

func validateListenAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. :10095 or 127.0.0.1:10095")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
