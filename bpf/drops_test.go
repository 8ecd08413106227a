package bpf

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// The committed Drops object loads into the running kernel, attaches to
// tp_btf/kfree_skb, and counts real drops under the kernel's own reason:
// UDP datagrams sent to a closed port are dropped as NO_SOCKET, with their bytes.
func TestDropsCountsNoSocketDrops(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "sysctl")

	var objs DropsObjects
	if err := LoadDropsObjects(&objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier rejected the drop program: %+v", ve)
		}
		t.Fatalf("loading drop objects: %v", err)
	}
	defer objs.Close()
	lnk, err := link.AttachTracing(link.TracingOptions{Program: objs.CountDrop})
	if err != nil {
		t.Fatalf("attaching tp_btf/kfree_skb: %v", err)
	}
	defer lnk.Close()

	noSocket := reasonValue(t, "NO_SOCKET")
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")

	const sent, payload = 20, 100
	before := readCounts(t, objs.DropsByReason, noSocket)
	for _, dst := range []string{b.IPv4.String(), "[" + b.IPv6.String() + "]"} {
		if err := a.Do(func() error { return sendUDP(dst+":9", sent/2, payload) }); err != nil {
			t.Fatal(err)
		}
	}
	// veth delivers in softirq, possibly after the send returned: give it a moment.
	after := readCounts(t, objs.DropsByReason, noSocket)
	for deadline := time.Now().Add(2 * time.Second); after.Packets-before.Packets < sent && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		after = readCounts(t, objs.DropsByReason, noSocket)
	}

	gotPackets := after.Packets - before.Packets
	gotBytes := after.Bytes - before.Bytes
	t.Logf("NO_SOCKET (reason %d): +%d packets, +%d bytes for %d datagrams sent", noSocket, gotPackets, gotBytes, sent)
	// Other drops on the machine can only add to the count, never take away.
	if gotPackets < sent {
		t.Fatalf("NO_SOCKET drops grew by %d, want at least %d", gotPackets, sent)
	}
	// skb->len at the UDP receive path covers the UDP header and payload.
	if minBytes := uint64(sent * (payload + 8)); gotBytes < minBytes {
		t.Fatalf("NO_SOCKET bytes grew by %d, want at least %d", gotBytes, minBytes)
	}
	var lost uint64
	var perCPU []uint64
	if err := objs.Lost.Lookup(uint32(0), &perCPU); err != nil {
		t.Fatal(err)
	}
	for _, v := range perCPU {
		lost += v
	}
	if lost != 0 {
		t.Fatalf("%d drops were lost with a nearly empty map", lost)
	}
}

// reasonValue returns the running kernel's value of SKB_DROP_REASON_<name>.
func reasonValue(t *testing.T, name string) uint32 {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var e *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &e); err != nil {
		t.Fatalf("kernel BTF has no enum skb_drop_reason: %v", err)
	}
	for _, v := range e.Values {
		if strings.TrimPrefix(v.Name, "SKB_DROP_REASON_") == name {
			return uint32(v.Value)
		}
	}
	t.Fatalf("kernel has no drop reason %s", name)
	return 0
}

func readCounts(t *testing.T, m *ebpf.Map, reason uint32) DropsDropCounts {
	t.Helper()
	var perCPU []DropsDropCounts
	err := m.Lookup(reason, &perCPU)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return DropsDropCounts{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var sum DropsDropCounts
	for _, c := range perCPU {
		sum.Packets += c.Packets
		sum.Bytes += c.Bytes
	}
	return sum
}

// sendUDP sends n datagrams of size bytes to addr from an unconnected socket,
// so ICMP port-unreachable replies cannot cancel later sends.
func sendUDP(addr string, n, size int) error {
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return err
	}
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, size)
	for i := range n {
		if _, err := c.WriteToUDP(buf, dst); err != nil {
			return fmt.Errorf("datagram %d to %s: %w", i, addr, err)
		}
	}
	return nil
}
