package drops

import "net/netip"

// Record is one entry of a count table, summed over CPUs.
type Record struct {
	Location  uint64
	Reason    uint32
	Family    uint8 // 0, 4 or 6
	L4Proto   uint8
	EtherType uint16
	Src, Dst  netip.Addr // invalid when Family is 0
	Packets   uint64
	Bytes     uint64
}

// Lost is what the kernel side could not record, cumulative since load
// (or since the pinned maps were created).
type Lost struct {
	// TableFull counts drops whose key did not fit in the count table.
	TableFull uint64
	// NoTable counts drops seen with no table installed.
	NoTable uint64
	// RingFull counts sampled events that did not fit in the ring buffer.
	RingFull uint64
	// RateLimited counts events not sampled because of the rate limit.
	RateLimited uint64
	// Recursion counts program runs the kernel skipped because a BPF program
	// was already running on that CPU (drops that went uncounted).
	Recursion uint64
}
