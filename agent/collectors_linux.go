package agent

import (
	"log/slog"
	"regexp"

	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/metadata"
)

// platformCollectors are the Linux collectors besides drops: NIC, interfaces
// and the host network stack.
func platformCollectors(cfg config.Config, logger *slog.Logger, pods metadata.Source) []collector.Collector {
	return []collector.Collector{
		collector.NewInterfaces(),
		collector.NewNIC(ethtoolInclude(cfg)),
		collector.NewNetstat(procPath(cfg)),
		collector.NewSoftnet(procPath(cfg)),
		collector.NewConntrack(procPath(cfg)),
	}
}

// ethtoolInclude is --ethtool-include, or its default for a Config built in code.
func ethtoolInclude(cfg config.Config) *regexp.Regexp {
	if cfg.EthtoolInclude != nil {
		return cfg.EthtoolInclude
	}
	return regexp.MustCompile(config.DefaultEthtoolInclude)
}

// procPath is --procfs-path, or /proc for a Config built in code.
func procPath(cfg config.Config) string {
	if cfg.ProcPath != "" {
		return cfg.ProcPath
	}
	return "/proc"
}
