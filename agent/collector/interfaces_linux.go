package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netlink"
)

var (
	ifPacketsDesc = prometheus.NewDesc("netlens_interface_packets_total",
		"Packets received (rx) or sent (tx) by the interface (kernel interface statistics).", []string{"interface", "direction"}, nil)
	ifBytesDesc = prometheus.NewDesc("netlens_interface_bytes_total",
		"Bytes received (rx) or sent (tx) by the interface.", []string{"interface", "direction"}, nil)
	ifDroppedDesc = prometheus.NewDesc("netlens_interface_dropped_total",
		"Packets the interface's driver or the stack dropped on receive (rx) or transmit (tx); receive buffer exhaustion is not in here but in netlens_nic_rx_buffer_exhausted_total.",
		[]string{"interface", "direction"}, nil)
	ifErrorsDesc = prometheus.NewDesc("netlens_interface_errors_total",
		"Receive (rx) or transmit (tx) errors of the interface.", []string{"interface", "direction"}, nil)
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
			{ifPacketsDesc, s.RxPackets, s.TxPackets},
			{ifBytesDesc, s.RxBytes, s.TxBytes},
			{ifDroppedDesc, s.RxDropped, s.TxDropped},
			{ifErrorsDesc, s.RxErrors, s.TxErrors},
		} {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.rx), a.Name, "rx")
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.tx), a.Name, "tx")
		}
	}
	return nil
}
