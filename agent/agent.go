// Package agent wires the node agent together: its collectors, the metrics
// registry and the HTTP server. cmd/netlens-agent parses flags and calls Run.
package agent

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/server"
	"github.com/netlens/netlens/agent/sysinfo"
	"github.com/netlens/netlens/agent/version"
)

// collectorTimeout bounds one collector's run per scrape.
const collectorTimeout = 10 * time.Second

// Agent is one node's agent.
type Agent struct {
	logger     *slog.Logger
	kernel     string
	collectors *collector.Registry
	metrics    *prometheus.Registry
	server     *server.Server
}

// New builds the agent with every collector this build has.
func New(logger *slog.Logger) *Agent {
	kernel, err := sysinfo.KernelRelease()
	if err != nil {
		logger.Warn("cannot read kernel release", "err", err)
		kernel = "unknown"
	}
	a := &Agent{
		logger: logger,
		kernel: kernel,
		// Collectors join here as they are built (drops, NIC, host stack).
		collectors: collector.NewRegistry(logger, collectorTimeout),
		metrics:    prometheus.NewRegistry(),
	}
	a.metrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collector.Info{Version: version.Version, Kernel: kernel, DropSource: func() string { return "none" }},
		a.collectors,
	)
	a.server = server.New(logger, a.metrics)
	return a
}

// Kernel is the running kernel's release.
func (a *Agent) Kernel() string { return a.kernel }

// Gatherer is the agent's metrics registry, as /metrics serves it.
func (a *Agent) Gatherer() prometheus.Gatherer { return a.metrics }

// Handler serves the agent's HTTP endpoints.
func (a *Agent) Handler() http.Handler { return a.server.Handler() }

// Run serves on l until ctx ends, then shuts down gracefully.
func (a *Agent) Run(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(l) }()
	a.server.SetReady(true)
	a.logger.Info("netlens-agent started", "version", version.Version, "kernel", a.kernel,
		"address", l.Addr().String(), "metrics", "http://"+l.Addr().String()+"/metrics")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.server.Shutdown(shutdownCtx)
}
