//go:build linux

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

// Drops on a device of the agent's own network namespace name the device as
// `ip link` there shows it, after a rename too, and ?interface=<that name>
// streams them; drops on a pod's device say which namespace's ifindex it is,
// and that same text filters them. The agent runs in the lab's node
// namespace, which holds the bridge and the pods' host-side veths as a
// node's root namespace does: the host's own devices are left alone.
func TestEventsNameTheirInterface(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "iptables", "ping")
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	ag := agentproc.StartWith(t, agentproc.Options{Netns: l.NodeNetns}, "--pods-file", lab.PodsFile(t, a, b),
		"--state-dir", "", "--bpffs-path", "", "--drop-source", "tp_btf", "--drop-events-per-second", "100000")
	c := ag.APIClient("")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The node's FORWARD chain drops a's datagrams to b's port 7: the kernel
	// frees them on the bridge port towards b, b's host-side veth.
	l.MustNodeRun("iptables", "-A", "FORWARD", "-p", "udp", "--dport", "7", "-j", "DROP")
	toB := func(port uint16) func() {
		return func() {
			if err := a.Do(func() error { return lab.SendUDP(netip.AddrPortFrom(b.IPv4, port), 3, 20) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	veth := ipLink(t, l.NodeRun, b.HostVeth)
	all := openEvents(ctx, t, ag, c, api.EventFilter{Reasons: []string{"NETFILTER_DROP"}, Namespaces: []string{lab.Namespace}})
	e := awaitEvent(ctx, t, "a's datagram to b dropped by the FORWARD rule", all, toB(7), func(e api.DropEvent) bool { return e.Dst.Pod == b.KubeName() && e.Dst.Port == 7 })
	if e.Interface != veth.Name || e.Ifindex != veth.Index || e.Netns != 0 || e.DisplayInterface() != veth.Name {
		t.Fatalf("drop on %s (ifindex %d) in the agent's namespace: event interface %q ifindex %d netns %d",
			veth.Name, veth.Index, e.Interface, e.Ifindex, e.Netns)
	}
	byName := openEvents(ctx, t, ag, c, api.EventFilter{Interfaces: []string{veth.Name}})
	awaitEvent(ctx, t, "the same, on ?interface="+veth.Name, byName, toB(7), func(e api.DropEvent) bool { return e.Dst.Pod == b.KubeName() && e.Dst.Port == 7 })

	// Renamed, the device is called by its new name.
	const renamed = "vethren-b"
	l.MustNodeRun("ip", "link", "set", b.HostVeth, "down")
	l.MustNodeRun("ip", "link", "set", b.HostVeth, "name", renamed)
	l.MustNodeRun("ip", "link", "set", renamed, "up")
	if got := ipLink(t, l.NodeRun, renamed); got.Index != veth.Index {
		t.Fatalf("renamed device has ifindex %d, was %d", got.Index, veth.Index)
	}
	byNewName := openEvents(ctx, t, ag, c, api.EventFilter{Interfaces: []string{renamed}})
	e = awaitEvent(ctx, t, "the same, on ?interface="+renamed, byNewName, toB(7), func(e api.DropEvent) bool { return e.Dst.Pod == b.KubeName() && e.Dst.Port == 7 })
	if e.Interface != renamed {
		t.Fatalf("after the rename: interface %q", e.Interface)
	}

	// A closed port of b: b's kernel drops the datagrams on b's eth0, in b's
	// namespace, which the event names by its file in /run/netns.
	eth0 := ipLink(t, b.Run, "eth0")
	var st unix.Stat_t
	if err := unix.Stat("/run/netns/"+b.Netns, &st); err != nil {
		t.Fatal(err)
	}
	shown := fmt.Sprintf("ifindex %d in netns %s", eth0.Index, b.Netns)
	inPod := openEvents(ctx, t, ag, c, api.EventFilter{Interfaces: []string{shown}})
	e = awaitEvent(ctx, t, "a's datagram to b's closed port, on ?interface="+shown, inPod, toB(9), func(e api.DropEvent) bool { return e.Reason == "NO_SOCKET" && e.Dst.Pod == b.KubeName() })
	if e.Interface != "" || e.Ifindex != eth0.Index || e.Netns != uint32(st.Ino) || e.NetnsName != b.Netns {
		t.Fatalf("drop on b's eth0: %+v, want ifindex %d in netns %s (inode %d)", e, eth0.Index, b.Netns, st.Ino)
	}

	// Packets still queued to a socket when it closes have no device any
	// more (the kernel cleared it): they are told by the device they arrived
	// on, in the socket's namespace. Here echo requests that a raw ICMP
	// socket of b never read.
	var raw net.PacketConn
	if err := b.Do(func() (err error) { raw, err = net.ListenPacket("ip4:icmp", b.IPv4.String()); return err }); err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	a.MustRun("ping", "-c", "2", "-i", "0.2", "-W", "5", b.IPv4.String()) // answered: b's socket holds copies
	e = awaitEvent(ctx, t, "echo requests purged from b's closed socket, on ?interface="+shown, inPod, func() { raw.Close() }, func(e api.DropEvent) bool {
		return e.Protocol == "icmp" && e.Src.Port == 8 && e.Dst.Pod == b.KubeName()
	})
	if e.DisplayInterface() != shown {
		t.Fatalf("echo request purged from b's closed socket: %+v", e)
	}
}

// link is a device as `ip -j link` shows it.
type link struct {
	Index uint32 `json:"ifindex"`
	Name  string `json:"ifname"`
}

// ipLink is the device called name as `ip link` shows it in a namespace
// (run: a command runner of that namespace).
func ipLink(t *testing.T, run func(...string) (string, error), name string) link {
	t.Helper()
	out, err := run("ip", "-j", "link", "show", "dev", name)
	if err != nil {
		t.Fatal(err)
	}
	var links []link
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 || links[0].Name != name {
		t.Fatalf("ip -j link show dev %s: %v %s", name, err, out)
	}
	return links[0]
}

// openEvents streams the agent's events that pass f into the returned
// channel, once the agent counts the new stream client. Every event must
// pass f's interface filter: the agent applies it.
func openEvents(ctx context.Context, t *testing.T, ag *agentproc.Agent, c *api.Client, f api.EventFilter) <-chan api.DropEvent {
	t.Helper()
	before := ag.Status(t).Events.Clients
	ch := make(chan api.DropEvent, 256)
	ended := make(chan error, 1)
	strays := make(chan string, 1)
	go func() {
		ended <- c.Events(ctx, f, func(e api.DropEvent) {
			if len(f.Interfaces) > 0 && !slices.Contains(f.Interfaces, e.DisplayInterface()) {
				select {
				case strays <- e.DisplayInterface():
				default:
				}
				return
			}
			select {
			case ch <- e:
			default:
			}
		})
	}()
	for deadline := time.Now().Add(testenv.Patience); ag.Status(t).Events.Clients <= before; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-ended:
			t.Fatalf("event stream %+v: %v", f, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("event stream %+v never subscribed", f)
		}
	}
	t.Cleanup(func() {
		select {
		case got := <-strays:
			t.Errorf("the stream of interfaces %q sent an event on %q", f.Interfaces, got)
		default:
		}
	})
	return ch
}

// awaitEvent sends drops until an event matching want (what) arrives on ch.
func awaitEvent(ctx context.Context, t *testing.T, what string, ch <-chan api.DropEvent, send func(), want func(api.DropEvent) bool) api.DropEvent {
	t.Helper()
	for {
		send()
		retry := time.After(time.Second)
	wait:
		for {
			select {
			case e := <-ch:
				if want(e) {
					return e
				}
			case <-retry:
				break wait
			case <-ctx.Done():
				t.Fatalf("no event: %s", what)
			}
		}
	}
}
