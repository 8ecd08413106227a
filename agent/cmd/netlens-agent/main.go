// Command netlens-agent is Netlens's per-node agent: it serves Prometheus
// metrics about packet drops and NIC receive pressure, and the agent API.
// `netlens-agent observe` prints a running agent's drops as they happen.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/netlens/netlens/agent"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/observe"
	"github.com/netlens/netlens/agent/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "observe" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := observe.Run(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the process exit code: 0 after a clean stop, 1 on a runtime
// failure, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "netlens-agent: %v\n", err)
		return 2
	}
	if cfg.ShowVersion {
		fmt.Fprintf(stdout, "netlens-agent %s (%s, %s/%s)\n", version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	logger := newLogger(cfg, stderr)
	if cfg.Unpin {
		if err := unpin(cfg.BPFFSPath); err != nil {
			logger.Error("removing pinned objects", "path", cfg.BPFFSPath, "err", err)
			return 1
		}
		logger.Info("removed pinned objects", "path", cfg.BPFFSPath)
		return 0
	}
	a, err := agent.New(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "netlens-agent: %v\n", err)
		return 2
	}

	l, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		logger.Error("cannot listen", "address", cfg.ListenAddress, "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx, l); err != nil {
		logger.Error("agent stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
