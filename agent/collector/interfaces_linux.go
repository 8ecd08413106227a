package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netlink"
)

// Interfaces exports every interface's packet, byte, drop and error counters
// from the kernel's 64-bit interface statistics (netlink), once per interface
// and direction.
type Interfaces struct {
	list func() ([]netlink.Link, error)
}

// NewInterfaces reads the interfaces of the agent's network namespace.
func NewInterfaces() *Interfaces { return &Interfaces{list: netlink.LinkList} }

func (*Interfaces) Name() string { return "interfaces" }

func (c *Interfaces) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	links, err := c.list()
	if err != nil {
		return fmt.Errorf("listing interfaces: %w", err)
	}
	for _, l := range links {
		a := l.Attrs()
		s := a.Statistics
		if s == nil {
			continue
		}
		for _, m := range []struct {
			desc   *prometheus.Desc
			rx, tx uint64
		}{
			{InterfacePacketsDesc, s.RxPackets, s.TxPackets},
			{InterfaceBytesDesc, s.RxBytes, s.TxBytes},
			{InterfaceDroppedDesc, s.RxDropped, s.TxDropped},
			{InterfaceErrorsDesc, s.RxErrors, s.TxErrors},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.rx), a.Name, "rx")
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.tx), a.Name, "tx")
		}
	}
	return nil
}
