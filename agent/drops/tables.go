//go:build linux

package drops

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/netlens/netlens/bpf"
)

// ActiveTable returns the index (0 or 1) of the table programs count into.
func (p *Probe) ActiveTable() (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.activeIndex()
}

func (p *Probe) activeIndex() (int, error) {
	i, err := installedIndex(p.frontOuter, p.fronts)
	if err != nil {
		return 0, fmt.Errorf("count front: %w", err)
	}
	return i, nil
}

// installedIndex returns which of maps is installed in outer.
func installedIndex(outer *ebpf.Map, maps [2]*ebpf.Map) (int, error) {
	var id ebpf.MapID
	if err := outer.Lookup(uint32(0), &id); err != nil {
		return 0, fmt.Errorf("none installed: %w", err)
	}
	for i, m := range maps {
		info, err := m.Info()
		if err != nil {
			return 0, err
		}
		if mid, _ := info.ID(); mid == id {
			return i, nil
		}
	}
	return 0, fmt.Errorf("installed map %d is not one of ours", id)
}

// Swap installs front i, and with it table i (the front names its table).
// It returns once no program can still be counting into the other pair: the
// kernel waits for running programs (an RCU grace period) when an element of
// a map-of-maps is replaced.
func (p *Probe) Swap(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.install(i)
}

func (p *Probe) install(i int) error {
	if err := p.frontOuter.Put(uint32(0), p.fronts[i]); err != nil {
		return fmt.Errorf("installing count front %d: %w", i, err)
	}
	return nil
}

// pairSlot is the front element that names the front's table (FRONT_PAIR_SLOT).
func pairSlot(front *ebpf.Map) uint32 { return front.MaxEntries() - 1 }

// pair makes front i name table i, on every CPU, and puts both tables in place.
func (p *Probe) pair() error {
	for i, t := range p.tables {
		if err := p.outer.Put(uint32(i), t); err != nil {
			return fmt.Errorf("placing count table %d: %w", i, err)
		}
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	for i, f := range p.fronts {
		v := make([]bpf.DropsFrontSlot, cpus)
		for c := range v {
			v[c].Packets = uint64(i)
		}
		if err := f.Put(pairSlot(f), v); err != nil {
			return fmt.Errorf("pairing count front %d: %w", i, err)
		}
	}
	return nil
}

// ReadTable calls fn with every entry of table i, its counts summed over
// CPUs, and with every occupied slot of its front, per CPU (a key may come
// more than once). The pair must not be installed (see Swap), or the counts
// are a moving target.
func (p *Probe) ReadTable(i int, fn func(Record)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var (
		key    bpf.DropsDropKey
		perCPU []bpf.DropsDropCounts
	)
	it := p.tables[i].Iterate()
	for it.Next(&key, &perCPU) {
		r := recordFromKey(key)
		for _, c := range perCPU {
			r.Packets += c.Packets
			r.Bytes += c.Bytes
		}
		fn(r)
	}
	if err := it.Err(); err != nil {
		return err
	}
	return p.eachFrontSlot(i, func(_ uint32, slots []bpf.DropsFrontSlot) {
		for _, s := range slots {
			if s.Packets != 0 {
				r := recordFromKey(s.Key)
				r.Packets, r.Bytes = s.Packets, s.Bytes
				fn(r)
			}
		}
	})
}

// eachFrontSlot calls fn with every cache slot of front i (not the pair
// element) and its per-CPU values.
func (p *Probe) eachFrontSlot(i int, fn func(slot uint32, perCPU []bpf.DropsFrontSlot)) error {
	var (
		slot   uint32
		perCPU []bpf.DropsFrontSlot
	)
	pair := pairSlot(p.fronts[i])
	it := p.fronts[i].Iterate()
	for it.Next(&slot, &perCPU) {
		if slot != pair {
			fn(slot, perCPU)
		}
	}
	return it.Err()
}

// ClearTable deletes every entry of table i and empties its front.
func (p *Probe) ClearTable(i int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.clearFront(i); err != nil {
		return err
	}
	m := p.tables[i]
	var (
		key  bpf.DropsDropKey
		keys []bpf.DropsDropKey
		vals []bpf.DropsDropCounts
	)
	it := m.Iterate()
	for it.Next(&key, &vals) {
		keys = append(keys, key)
	}
	if err := it.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := m.BatchDelete(keys, nil); err == nil {
		return nil
	} else if !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("clearing table %d: %w", i, err)
	}
	for _, k := range keys {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("clearing table %d: %w", i, err)
		}
	}
	return nil
}

func (p *Probe) clearFront(i int) error {
	var used []uint32
	err := p.eachFrontSlot(i, func(slot uint32, perCPU []bpf.DropsFrontSlot) {
		for _, s := range perCPU {
			if s.Packets != 0 {
				used = append(used, slot)
				return
			}
		}
	})
	if err != nil || len(used) == 0 {
		return err
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	zero := make([]bpf.DropsFrontSlot, cpus)
	for _, slot := range used {
		if err := p.fronts[i].Put(slot, zero); err != nil {
			return fmt.Errorf("clearing front %d: %w", i, err)
		}
	}
	return nil
}

func recordFromKey(k bpf.DropsDropKey) Record {
	r := Record{Location: k.Location, Reason: k.Reason, Family: k.Family, L4Proto: k.L4proto, EtherType: k.Ethertype}
	r.Src, r.Dst = addrs(k.Family, k.Saddr, k.Daddr)
	return r
}

func addrs(family uint8, s, d [16]uint8) (netip.Addr, netip.Addr) {
	switch family {
	case 4:
		return netip.AddrFrom4([4]byte(s[:4])), netip.AddrFrom4([4]byte(d[:4]))
	case 6:
		return netip.AddrFrom16(s).Unmap(), netip.AddrFrom16(d).Unmap()
	}
	return netip.Addr{}, netip.Addr{}
}

// Lost reads the kernel's counters of what could not be recorded.
func (p *Probe) Lost() (Lost, error) {
	var l Lost
	if p.stats == nil {
		return l, nil
	}
	for i, dst := range []*uint64{&l.TableFull, &l.NoTable, &l.RingFull} {
		var perCPU []uint64
		if err := p.stats.Lookup(uint32(i), &perCPU); err != nil {
			return l, fmt.Errorf("reading drop stats: %w", err)
		}
		for _, v := range perCPU {
			*dst += v
		}
	}
	var windows []bpf.DropsEventWindow
	if err := p.rate.Lookup(uint32(0), &windows); err != nil {
		return l, fmt.Errorf("reading event rate state: %w", err)
	}
	for _, w := range windows {
		l.RateLimited += w.Limited
	}
	for _, prog := range p.progs {
		st, err := prog.Stats()
		if err != nil {
			return l, fmt.Errorf("program stats: %w", err)
		}
		l.Recursion += st.RecursionMisses
	}
	return l, nil
}

// RunStats returns how often the counting programs ran and for how long in
// total; the kernel only measures while kernel.bpf_stats_enabled is 1.
func (p *Probe) RunStats() (runs uint64, runtimeNs uint64, err error) {
	for _, prog := range p.progs {
		st, err := prog.Stats()
		if err != nil {
			return 0, 0, err
		}
		runs += st.RunCount
		runtimeNs += uint64(st.Runtime.Nanoseconds())
	}
	return runs, runtimeNs, nil
}
