//go:build linux

package drops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/bpf"
)

// RawEvent is one sampled drop as the kernel reported it, before names and
// pods are attached.
type RawEvent struct {
	Time      time.Time
	Location  uint64
	Reason    uint32
	Bytes     uint32
	Ifindex   uint32
	Netns     uint32
	Family    uint8
	L4Proto   uint8
	EtherType uint16
	Src, Dst  netip.Addr
	// SrcPort and DstPort are ports for TCP, UDP and SCTP; type and code for ICMP.
	SrcPort, DstPort uint16
	TCPFlags         uint8
}

// EventReader reads sampled drop events from the kernel's ring buffer.
type EventReader struct {
	rd *ringbuf.Reader
	// monoToWall converts the kernel's CLOCK_MONOTONIC timestamps.
	monoToWall time.Duration
}

// Events opens a reader of the sampled drop events. Close it to stop Read.
func (p *Probe) Events() (*EventReader, error) {
	if p.events == nil {
		return nil, errors.New("no drop source loaded")
	}
	rd, err := ringbuf.NewReader(p.events)
	if err != nil {
		return nil, fmt.Errorf("opening the drop event ring: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		rd.Close()
		return nil, err
	}
	offset := time.Duration(time.Now().UnixNano() - ts.Nano())
	return &EventReader{rd: rd, monoToWall: offset}, nil
}

// Read blocks until the next event; it returns os.ErrClosed after Close.
func (r *EventReader) Read() (RawEvent, error) {
	rec, err := r.rd.Read()
	if err != nil {
		if errors.Is(err, ringbuf.ErrClosed) {
			return RawEvent{}, os.ErrClosed
		}
		return RawEvent{}, err
	}
	var e bpf.DropsDropEvent
	if err := binary.Read(bytes.NewReader(rec.RawSample), binary.LittleEndian, &e); err != nil {
		return RawEvent{}, fmt.Errorf("decoding drop event: %w", err)
	}
	out := RawEvent{
		Time:      time.Unix(0, int64(e.KtimeNs)+int64(r.monoToWall)),
		Location:  e.Location,
		Reason:    e.Reason,
		Bytes:     e.Len,
		Ifindex:   e.Ifindex,
		Netns:     e.Netns,
		Family:    e.Family,
		L4Proto:   e.L4proto,
		EtherType: e.Ethertype,
		SrcPort:   e.Sport,
		DstPort:   e.Dport,
		TCPFlags:  e.TcpFlags,
	}
	out.Src, out.Dst = addrs(e.Family, e.Saddr, e.Daddr)
	return out, nil
}

// Close stops a blocked Read.
func (r *EventReader) Close() error { return r.rd.Close() }
