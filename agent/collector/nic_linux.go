package collector

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/agent/nic"
)

var (
	nicStatDesc = prometheus.NewDesc("netlens_nic_stat_total",
		"A NIC driver's ethtool statistic selected by --ethtool-include, per-queue statistics folded into the queue label (rx3_cache_full: stat rx_cache_full, queue 3; queue empty for device-wide statistics). Drivers name and define these; see docs/nic.md.",
		[]string{"interface", "driver", "queue", "stat"}, nil)
	rxCacheFullDesc = prometheus.NewDesc("netlens_nic_rx_cache_full_total",
		"mlx5's Rx cache full counter (rx_cache_full, the device-wide sum of rxN_cache_full): the receive page-recycle cache was full. A pressure signal, not a drop.",
		[]string{"interface", "driver"}, nil)
	rxBufferExhaustedDesc = prometheus.NewDesc("netlens_nic_rx_buffer_exhausted_total",
		"Packets the NIC lost because it had no receive buffer, per counter that means so for the driver (docs/nic.md). Counters may overlap: alert on any of them rising, do not sum them.",
		[]string{"interface", "driver", "counter"}, nil)
)

// NIC exports the ethtool statistics of every interface, the seed's Rx cache
// full counter and the normalized receive buffer exhaustion signal.
type NIC struct {
	include *regexp.Regexp
	list    func() ([]netlink.Link, error)

	mu sync.Mutex
	// folded caches Fold and the include decision per driver and name: the
	// names repeat on every scrape and across interfaces of one driver.
	folded map[string]foldedStat
}

type foldedStat struct {
	stat, queue string
	include     bool
}

// maxFolded bounds the fold cache (names come from drivers, but a driver
// could invent new ones forever).
const maxFolded = 1 << 16

// NewNIC exports the ethtool statistics whose folded name matches include.
func NewNIC(include *regexp.Regexp) *NIC {
	return &NIC{include: include, list: netlink.LinkList, folded: map[string]foldedStat{}}
}

func (*NIC) Name() string { return "nic" }

func (c *NIC) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	links, err := c.list()
	if err != nil {
		return fmt.Errorf("listing interfaces: %w", err)
	}
	eth, err := ethtool.NewEthtool()
	if err != nil {
		return fmt.Errorf("ethtool: %w", err)
	}
	defer eth.Close()
	var errs []error
	for _, l := range links {
		if ctx.Err() != nil {
			return errors.Join(append(errs, ctx.Err())...)
		}
		if err := c.updateLink(eth, l.Attrs(), ch); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.Attrs().Name, err))
		}
	}
	return errors.Join(errs...)
}

// updateLink exports one interface. An interface that left between listing
// and reading (pod churn), or whose driver has no ethtool support, is not an
// error.
func (c *NIC) updateLink(eth *ethtool.Ethtool, a *netlink.LinkAttrs, ch chan<- prometheus.Metric) error {
	driver, err := eth.DriverName(a.Name)
	if err != nil && !gone(err) {
		return fmt.Errorf("driver info: %w", err)
	}
	var stats nic.Stats
	if err == nil {
		raw, err := eth.Stats(a.Name)
		if err != nil && !gone(err) {
			return fmt.Errorf("statistics: %w", err)
		}
		stats = c.fold(driver, raw, a.Name, ch)
	}
	if v, ok := nic.RxCacheFull(stats); ok {
		ch <- prometheus.MustNewConstMetric(rxCacheFullDesc, prometheus.CounterValue, float64(v), a.Name, driver)
	}
	var netdev nic.Netdev
	if s := a.Statistics; s != nil {
		netdev = nic.Netdev{RxMissedErrors: s.RxMissedErrors, RxFifoErrors: s.RxFifoErrors}
	}
	for _, counter := range nic.BufferExhausted(driver, stats, netdev) {
		ch <- prometheus.MustNewConstMetric(rxBufferExhaustedDesc, prometheus.CounterValue, float64(counter.Value), a.Name, driver, counter.Name)
	}
	return nil
}

// fold folds every statistic of one interface and exports the included ones.
func (c *NIC) fold(driver string, raw map[string]uint64, iface string, ch chan<- prometheus.Metric) nic.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.folded) > maxFolded {
		clear(c.folded)
	}
	stats := make(nic.Stats, 0, len(raw))
	seen := make(map[[2]string]bool, len(raw))
	// In name order, so that a clash resolves the same way on every scrape.
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		key := driver + "\x00" + name
		f, ok := c.folded[key]
		if !ok {
			f.stat, f.queue = nic.Fold(driver, name)
			f.include = c.include.MatchString(f.stat)
			c.folded[key] = f
		}
		// Two names folding alike (a driver's own spelling clash) would be one
		// series twice: the later one keeps its raw name.
		if seen[[2]string{f.stat, f.queue}] {
			f.stat, f.queue = name, ""
		}
		seen[[2]string{f.stat, f.queue}] = true
		stats = append(stats, nic.Stat{Name: f.stat, Queue: f.queue, Value: v})
		if f.include {
			ch <- prometheus.MustNewConstMetric(nicStatDesc, prometheus.CounterValue, float64(v), iface, driver, f.queue, f.stat)
		}
	}
	return stats
}

// gone reports errors that mean the interface has no ethtool statistics
// (anymore): it was removed, or its driver does not implement them.
func gone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENXIO)
}
