package collector

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/drops"
)

// DropTotals is the accountant that turns kernel counts into totals.
type DropTotals interface {
	Drain() error
	Snapshot() drops.Snapshot
}

// DropKernel reports what the kernel side could not record.
type DropKernel interface {
	Lost() (drops.Lost, error)
}

// Drops exports packet drops per reason, location and protocol, per pod, and
// what could not be recorded. A scrape first drains the kernel's counts, so
// it sees every drop up to the scrape.
type Drops struct {
	Totals DropTotals
	Kernel DropKernel
	// Events returns how many sampled events the agent received.
	Events func() uint64
	// Err, when set, is why no drop source runs; the collector reports it.
	Err error
}

var (
	// DropPacketsDesc and the three below are the drop metrics of every
	// platform: the kernel's drops on Linux, HNS and VFP drops on Windows
	// (agent/windows).
	DropPacketsDesc = prometheus.NewDesc("netlens_drop_packets_total",
		"Packets dropped, by drop reason, where they were dropped and protocol. Linux: the kernel's drop reason and the kernel function that dropped them. Windows: ACL_DROP at vfp, ENDPOINT_DROP at hns, protocol unknown.",
		[]string{"reason", "location", "protocol"}, nil)
	DropBytesDesc = prometheus.NewDesc("netlens_drop_bytes_total",
		"Bytes of the dropped packets (Linux: skb length at the drop), by reason, location and protocol; absent where the source counts no bytes.",
		[]string{"reason", "location", "protocol"}, nil)
	PodDropPacketsDesc = prometheus.NewDesc("netlens_pod_drop_packets_total",
		"Dropped packets sent by (egress) or addressed to (ingress) a pod on this node's inventory, by reason.",
		[]string{"namespace", "pod", "workload", "direction", "reason"}, nil)
	PodDropBytesDesc = prometheus.NewDesc("netlens_pod_drop_bytes_total",
		"Bytes of dropped packets sent by (egress) or addressed to (ingress) a pod, by reason.",
		[]string{"namespace", "pod", "workload", "direction", "reason"}, nil)
	podOverflowPacketsDesc = prometheus.NewDesc("netlens_pod_drop_overflow_packets_total",
		"Dropped packets of pods whose series was not created because --max-pod-series was reached.", nil, nil)
	podOverflowBytesDesc = prometheus.NewDesc("netlens_pod_drop_overflow_bytes_total",
		"Bytes of dropped packets not attributed because --max-pod-series was reached.", nil, nil)
	podSeriesDesc = prometheus.NewDesc("netlens_pod_drop_series",
		"Pod drop series currently exported (bounded by --max-pod-series).", nil, nil)
	lostDesc = prometheus.NewDesc("netlens_agent_lost_total",
		"Things the agent could not record: drops whose key did not fit the kernel table (drop_table_full), drops with no table installed (drop_no_table), drop program runs the kernel skipped because another BPF program ran on the CPU (drop_program_recursion), sampled events that did not fit the ring (drop_event_ring_full).",
		[]string{"what"}, nil)
	sampledOutDesc = prometheus.NewDesc("netlens_drop_events_sampled_out_total",
		"Drops not sent as events because of the event rate limit (--drop-events-per-second); they are still counted.", nil, nil)
	eventsDesc = prometheus.NewDesc("netlens_drop_events_total",
		"Sampled drop events the agent received from the kernel.", nil, nil)
)

func (Drops) Name() string { return "drops" }

func (d Drops) Update(_ context.Context, ch chan<- prometheus.Metric) error {
	if d.Totals == nil {
		if d.Err == nil {
			return errors.New("drop counting is disabled (--drop-source none)")
		}
		return d.Err
	}
	drainErr := d.Totals.Drain()
	s := d.Totals.Snapshot()
	for _, n := range s.Node {
		ch <- prometheus.MustNewConstMetric(DropPacketsDesc, prometheus.CounterValue, float64(n.Packets), n.Reason, n.Location, n.Protocol)
		ch <- prometheus.MustNewConstMetric(DropBytesDesc, prometheus.CounterValue, float64(n.Bytes), n.Reason, n.Location, n.Protocol)
	}
	for _, p := range s.Pods {
		ch <- prometheus.MustNewConstMetric(PodDropPacketsDesc, prometheus.CounterValue, float64(p.Packets), p.Namespace, p.Pod, p.Workload, p.Direction, p.Reason)
		ch <- prometheus.MustNewConstMetric(PodDropBytesDesc, prometheus.CounterValue, float64(p.Bytes), p.Namespace, p.Pod, p.Workload, p.Direction, p.Reason)
	}
	ch <- prometheus.MustNewConstMetric(podOverflowPacketsDesc, prometheus.CounterValue, float64(s.Overflow.Packets))
	ch <- prometheus.MustNewConstMetric(podOverflowBytesDesc, prometheus.CounterValue, float64(s.Overflow.Bytes))
	ch <- prometheus.MustNewConstMetric(podSeriesDesc, prometheus.GaugeValue, float64(len(s.Pods)))
	if d.Events != nil {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(d.Events()))
	}

	lost, lostErr := d.Kernel.Lost()
	if lostErr == nil {
		for what, v := range map[string]uint64{
			"drop_table_full": lost.TableFull, "drop_no_table": lost.NoTable,
			"drop_program_recursion": lost.Recursion, "drop_event_ring_full": lost.RingFull,
		} {
			ch <- prometheus.MustNewConstMetric(lostDesc, prometheus.CounterValue, float64(v), what)
		}
		ch <- prometheus.MustNewConstMetric(sampledOutDesc, prometheus.CounterValue, float64(lost.RateLimited))
	}
	return errors.Join(drainErr, lostErr)
}
