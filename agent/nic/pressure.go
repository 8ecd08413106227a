package nic

// Stats are one interface's folded ethtool statistics.
type Stats []Stat

// Total is a statistic's device-wide value when the driver reports one (mlx5
// reports rx_cache_full and rx0_cache_full..rxN_cache_full: the first is
// already their sum), otherwise the sum over its queues. ok is false when
// the driver has no such statistic.
func (s Stats) Total(name string) (total uint64, ok bool) {
	var sum uint64
	for _, st := range s {
		if st.Name != name {
			continue
		}
		if st.Queue == "" {
			return st.Value, true
		}
		sum += st.Value
		ok = true
	}
	return sum, ok
}

// RxCacheFull is the seed's "Rx cache full" counter: mlx5's rx_cache_full
// (per channel rxN_cache_full), times the page-recycle cache could not take
// a page back. A pressure signal, not a drop; mlx5 removed it around 6.4.
func RxCacheFull(s Stats) (uint64, bool) { return s.Total("rx_cache_full") }

// Netdev are the generic receive-buffer counters every driver may fill in
// the kernel's interface statistics (rtnl_link_stats64).
type Netdev struct {
	RxMissedErrors uint64 // the NIC had no room for the packet (buffer exhaustion)
	RxFifoErrors   uint64 // receive FIFO overrun
}

// Counter is one counter that means "no receive buffer, packet lost".
type Counter struct {
	Name  string
	Value uint64
}

// driverCounters are, per driver (ethtool driver name), the ethtool
// statistics that count packets lost for want of a receive buffer; see
// docs/nic.md for each one's meaning and source.
var driverCounters = map[string][]string{
	"mlx5_core": {"rx_out_of_buffer", "rx_buff_alloc_err", "rx_discards_phy"},
	"mana":      {"hc_rx_discards_no_wqe"},
	"hv_netvsc": {"rx_no_memory", "rx_comp_busy"},
	"ixgbe":     {"rx_no_buffer_count", "rx_no_dma_resources"},
}

// duplicates names, per driver, the generic counters that repeat one of the
// driver's own: mana reports hc_rx_discards_no_wqe as rx_missed_errors too
// on newer kernels, and exporting both would count each loss twice.
var duplicates = map[string]map[string]string{
	"mana": {"rx_missed_errors": "hc_rx_discards_no_wqe"},
}

// BufferExhausted returns the counters of an interface that mean its NIC ran
// out of receive buffers: the driver's own (those it has) and the generic
// netdev ones, except where they repeat the driver's.
func BufferExhausted(driver string, s Stats, netdev Netdev) []Counter {
	var out []Counter
	have := map[string]bool{}
	for _, name := range driverCounters[driver] {
		if v, ok := s.Total(name); ok {
			out = append(out, Counter{name, v})
			have[name] = true
		}
	}
	for _, c := range []Counter{{"rx_missed_errors", netdev.RxMissedErrors}, {"rx_fifo_errors", netdev.RxFifoErrors}} {
		if own, dup := duplicates[driver][c.Name]; dup && have[own] {
			continue
		}
		out = append(out, c)
	}
	return out
}
