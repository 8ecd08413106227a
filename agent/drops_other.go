//go:build !linux

package agent

import (
	"context"
	"errors"
	"log/slog"
	"runtime"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/metadata"
)

// dropRuntime is a placeholder where the kernel drop programs do not exist;
// Windows drop counters come from HNS/VFP collectors instead.
type dropRuntime struct{}

func startDrops(config.Config, *slog.Logger, metadata.Source, *events.Buffer) *dropRuntime {
	return &dropRuntime{}
}

func (*dropRuntime) source() string { return "none" }

// kernelReasons is nil: there is no kernel drop reason enum to read.
func (*dropRuntime) kernelReasons() []string { return nil }

func (*dropRuntime) collector() collector.Collector {
	return collector.Drops{Err: errors.New("kernel drop programs only exist on Linux, not " + runtime.GOOS)}
}

func (*dropRuntime) status(st *api.Status) { st.DropSource = "none" }
func (*dropRuntime) run(context.Context)   {}
func (*dropRuntime) close()                {}
