package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Conntrack exports the netfilter connection tracker's statistics of the
// agent's network namespace: the per-CPU event counters of
// /proc/net/stat/nf_conntrack summed over CPUs, the number of tracked
// connections (nf_conntrack_count) and the table's limit (nf_conntrack_max).
//
// When nf_conntrack is not loaded (/proc/net/stat/nf_conntrack does not
// exist) the collector exports nothing and succeeds. Connection tracking is an
// optional kernel module: nodes whose dataplane never loads it (eBPF
// dataplanes with kube-proxy replacement, nodes without NAT or stateful
// rules) cannot drop packets in it, and reporting the collector down there
// would raise an alarm on a healthy node and hide real collector failures
// among false ones. docs/host-stack.md says so to operators: no
// netlens_conntrack_* series with netlens_agent_collector_up{collector="conntrack"} 1
// means "conntrack is not in use here". Once the module is loaded, missing or
// malformed files are errors.
type Conntrack struct {
	procPath string
}

// NewConntrack returns the conntrack collector reading procfs mounted at procPath.
func NewConntrack(procPath string) *Conntrack { return &Conntrack{procPath: procPath} }

var (
	conntrackStatDesc = prometheus.NewDesc("netlens_conntrack_stat_total",
		"Connection tracking events of the agent's network namespace, summed over CPUs (/proc/net/stat/nf_conntrack), by the kernel's column name: "+
			"drop (new connection refused because the table was full), early_drop (unassured entry evicted to make room), insert_failed, invalid, ...",
		[]string{"name"}, nil)
	conntrackEntriesDesc = prometheus.NewDesc("netlens_conntrack_entries",
		"Connections tracked in the agent's network namespace (net.netfilter.nf_conntrack_count).", nil, nil)
	conntrackLimitDesc = prometheus.NewDesc("netlens_conntrack_limit",
		"Most connections a network namespace may track before new ones are dropped (net.netfilter.nf_conntrack_max).", nil, nil)
)

// conntrackGaugeColumns are the columns of nf_conntrack's statistics that are
// not counters: "entries" is the namespace's entry count, repeated on every row.
var conntrackGaugeColumns = map[string]bool{"entries": true}

func (*Conntrack) Name() string { return "conntrack" }

func (c *Conntrack) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	statPath := filepath.Join(c.procPath, "net/stat/nf_conntrack")
	stats, err := readProcFile(statPath, ParseConntrackStat)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nf_conntrack is not loaded: see the type's comment
	}
	if err != nil {
		return err
	}
	for _, s := range stats {
		if conntrackGaugeColumns[s.Name] {
			continue
		}
		ch <- prometheus.MustNewConstMetric(conntrackStatDesc, prometheus.CounterValue, float64(s.Value), s.Name)
	}
	var errs []error
	for _, g := range []struct {
		file string
		desc *prometheus.Desc
	}{
		{"sys/net/netfilter/nf_conntrack_count", conntrackEntriesDesc},
		{"sys/net/netfilter/nf_conntrack_max", conntrackLimitDesc},
	} {
		v, err := readProcFile(filepath.Join(c.procPath, g.file), ParseProcUint)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(v))
	}
	return errors.Join(errs...)
}

// ConntrackCounter is one column of /proc/net/stat/nf_conntrack summed over CPUs.
type ConntrackCounter struct {
	Name  string
	Value uint64
}

// ParseConntrackStat parses /proc/net/stat/nf_conntrack: a header line of
// column names, then one row of hexadecimal values per CPU. It returns every
// column, in header order, summed over the rows; the columns differ between
// kernels (searched and delete_list became clashres and chainlength in 5.x)
// and are taken from the header, never assumed. "entries" is the
// namespace-wide entry count repeated on each row, so its sum is not
// meaningful; callers use nf_conntrack_count instead. file names the input in
// errors. It is an error when the header is missing, a column name is not
// [a-z0-9_] or repeats, a row's column count differs from the header's or a
// value is not hexadecimal (or the sums overflow).
func ParseConntrackStat(r io.Reader, file string) ([]ConntrackCounter, error) {
	b, err := readAllLimited(r, file)
	if err != nil {
		return nil, err
	}
	var names []string
	var sums []uint64
	for i, l := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(l))
		if len(f) == 0 {
			continue
		}
		if names == nil {
			seen := map[string]bool{}
			for _, n := range f {
				if !isColumnName(n) {
					return nil, fmt.Errorf("%s: header: column name %q is not [a-z0-9_]", file, truncate(n, 40))
				}
				if seen[n] {
					return nil, fmt.Errorf("%s: header: column %s appears twice", file, n)
				}
				seen[n] = true
			}
			names, sums = f, make([]uint64, len(f))
			continue
		}
		if len(f) != len(names) {
			return nil, fmt.Errorf("%s: line %d: %d values but the header names %d columns", file, i+1, len(f), len(names))
		}
		for j, s := range f {
			v, err := strconv.ParseUint(s, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d column %s: %q is not hexadecimal", file, i+1, names[j], truncate(s, 40))
			}
			// The kernel's per-CPU values are 32 bits wide; only made-up input overflows.
			if sums[j]+v < sums[j] {
				return nil, fmt.Errorf("%s: line %d column %s: the sum over CPUs overflows 64 bits", file, i+1, names[j])
			}
			sums[j] += v
		}
	}
	if names == nil {
		return nil, fmt.Errorf("%s: no header line", file)
	}
	out := make([]ConntrackCounter, len(names))
	for j, n := range names {
		out[j] = ConntrackCounter{Name: n, Value: sums[j]}
	}
	return out, nil
}

func isColumnName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ParseProcUint parses a procfs file holding one unsigned decimal number (a
// sysctl such as nf_conntrack_count). file names the input in errors.
func ParseProcUint(r io.Reader, file string) (uint64, error) {
	b, err := io.ReadAll(io.LimitReader(r, 128))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an unsigned integer", file, truncate(s, 40))
	}
	return v, nil
}
