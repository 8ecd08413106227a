// Package agent wires the node agent together: its collectors, the metrics
// registry and the HTTP server. cmd/netlens-agent parses flags and calls Run.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/agent/metadata"
	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/agent/server"
	"github.com/netlens/netlens/agent/sysinfo"
	"github.com/netlens/netlens/agent/version"
)

// collectorTimeout bounds one collector's run per scrape.
const collectorTimeout = 10 * time.Second

// Agent is one node's agent.
type Agent struct {
	logger     *slog.Logger
	node       string
	bootID     string
	kernel     string
	pods       metadata.Source
	drops      *dropRuntime
	events     *events.Buffer
	history    *history.Store
	collectors *collector.Registry
	metrics    *prometheus.Registry
	server     *server.Server

	// kernelReasons are the running kernel's drop reason names (nil: unknown).
	kernelReasons []string
}

// New builds the agent with every collector this build has. Errors are bad
// configuration (an unreadable pod inventory); a collector that cannot work
// on this node does not stop the agent, it reports itself down.
func New(cfg config.Config, logger *slog.Logger) (*Agent, error) {
	kernel, err := sysinfo.KernelRelease()
	if err != nil {
		logger.Warn("cannot read kernel release", "err", err)
		kernel = "unknown"
	}
	node := cfg.NodeName
	if node == "" { // a Config built in code
		node, _ = os.Hostname()
	}
	bootID, err := sysinfo.BootID()
	if err != nil {
		logger.Warn("cannot read the boot id; status reports none", "err", err)
	}
	a := &Agent{logger: logger, node: node, bootID: bootID, kernel: kernel, pods: metadata.None{}, metrics: prometheus.NewRegistry()}
	if a.pods, err = newMetadataSource(cfg, logger); err != nil {
		return nil, err
	}
	a.events = events.NewBuffer(1024)
	a.drops = startDrops(cfg, logger, a.pods, a.events)
	a.kernelReasons = a.drops.kernelReasons()
	if missing := reasons.Uncatalogued(a.kernelReasons); len(missing) > 0 {
		logger.Warn("the reason catalog of this agent lacks drop reasons of the running kernel; they are explained generically",
			"reasons", missing)
	}
	a.collectors = collector.NewRegistry(logger, collectorTimeout,
		append([]collector.Collector{a.drops.collector()}, platformCollectors(cfg, logger, a.pods)...)...)
	a.metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector.Info{Version: version.Version, Kernel: kernel, DropSource: a.drops.source},
		collector.Reasons{Kernel: a.kernelReasons},
		a.collectors,
	)
	if cfg.HistoryInterval > 0 {
		a.history = history.New(cfg.HistoryDuration, cfg.HistoryInterval, int(cfg.HistoryMaxSeries))
	}
	opts := server.Options{Logger: logger, Gatherer: a.metrics, Status: a.Status, History: a.history,
		Events: a.events, KernelReasons: a.kernelReasons, ProtectMetrics: cfg.MetricsAuth, RatePerClient: cfg.APIRate}
	if cfg.TokenFile != "" {
		if opts.Token, err = server.NewTokenFile(cfg.TokenFile); err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
	}
	if cfg.TLSCertFile != "" {
		if opts.TLS, err = server.NewCertFiles(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("--tls-cert-file: %w", err)
		}
	}
	a.server = server.New(opts)
	return a, nil
}

// Kernel is the running kernel's release.
func (a *Agent) Kernel() string { return a.kernel }

// Gatherer is the agent's metrics registry, as /metrics serves it.
func (a *Agent) Gatherer() prometheus.Gatherer { return a.metrics }

// Handler serves the agent's HTTP endpoints.
func (a *Agent) Handler() http.Handler { return a.server.Handler() }

// Status is the /api/v1/status payload.
func (a *Agent) Status() api.Status {
	st := api.Status{Node: a.node, BootID: a.bootID, Kernel: a.kernel, Version: version.Version, Metadata: a.pods.Name()}
	if err := a.pods.Err(); err != nil {
		st.MetaError = err.Error()
	}
	a.drops.status(&st)
	if a.kernelReasons != nil {
		st.KernelReasons = len(a.kernelReasons)
		st.UncataloguedReasons = append([]string{}, reasons.Uncatalogued(a.kernelReasons)...)
	}
	if a.history != nil {
		st.History = a.history.Status()
	}
	st.Events.Clients, st.Events.ClientsDropped = a.events.Subscribers()
	for _, c := range a.collectors.Status() {
		st.Collectors = append(st.Collectors, api.CollectorStatus{
			Name: c.Name, Up: c.Up, Error: c.Error, LastRun: c.LastRun, Duration: c.Duration.Seconds(),
		})
	}
	return st
}

// Run serves on l until ctx ends, then shuts down gracefully. Drop counts are
// drained a last time, so that the next agent starts where this one stopped.
func (a *Agent) Run(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(l) }()
	bg, stopBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.drops.run(bg)
	}()
	if a.history != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.history.Run(bg, a.metrics, a.logger)
		}()
	}
	a.server.SetReady(true)
	a.logger.Info("netlens-agent started", "version", version.Version, "kernel", a.kernel,
		"drop_source", a.drops.source(), "address", l.Addr().String(), "metrics", "http://"+l.Addr().String()+"/metrics")

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.server.Shutdown(shutdownCtx); err != nil && serveErr == nil {
		serveErr = err
	}
	stopBG()
	wg.Wait()
	a.drops.close()
	closeMetadataSource(a.pods)
	return serveErr
}
