package nic

// Stat is one ethtool statistic with its per-queue part folded out.
type Stat struct {
	// Name is the statistic without its queue: rx3_cache_full -> rx_cache_full.
	Name string
	// Queue is the queue (or channel, or CPU for hv_netvsc's cpuN_ counters)
	// the statistic belongs to; "" for device-wide statistics.
	Queue string
	Value uint64
}

// Fold splits a driver's statistic name into its name without the queue and
// the queue number. Drivers spell queues differently:
//
//	rx_queue_3_drops, tx_queue_3_bytes   virtio_net, veth, hv_netvsc, ixgbe
//	rx3_cache_full, tx3_nop, ch3_events  mlx5
//	rx_3_packets, tx_3_bytes             mana (only: others use rx_64_bytes for sizes)
//	rx-3.packets, tx-3.bytes             i40e
//	queue_3_tx_cnt                       ena
//	cpu3_rx_packets                      hv_netvsc (per CPU, not per queue)
//
// Names matching none of these are device-wide and come back unchanged.
// Hand-written rather than regular expressions: a node with 100 interfaces
// of 16 queues has tens of thousands of names per scrape.
func Fold(driver, name string) (stat, queue string) {
	switch {
	case hasPrefix(name, "rx"), hasPrefix(name, "tx"):
		dir, rest := name[:2], name[2:]
		// rx_queue_3_drops
		if q, tail, ok := number(rest, "_queue_", "_"); ok {
			return dir + "_" + tail, q
		}
		// rx3_cache_full
		if q, tail, ok := number(rest, "", "_"); ok {
			return dir + "_" + tail, q
		}
		// rx_3_packets
		if q, tail, ok := number(rest, "_", "_"); ok && driver == "mana" {
			return dir + "_" + tail, q
		}
		// rx-3.packets
		if q, tail, ok := number(rest, "-", "."); ok {
			return dir + "_" + tail, q
		}
	case hasPrefix(name, "ch"):
		if q, tail, ok := number(name[2:], "", "_"); ok {
			return "ch_" + tail, q
		}
	case hasPrefix(name, "queue_"):
		if q, tail, ok := number(name[5:], "_", "_"); ok {
			return tail, q
		}
	case hasPrefix(name, "cpu"):
		if q, tail, ok := number(name[3:], "", "_"); ok {
			return "cpu_" + tail, q
		}
	}
	return name, ""
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// number matches s against before + digits + after + tail (tail not empty)
// and returns the digits and the tail.
func number(s, before, after string) (digits, tail string, ok bool) {
	if !hasPrefix(s, before) {
		return "", "", false
	}
	s = s[len(before):]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	// At most 5 digits: no NIC has 100000 queues, and "rx_1234567_x" is not a queue.
	if n == 0 || n > 5 || !hasPrefix(s[n:], after) || len(s) == n+len(after) {
		return "", "", false
	}
	return s[:n], s[n+len(after):], true
}
