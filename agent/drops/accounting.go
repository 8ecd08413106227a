package drops

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/netlens/netlens/agent/metadata"
)

// Tables is the kernel side of the double-buffered count tables (Probe).
type Tables interface {
	ActiveTable() (int, error)
	Swap(i int) error
	ReadTable(i int, fn func(Record)) error
	ClearTable(i int) error
}

// Symbols names kernel addresses (kallsyms.Resolver).
type Symbols interface {
	Resolve(addrs []uint64) (map[uint64]string, error)
}

// Counts are cumulative packets and bytes.
type Counts struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (c *Counts) add(p, b uint64) { c.Packets += p; c.Bytes += b }

// NodeKey identifies a series of netlens_drop_*_total.
type NodeKey struct {
	Reason   string `json:"reason"`
	Location string `json:"location"`
	Protocol string `json:"protocol"`
}

// PodKey identifies a series of netlens_pod_drop_*_total; the pod is its UID,
// so a new pod that reuses an address never inherits the old pod's counts.
type PodKey struct {
	UID       string `json:"uid"`
	Direction string `json:"direction"`
	Reason    string `json:"reason"`
}

// PodSeries is one pod series with the labels it was created with.
type PodSeries struct {
	PodKey
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Workload  string `json:"workload"`
	Counts
}

// NodeSeries is one node-level series.
type NodeSeries struct {
	NodeKey
	Counts
}

// AccountantOptions configure an Accountant.
type AccountantOptions struct {
	Reasons Reasons
	Symbols Symbols
	Pods    metadata.Source
	// MaxPodSeries bounds the pod series; drops beyond it count as overflow.
	MaxPodSeries int
	// StatePath is the file that keeps the totals across agent restarts; "" keeps nothing.
	StatePath string
	// ZeroLocation names location 0, which sources without a call-site address
	// report (nf_hook_slow for the netfilter sources).
	ZeroLocation string
	Logger       *slog.Logger
}

// Accountant turns drained count tables into cumulative series: per reason,
// location and protocol for the node, per pod, direction and reason for pods.
type Accountant struct {
	tables Tables
	opts   AccountantOptions

	mu       sync.Mutex
	node     map[NodeKey]*Counts
	pods     map[PodKey]*PodSeries
	overflow Counts
	// drainedTable is the table whose contents the saved state includes
	// (-1: none known); see Recover.
	drainedTable int
	lastDrain    time.Time
	lastErr      error
	// windowStart is the earliest time the installed table can hold drops
	// from: the previous swap (saved in the state), else the accountant's
	// creation. Pods are attributed over [windowStart, swap time], so an
	// address that changed hands in between names no pod (metadata.Source).
	windowStart time.Time
}

// NewAccountant returns an accountant over tables; call Recover before Drain.
func NewAccountant(tables Tables, opts AccountantOptions) *Accountant {
	if opts.Pods == nil {
		opts.Pods = metadata.None{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ZeroLocation == "" {
		opts.ZeroLocation = "unknown"
	}
	return &Accountant{tables: tables, opts: opts, node: map[NodeKey]*Counts{}, pods: map[PodKey]*PodSeries{}, drainedTable: -1,
		windowStart: time.Now()}
}

type state struct {
	Version      int          `json:"version"`
	DrainedTable int          `json:"drainedTable"`
	Node         []NodeSeries `json:"node"`
	Pods         []PodSeries  `json:"pods"`
	Overflow     Counts       `json:"overflow"`
	// DrainedAt is when the drained table was swapped out: later drops are
	// in the other table (zero in state saved by older agents).
	DrainedAt time.Time `json:"drainedAt"`
}

// Recover loads the saved totals and settles the table that is not installed.
//
// A drain installs the empty table, reads the other, saves the totals naming
// the table read, then clears it. If the agent stopped in between, the table
// not installed now is either already in the saved totals (the state names
// it: only clear it) or not yet (merge it first). Either way nothing is lost
// or counted twice. Both tables hold drops from after the saved drain's swap
// only, so pods are attributed over the window from then to now.
func (a *Accountant) Recover() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.loadState(); err != nil {
		return err
	}
	active, err := a.tables.ActiveTable()
	if err != nil {
		return err
	}
	inactive := 1 - active
	if a.drainedTable != inactive {
		if err := a.mergeTable(inactive, a.windowStart, time.Now()); err != nil {
			return err
		}
		a.drainedTable = inactive
		if err := a.saveState(); err != nil {
			return err
		}
	}
	return a.tables.ClearTable(inactive)
}

// Drain moves the kernel's counts since the last drain into the totals.
func (a *Accountant) Drain() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.drain()
	a.lastErr = err
	if err == nil {
		a.lastDrain = time.Now()
	}
	return err
}

func (a *Accountant) drain() error {
	active, err := a.tables.ActiveTable()
	if err != nil {
		return err
	}
	// The other table is empty: Recover or the previous drain cleared it.
	// The old table takes drops until the swap completes, the new one from
	// when it starts: the windows overlap by the swap's duration.
	swapAt := time.Now()
	if err := a.tables.Swap(1 - active); err != nil {
		return err
	}
	if err := a.mergeTable(active, a.windowStart, time.Now()); err != nil {
		return err
	}
	a.drainedTable = active
	a.windowStart = swapAt
	if err := a.saveState(); err != nil {
		return err
	}
	a.prune()
	return a.tables.ClearTable(active)
}

// mergeTable adds table i, whose drops happened within [from, to].
func (a *Accountant) mergeTable(i int, from, to time.Time) error {
	var recs []Record
	if err := a.tables.ReadTable(i, func(r Record) { recs = append(recs, r) }); err != nil {
		return fmt.Errorf("reading count table %d: %w", i, err)
	}
	if len(recs) == 0 {
		return nil
	}
	locs := make([]uint64, 0, len(recs))
	for _, r := range recs {
		locs = append(locs, r.Location)
	}
	names := map[uint64]string{}
	if a.opts.Symbols != nil {
		var err error
		if names, err = a.opts.Symbols.Resolve(locs); err != nil {
			a.opts.Logger.Warn("cannot name drop locations", "err", err)
		}
	}
	for _, r := range recs {
		a.merge(r, names, from, to)
	}
	return nil
}

func (a *Accountant) merge(r Record, names map[uint64]string, from, to time.Time) {
	reason := a.opts.Reasons.Name(r.Reason)
	loc := names[r.Location]
	switch {
	case r.Location == 0:
		loc = a.opts.ZeroLocation
	case loc == "":
		loc = "unknown"
	}
	nk := NodeKey{Reason: reason, Location: loc, Protocol: ProtocolName(r.Family, r.L4Proto, r.EtherType)}
	c := a.node[nk]
	if c == nil {
		c = &Counts{}
		a.node[nk] = c
	}
	c.add(r.Packets, r.Bytes)

	if !r.Src.IsValid() {
		return
	}
	// Direction is the pod's: a packet from a pod leaves it (egress), a packet
	// to a pod enters it (ingress). Pod to pod on one node counts for both.
	// The drops happened some time in [from, to]: only a pod that held the
	// address all that time gets them.
	if p, ok := a.opts.Pods.PodByIP(r.Src, from, to); ok {
		a.addPod(p, "egress", reason, r)
	}
	if p, ok := a.opts.Pods.PodByIP(r.Dst, from, to); ok {
		a.addPod(p, "ingress", reason, r)
	}
}

func (a *Accountant) addPod(p metadata.Pod, direction, reason string, r Record) {
	k := PodKey{UID: p.UID, Direction: direction, Reason: reason}
	s := a.pods[k]
	if s == nil {
		if len(a.pods) >= a.opts.MaxPodSeries {
			a.overflow.add(r.Packets, r.Bytes)
			return
		}
		s = &PodSeries{PodKey: k, Namespace: p.Namespace, Pod: p.Name, Workload: p.Workload}
		a.pods[k] = s
	}
	s.add(r.Packets, r.Bytes)
}

// prune removes the series of pods that left the inventory.
func (a *Accountant) prune() {
	gone := map[string]bool{}
	for k := range a.pods {
		if _, seen := gone[k.UID]; !seen {
			_, ok := a.opts.Pods.PodByUID(k.UID)
			gone[k.UID] = !ok
		}
		if gone[k.UID] {
			delete(a.pods, k)
		}
	}
}

// Snapshot is a consistent copy of the totals.
type Snapshot struct {
	Node     []NodeSeries
	Pods     []PodSeries
	Overflow Counts
	// LastDrain is when the kernel's counts were last moved into the totals.
	LastDrain time.Time
	// Err is the latest drain's error.
	Err error
}

// Snapshot returns the totals, without series of pods that left.
func (a *Accountant) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prune()
	s := Snapshot{Overflow: a.overflow, LastDrain: a.lastDrain, Err: a.lastErr}
	for k, c := range a.node {
		s.Node = append(s.Node, NodeSeries{NodeKey: k, Counts: *c})
	}
	for _, p := range a.pods {
		s.Pods = append(s.Pods, *p)
	}
	sort.Slice(s.Node, func(i, j int) bool { return lessNode(s.Node[i].NodeKey, s.Node[j].NodeKey) })
	sort.Slice(s.Pods, func(i, j int) bool { return lessPod(s.Pods[i], s.Pods[j]) })
	return s
}

func lessNode(a, b NodeKey) bool {
	if a.Reason != b.Reason {
		return a.Reason < b.Reason
	}
	if a.Location != b.Location {
		return a.Location < b.Location
	}
	return a.Protocol < b.Protocol
}

func lessPod(a, b PodSeries) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.Pod != b.Pod {
		return a.Pod < b.Pod
	}
	if a.Direction != b.Direction {
		return a.Direction < b.Direction
	}
	return a.Reason < b.Reason
}

const stateVersion = 1

func (a *Accountant) loadState() error {
	if a.opts.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(a.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading drop state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Version != stateVersion {
		// A corrupt or foreign state file must not stop the agent: start afresh.
		a.opts.Logger.Warn("ignoring unreadable drop state; counters restart from zero", "path", a.opts.StatePath, "err", err, "version", st.Version)
		return nil
	}
	a.drainedTable = st.DrainedTable
	a.overflow = st.Overflow
	if !st.DrainedAt.IsZero() {
		a.windowStart = st.DrainedAt
	}
	for _, n := range st.Node {
		c := n.Counts
		a.node[n.NodeKey] = &c
	}
	for _, p := range st.Pods {
		ps := p
		a.pods[p.PodKey] = &ps
	}
	return nil
}

func (a *Accountant) saveState() error {
	if a.opts.StatePath == "" {
		return nil
	}
	st := state{Version: stateVersion, DrainedTable: a.drainedTable, DrainedAt: a.windowStart, Overflow: a.overflow}
	for k, c := range a.node {
		st.Node = append(st.Node, NodeSeries{NodeKey: k, Counts: *c})
	}
	for _, p := range a.pods {
		st.Pods = append(st.Pods, *p)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeFileAtomic(a.opts.StatePath, b)
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("saving drop state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving drop state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving drop state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving drop state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving drop state: %w", err)
	}
	return nil
}
