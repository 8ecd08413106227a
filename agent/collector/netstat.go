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

// Netstat exports the drop and error counters of the kernel's SNMP MIBs
// (/proc/net/snmp, /proc/net/netstat and /proc/net/snmp6) of the network
// namespace the agent runs in, restricted to NetstatAllowList so the number of
// series stays small and fixed. Counters a kernel does not have are not exported.
type Netstat struct {
	procPath string
}

// NewNetstat returns the netstat collector reading procfs mounted at procPath
// (usually /proc, the --procfs-path flag).
func NewNetstat(procPath string) *Netstat { return &Netstat{procPath: procPath} }

var netstatDesc = prometheus.NewDesc("netlens_netstat_total",
	"Kernel SNMP/netstat drop and error counters of the agent's network namespace (/proc/net/snmp, /proc/net/netstat, /proc/net/snmp6), "+
		"by group (Ip, IpExt, Icmp, Tcp, TcpExt, Udp, Ip6, Icmp6, Udp6) and counter name as the kernel spells it; only an allow list of drop and error counters is exported.",
	[]string{"group", "name"}, nil)

// NetstatAllowList is the set of counters exported, by group. Every entry is a
// monotonic counter of packets dropped or in error, of a resource limit being
// hit, or of work the kernel threw away (see docs/host-stack.md). Gauges such
// as Tcp CurrEstab and MaxConn, and configuration values such as Ip
// Forwarding, are never in the list.
var NetstatAllowList = map[string][]string{
	"Ip": {"InHdrErrors", "InAddrErrors", "InUnknownProtos", "InDiscards",
		"OutDiscards", "OutNoRoutes", "ReasmTimeout", "ReasmFails", "FragFails"},
	"IpExt": {"InNoRoutes", "InTruncatedPkts", "InCsumErrors"},
	"Icmp":  {"InErrors", "InCsumErrors", "OutErrors", "OutRateLimitGlobal", "OutRateLimitHost"},
	"Tcp":   {"AttemptFails", "EstabResets", "RetransSegs", "InErrs", "OutRsts", "InCsumErrors"},
	"Udp":   {"NoPorts", "InErrors", "RcvbufErrors", "SndbufErrors", "InCsumErrors", "MemErrors"},
	"TcpExt": {"ListenOverflows", "ListenDrops", "TCPBacklogDrop", "TCPRcvQDrop",
		"TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent", "SyncookiesFailed",
		"TCPZeroWindowDrop", "TCPMinTTLDrop", "PFMemallocDrop", "LockDroppedIcmps", "OutOfWindowIcmps",
		"TCPDeferAcceptDrop", "TCPOFODrop", "TCPAbortOnMemory", "TCPAbortOnTimeout", "TCPMemoryPressures",
		"PruneCalled", "RcvPruned", "OfoPruned", "IPReversePathFilter", "TCPTimeWaitOverflow",
		"TCPFastOpenListenOverflow", "TCPRetransFail", "TCPWqueueTooBig", "TCPTimeouts"},
	"Ip6": {"InHdrErrors", "InTooBigErrors", "InNoRoutes", "InAddrErrors", "InUnknownProtos",
		"InTruncatedPkts", "InDiscards", "OutDiscards", "OutNoRoutes", "ReasmFails", "FragFails"},
	"Icmp6": {"InErrors", "InCsumErrors", "OutErrors", "OutRateLimitHost"},
	"Udp6":  {"NoPorts", "InErrors", "RcvbufErrors", "SndbufErrors", "InCsumErrors", "MemErrors"},
}

var netstatAllowed = func() map[[2]string]bool {
	m := map[[2]string]bool{}
	for g, names := range NetstatAllowList {
		for _, n := range names {
			m[[2]string{g, n}] = true
		}
	}
	return m
}()

// NetstatAllowed reports whether group/name is exported.
func NetstatAllowed(group, name string) bool { return netstatAllowed[[2]string{group, name}] }

func (*Netstat) Name() string { return "netstat" }

// Update reads snmp and netstat (both must exist: every Linux kernel with
// networking has them) and snmp6 (absent when IPv6 is disabled, which is not
// an error).
func (n *Netstat) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var all []NetstatCounter
	var errs []error
	for _, f := range []string{"net/snmp", "net/netstat"} {
		c, err := readProcFile(filepath.Join(n.procPath, f), ParseNetstat)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, c...)
	}
	c, err := readProcFile(filepath.Join(n.procPath, "net/snmp6"), ParseSnmp6)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		errs = append(errs, err)
	default:
		all = append(all, c...)
	}
	seen := map[[2]string]bool{}
	for _, c := range all {
		k := [2]string{c.Group, c.Name}
		if !netstatAllowed[k] || seen[k] {
			continue
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(netstatDesc, prometheus.CounterValue, float64(c.Value), c.Group, c.Name)
	}
	return errors.Join(errs...)
}

// readProcFile opens path and parses it; errors from opening are returned
// as they are (os.ErrNotExist tells an absent optional file).
func readProcFile[T any](path string, parse func(io.Reader, string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f, path)
}

// NetstatCounter is one counter of an SNMP MIB file.
type NetstatCounter struct {
	// Group is the MIB group, e.g. Tcp, TcpExt, Ip6.
	Group string
	// Name is the counter's name within its group, e.g. ListenOverflows.
	Name  string
	Value uint64
}

// maxProcFile bounds what a parser reads: procfs statistics files are a few
// kilobytes, anything much larger is not one of them.
const maxProcFile = 4 << 20

func readAllLimited(r io.Reader, file string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxProcFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(b) > maxProcFile {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a procfs statistics file", file, maxProcFile)
	}
	return b, nil
}

// ParseNetstat parses the format of /proc/net/snmp and /proc/net/netstat:
// per group a header line "Group: Name1 Name2 ..." followed by a value line
// "Group: v1 v2 ...". file names the input in errors. Groups and names the
// parser has never seen are returned like any other. Signed values (Tcp
// MaxConn, which the kernel prints as -1 for "no fixed limit") are gauges, not
// counters, and are left out. Blank lines are ignored. It is an error when a
// header has no value line, the two lines name different groups, their field
// counts differ, a value is not an integer, or a group or name repeats.
func ParseNetstat(r io.Reader, file string) ([]NetstatCounter, error) {
	b, err := readAllLimited(r, file)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, l)
		}
	}
	var out []NetstatCounter
	groups := map[string]bool{}
	for i := 0; i < len(lines); i += 2 {
		group, names, err := splitGroupLine(lines[i], file, i)
		if err != nil {
			return nil, err
		}
		if i+1 >= len(lines) {
			return nil, fmt.Errorf("%s: group %s: header line has no value line", file, group)
		}
		vgroup, values, err := splitGroupLine(lines[i+1], file, i+1)
		if err != nil {
			return nil, err
		}
		if vgroup != group {
			return nil, fmt.Errorf("%s: group %s: header line followed by a value line of group %s", file, group, vgroup)
		}
		if len(names) != len(values) {
			return nil, fmt.Errorf("%s: group %s: %d names in the header line but %d values", file, group, len(names), len(values))
		}
		if groups[group] {
			return nil, fmt.Errorf("%s: group %s appears twice", file, group)
		}
		groups[group] = true
		seen := make(map[string]bool, len(names))
		for j, name := range names {
			if seen[name] {
				return nil, fmt.Errorf("%s: group %s: counter %s appears twice", file, group, name)
			}
			seen[name] = true
			v, signed, err := parseNetstatValue(values[j])
			if err != nil {
				return nil, fmt.Errorf("%s: group %s: counter %s: %w", file, group, name, err)
			}
			if signed {
				continue
			}
			out = append(out, NetstatCounter{Group: group, Name: name, Value: v})
		}
	}
	return out, nil
}

// splitGroupLine splits "Group: a b c" into the group and its fields.
func splitGroupLine(line []byte, file string, n int) (string, []string, error) {
	group, rest, ok := strings.Cut(string(line), ":")
	group = strings.TrimSpace(group)
	if !ok || group == "" || strings.ContainsAny(group, " \t") {
		return "", nil, fmt.Errorf("%s: line %d: want \"Group: fields...\", got %q", file, n+1, truncate(string(line), 60))
	}
	return group, strings.Fields(rest), nil
}

// parseNetstatValue parses an unsigned decimal counter; a valid negative
// decimal is reported as signed (not a counter).
func parseNetstatValue(s string) (v uint64, signed bool, err error) {
	v, err = strconv.ParseUint(s, 10, 64)
	if err == nil {
		return v, false, nil
	}
	if strings.HasPrefix(s, "-") {
		if _, err2 := strconv.ParseInt(s, 10, 64); err2 == nil {
			return 0, true, nil
		}
	}
	return 0, false, fmt.Errorf("value %q is not an unsigned integer", truncate(s, 40))
}

// snmp6Groups are the prefixes /proc/net/snmp6 glues to its counter names,
// longest first where one is a prefix of another.
var snmp6Groups = []string{"UdpLite6", "Icmp6", "Udp6", "Ip6"}

// ParseSnmp6 parses /proc/net/snmp6: one "Name value" pair per line, the name
// prefixed with its group (Ip6InDiscards: group Ip6, name InDiscards). Names
// with no known prefix get group "Snmp6" and their full name. file names the
// input in errors. It is an error when a line does not have exactly two
// fields, a value is not an unsigned integer or a name repeats.
func ParseSnmp6(r io.Reader, file string) ([]NetstatCounter, error) {
	b, err := readAllLimited(r, file)
	if err != nil {
		return nil, err
	}
	var out []NetstatCounter
	seen := map[string]bool{}
	for i, l := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(l))
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: line %d: want \"Name value\", got %q", file, i+1, truncate(string(l), 60))
		}
		if seen[f[0]] {
			return nil, fmt.Errorf("%s: counter %s appears twice", file, f[0])
		}
		seen[f[0]] = true
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: counter %s: value %q is not an unsigned integer", file, f[0], truncate(f[1], 40))
		}
		group, name := "Snmp6", f[0]
		for _, g := range snmp6Groups {
			if rest, ok := strings.CutPrefix(f[0], g); ok && rest != "" {
				group, name = g, rest
				break
			}
		}
		out = append(out, NetstatCounter{Group: group, Name: name, Value: v})
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
