package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Softnet exports the per-CPU receive backlog statistics of
// /proc/net/softnet_stat: packets the CPU's backlog processed, packets dropped
// because the backlog was full (net.core.netdev_max_backlog), times the
// receive softirq ran out of budget with work left (time_squeeze,
// net.core.netdev_budget and netdev_budget_usecs) and flow-limit drops. The
// file is the same in every network namespace: these are the host's figures.
type Softnet struct {
	procPath string
}

// NewSoftnet returns the softnet collector reading procfs mounted at procPath.
func NewSoftnet(procPath string) *Softnet { return &Softnet{procPath: procPath} }

var (
	softnetProcessedDesc = prometheus.NewDesc("netlens_softnet_processed_total",
		"Packets the CPU's receive backlog processed (/proc/net/softnet_stat column 1).", []string{"cpu"}, nil)
	softnetDroppedDesc = prometheus.NewDesc("netlens_softnet_dropped_total",
		"Packets dropped because the CPU's receive backlog was full, net.core.netdev_max_backlog (/proc/net/softnet_stat column 2).", []string{"cpu"}, nil)
	softnetTimeSqueezeDesc = prometheus.NewDesc("netlens_softnet_time_squeeze_total",
		"Times the receive softirq stopped with work left because its budget (net.core.netdev_budget, netdev_budget_usecs) ran out (/proc/net/softnet_stat column 3).", []string{"cpu"}, nil)
	softnetFlowLimitDesc = prometheus.NewDesc("netlens_softnet_flow_limit_total",
		"Packets dropped by the receive flow limit, net.core.flow_limit_cpu_bitmap (/proc/net/softnet_stat column 11; a part of netlens_softnet_dropped_total).", []string{"cpu"}, nil)
)

func (*Softnet) Name() string { return "softnet" }

func (s *Softnet) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := filepath.Join(s.procPath, "net/softnet_stat")
	rows, err := readProcFile(path, ParseSoftnet)
	if err != nil {
		return err
	}
	for _, r := range rows {
		cpu := strconv.Itoa(r.CPU)
		ch <- prometheus.MustNewConstMetric(softnetProcessedDesc, prometheus.CounterValue, float64(r.Processed), cpu)
		ch <- prometheus.MustNewConstMetric(softnetDroppedDesc, prometheus.CounterValue, float64(r.Dropped), cpu)
		ch <- prometheus.MustNewConstMetric(softnetTimeSqueezeDesc, prometheus.CounterValue, float64(r.TimeSqueeze), cpu)
		if r.HasFlowLimit {
			ch <- prometheus.MustNewConstMetric(softnetFlowLimitDesc, prometheus.CounterValue, float64(r.FlowLimitCount), cpu)
		}
	}
	return nil
}

// SoftnetCPU is one row of /proc/net/softnet_stat.
type SoftnetCPU struct {
	// CPU is the row's CPU: the index column (13th) where the kernel prints
	// it (since about Linux 5.10), else the row's position, which is only right while
	// every CPU is online (the kernel prints rows for online CPUs only).
	CPU                             int
	Processed, Dropped, TimeSqueeze uint64
	// FlowLimitCount is column 11, present since Linux 3.11 (HasFlowLimit).
	FlowLimitCount uint64
	HasFlowLimit   bool
}

const (
	softnetMinColumns   = 3  // processed, dropped, time_squeeze: every kernel
	softnetFlowColumn   = 10 // flow_limit_count (0-based)
	softnetIndexColumn  = 12 // the CPU's index (0-based), since about Linux 5.10
	softnetMaxColumns   = 64 // a row wider than this is not softnet_stat
	softnetMaxCPUIndex  = 1 << 20
	softnetValueBitSize = 64
)

// ParseSoftnet parses /proc/net/softnet_stat: one row per online CPU of
// hexadecimal columns. Columns beyond those it knows are ignored, so newer
// kernels' additions (input_qlen, process_qlen in 6.x) are harmless. file names
// the input in errors. It is an error when a row has fewer than 3 columns, rows
// differ in column count, a column is not hexadecimal or two rows name the same CPU.
func ParseSoftnet(r io.Reader, file string) ([]SoftnetCPU, error) {
	b, err := readAllLimited(r, file)
	if err != nil {
		return nil, err
	}
	var out []SoftnetCPU
	width := -1
	seen := map[int]bool{}
	for i, l := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(l))
		if len(f) == 0 {
			continue
		}
		row := len(out)
		if len(f) < softnetMinColumns || len(f) > softnetMaxColumns {
			return nil, fmt.Errorf("%s: line %d: %d columns, want %d to %d", file, i+1, len(f), softnetMinColumns, softnetMaxColumns)
		}
		if width >= 0 && len(f) != width {
			return nil, fmt.Errorf("%s: line %d: %d columns, the rows before have %d", file, i+1, len(f), width)
		}
		width = len(f)
		vals := make([]uint64, len(f))
		for j, s := range f {
			v, err := strconv.ParseUint(s, 16, softnetValueBitSize)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d column %d: %q is not hexadecimal", file, i+1, j+1, truncate(s, 40))
			}
			vals[j] = v
		}
		c := SoftnetCPU{CPU: row, Processed: vals[0], Dropped: vals[1], TimeSqueeze: vals[2]}
		if len(vals) > softnetFlowColumn {
			c.FlowLimitCount, c.HasFlowLimit = vals[softnetFlowColumn], true
		}
		if len(vals) > softnetIndexColumn {
			if vals[softnetIndexColumn] > softnetMaxCPUIndex {
				return nil, fmt.Errorf("%s: line %d: CPU index %d is out of range", file, i+1, vals[softnetIndexColumn])
			}
			c.CPU = int(vals[softnetIndexColumn])
		}
		if seen[c.CPU] {
			return nil, fmt.Errorf("%s: line %d: CPU %d appears twice", file, i+1, c.CPU)
		}
		seen[c.CPU] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no CPU rows", file)
	}
	return out, nil
}
