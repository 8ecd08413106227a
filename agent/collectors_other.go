//go:build !linux && !windows

package agent

import (
	"log/slog"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/metadata"
)

// platformCollectors: this platform has none besides the (down) drops collector.
func platformCollectors(config.Config, *slog.Logger, metadata.Source) []collector.Collector {
	return nil
}
