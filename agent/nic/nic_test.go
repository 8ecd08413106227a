package nic

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every queue spelling of the drivers Netlens knows folds into name and
// queue; device-wide names, size histograms and look-alikes stay whole.
func TestFold(t *testing.T) {
	cases := []struct{ driver, in, stat, queue string }{
		{"virtio_net", "rx_queue_3_drops", "rx_drops", "3"},
		{"veth", "tx_queue_15_xdp_xmit", "tx_xdp_xmit", "15"},
		{"mlx5_core", "rx3_cache_full", "rx_cache_full", "3"},
		{"mlx5_core", "tx12_nop", "tx_nop", "12"},
		{"mlx5_core", "ch0_events", "ch_events", "0"},
		{"mlx5_core", "rx_cache_full", "rx_cache_full", ""},
		{"mlx5_core", "rx_64_bytes_phy", "rx_64_bytes_phy", ""},
		{"mlx5_core", "rx_65_to_127_bytes_phy", "rx_65_to_127_bytes_phy", ""},
		{"mana", "rx_7_xdp_drop", "rx_xdp_drop", "7"},
		{"mana", "hc_rx_discards_no_wqe", "hc_rx_discards_no_wqe", ""},
		{"i40e", "rx-3.packets", "rx_packets", "3"},
		{"ena", "queue_2_tx_cnt", "tx_cnt", "2"},
		{"hv_netvsc", "cpu1_vf_rx_packets", "cpu_vf_rx_packets", "1"},
		{"virtio_net", "rx_packets", "rx_packets", ""},
		{"virtio_net", "rx3_", "rx3_", ""},
		{"virtio_net", "rx_queue_x_drops", "rx_queue_x_drops", ""},
		{"virtio_net", "rx1234567_drops", "rx1234567_drops", ""},
		{"virtio_net", "", "", ""},
		{"virtio_net", "rx", "rx", ""},
	}
	for _, c := range cases {
		stat, queue := Fold(c.driver, c.in)
		if stat != c.stat || queue != c.queue {
			t.Errorf("Fold(%q, %q) = %q, %q; want %q, %q", c.driver, c.in, stat, queue, c.stat, c.queue)
		}
	}
}

// parseEthtoolS reads `ethtool -S` output into folded stats.
func parseEthtoolS(t *testing.T, driver, path string) Stats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out Stats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ": ")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		stat, queue := Fold(driver, name)
		out = append(out, Stat{Name: stat, Queue: queue, Value: v})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no statistics", path)
	}
	return out
}

// mlx5: the seed's counter is the device-wide rx_cache_full, not that plus
// its per-channel parts (300, not 600); without the device-wide one, the
// channels are summed.
func TestRxCacheFullMlx5(t *testing.T) {
	s := parseEthtoolS(t, "mlx5_core", "testdata/mlx5_core.txt")
	if v, ok := RxCacheFull(s); !ok || v != 300 {
		t.Fatalf("rx_cache_full = %d, %v; want 300", v, ok)
	}
	perQueue := slices.DeleteFunc(slices.Clone(s), func(st Stat) bool { return st.Name == "rx_cache_full" && st.Queue == "" })
	if v, ok := RxCacheFull(perQueue); !ok || v != 300 {
		t.Fatalf("rx_cache_full summed over channels = %d, %v; want 300", v, ok)
	}
	for _, driver := range []string{"mana", "hv_netvsc", "ixgbe"} {
		if v, ok := RxCacheFull(parseEthtoolS(t, driver, "testdata/"+driver+".txt")); ok {
			t.Errorf("%s has no rx_cache_full, got %d", driver, v)
		}
	}
}

// Each driver's "no receive buffer" counters come from its own statistics,
// the generic netdev ones from the interface statistics; mana's
// rx_missed_errors repeats hc_rx_discards_no_wqe and is left out.
func TestBufferExhausted(t *testing.T) {
	cases := []struct {
		driver string
		netdev Netdev
		want   string
	}{
		{"mlx5_core", Netdev{RxMissedErrors: 4242}, "rx_out_of_buffer=4242 rx_buff_alloc_err=6 rx_missed_errors=4242 rx_fifo_errors=0"},
		{"mana", Netdev{RxMissedErrors: 5150}, "hc_rx_discards_no_wqe=5150 rx_fifo_errors=0"},
		{"hv_netvsc", Netdev{}, "rx_no_memory=9 rx_comp_busy=41 rx_missed_errors=0 rx_fifo_errors=0"},
		{"ixgbe", Netdev{RxMissedErrors: 88123, RxFifoErrors: 1}, "rx_no_buffer_count=77 rx_no_dma_resources=512 rx_missed_errors=88123 rx_fifo_errors=1"},
	}
	for _, c := range cases {
		s := parseEthtoolS(t, c.driver, "testdata/"+c.driver+".txt")
		var got []string
		for _, counter := range BufferExhausted(c.driver, s, c.netdev) {
			got = append(got, fmt.Sprintf("%s=%d", counter.Name, counter.Value))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: got %s, want %s", c.driver, strings.Join(got, " "), c.want)
		}
	}
	// A driver Netlens has no table for still gets the generic counters.
	if got := BufferExhausted("e1000", nil, Netdev{RxMissedErrors: 3}); len(got) != 2 || got[0] != (Counter{"rx_missed_errors", 3}) {
		t.Fatalf("unknown driver: %+v", got)
	}
}

// Per-queue counters of every fixture fold into few names: the queue label
// carries the rest (bounded cardinality of the stat label).
func TestFixturesFoldQueues(t *testing.T) {
	for driver, want := range map[string]int{"mlx5_core": 4, "mana": 2, "hv_netvsc": 2, "ixgbe": 2} {
		queues := map[string]bool{}
		for _, st := range parseEthtoolS(t, driver, "testdata/"+driver+".txt") {
			if st.Queue != "" && strings.HasPrefix(st.Name, "rx_") && !strings.HasPrefix(st.Name, "cpu") {
				queues[st.Queue] = true
			}
		}
		if len(queues) != want {
			t.Errorf("%s: %d receive queues found, want %d: %v", driver, len(queues), want, queues)
		}
	}
}

// Fold never panics, and what it folds out is a queue number with a
// non-empty name left over.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"rx_queue_3_drops", "rx3_cache_full", "rx_0_packets", "rx-1.bytes", "ch2_arm", "queue_0_tx_cnt", "cpu7_rx_bytes", "rx", "rx_queue_", "tx99999_x"} {
		f.Add("mana", s)
		f.Add("mlx5_core", s)
	}
	f.Fuzz(func(t *testing.T, driver, name string) {
		stat, queue := Fold(driver, name)
		if queue == "" {
			if stat != name {
				t.Fatalf("Fold(%q) changed the name to %q without a queue", name, stat)
			}
			return
		}
		if _, err := strconv.Atoi(queue); err != nil || len(queue) > 5 || stat == "" {
			t.Fatalf("Fold(%q) = %q, %q", name, stat, queue)
		}
	})
}
