package agent

import (
	"log/slog"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/metadata"
	"github.com/netlens/netlens/agent/windows"
)

// platformCollectors are the Windows collectors: HNS endpoints and VFP ports,
// each on its own so that one failing (vfpctrl missing) never hides the other.
func platformCollectors(_ config.Config, logger *slog.Logger, pods metadata.Source) []collector.Collector {
	return []collector.Collector{
		windows.NewHNSCollector(logger, pods),
		windows.NewVFPCollector(logger, pods),
	}
}
