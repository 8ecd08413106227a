package collector

import "github.com/prometheus/client_golang/prometheus"

// The interface metrics of every platform: the kernel's interface statistics
// on Linux (Interfaces), HNS endpoints on Windows (agent/windows).
var (
	InterfacePacketsDesc = prometheus.NewDesc("netlens_interface_packets_total",
		"Packets received (rx) or sent (tx) by the interface. Linux: kernel interface statistics. Windows: per HNS endpoint, rx toward the pod.",
		[]string{"interface", "direction"}, nil)
	InterfaceBytesDesc = prometheus.NewDesc("netlens_interface_bytes_total",
		"Bytes received (rx) or sent (tx) by the interface.", []string{"interface", "direction"}, nil)
	InterfaceDroppedDesc = prometheus.NewDesc("netlens_interface_dropped_total",
		"Packets dropped on receive (rx) or transmit (tx). Linux: the driver's or stack's rx_dropped/tx_dropped; receive buffer exhaustion is not in here but in netlens_nic_rx_buffer_exhausted_total. Windows: HNS endpoint DroppedPacketsIncoming (rx) and DroppedPacketsOutgoing (tx).",
		[]string{"interface", "direction"}, nil)
	InterfaceErrorsDesc = prometheus.NewDesc("netlens_interface_errors_total",
		"Receive (rx) or transmit (tx) errors of the interface.", []string{"interface", "direction"}, nil)
)
