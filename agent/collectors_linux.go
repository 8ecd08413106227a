package agent

import (
	"log/slog"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/metadata"
)

// platformCollectors are the Linux collectors besides drops: NIC, interfaces
// and the host network stack.
func platformCollectors(cfg config.Config, logger *slog.Logger, pods metadata.Source) []collector.Collector {
	return []collector.Collector{
		collector.NewInterfaces(),
		collector.NewNIC(cfg.EthtoolInclude),
	}
}
