//go:build linux

package drops

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeKernel answers lookups from a map and counts them.
type fakeKernel struct {
	links map[uint32]string
	asked int
	// during, when set, runs inside a lookup (a change racing it).
	during func()
}

func (k *fakeKernel) lookup(ifindex uint32) (string, bool) {
	k.asked++
	if k.during != nil {
		k.during()
	}
	name, ok := k.links[ifindex]
	return name, ok
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// Devices of the agent's namespace are named from the notifications without
// asking the kernel, renames included; an index the notifications have not
// brought yet is asked for once and then cached.
func TestLinkNamesFollowNotifications(t *testing.T) {
	k := &fakeKernel{links: map[uint32]string{9: "veth-new"}}
	n := NewLinkNames(k.lookup, nil)
	now := time.Now()
	n.Reset(map[uint32]string{1: "lo", 2: "eth0"})
	if got := n.Name(2, now); got != "eth0" || k.asked != 0 {
		t.Fatalf("got %q after %d lookups", got, k.asked)
	}
	n.Set(2, "uplink")
	if got := n.Name(2, now); got != "uplink" {
		t.Fatalf("after rename: %q", got)
	}
	for range 3 {
		if got := n.Name(9, now); got != "veth-new" {
			t.Fatalf("unnotified device: %q", got)
		}
	}
	if k.asked != 1 {
		t.Fatalf("asked the kernel %d times for one new device", k.asked)
	}
	if got := n.Name(77, now); got != "" || k.asked != 2 {
		t.Fatalf("unknown device: %q, %d lookups", got, k.asked)
	}
	// An index the kernel does not know is not asked again while nothing
	// changed; after a change it is.
	for range 3 {
		if got := n.Name(77, now); got != "" {
			t.Fatalf("unknown device: %q", got)
		}
	}
	if k.asked != 2 {
		t.Fatalf("asked the kernel %d times for one unknown device", k.asked)
	}
	k.links[77] = "veth-late"
	n.Set(3, "eth1")
	if got := n.Name(77, now); got != "veth-late" || k.asked != 3 {
		t.Fatalf("after a change: %q, %d lookups", got, k.asked)
	}
}

// A deleted device keeps its name for events from before its deletion; its
// index, taken by a new device, names the new one for later events.
func TestLinkNamesDeletedAndReused(t *testing.T) {
	k := &fakeKernel{links: map[uint32]string{}}
	clock := &fakeClock{t: time.Unix(1000, 0)}
	n := NewLinkNames(k.lookup, clock.now)
	n.Reset(map[uint32]string{46: "veth-old"})
	before := clock.t.Add(-time.Millisecond)
	clock.t = clock.t.Add(time.Second)
	n.Delete(46, "veth-old")
	if got := n.Name(46, before); got != "veth-old" {
		t.Fatalf("event from before the deletion: %q", got)
	}
	if got := n.Name(46, clock.t.Add(time.Millisecond)); got != "" {
		t.Fatalf("event after the deletion: %q", got)
	}
	n.Set(46, "veth-reused")
	if got := n.Name(46, clock.t.Add(time.Second)); got != "veth-reused" {
		t.Fatalf("reused index: %q", got)
	}
	if got := n.Name(46, before); got != "veth-old" {
		t.Fatalf("old event after reuse: %q", got)
	}
	// Deleted devices are forgotten after goneKeep.
	clock.t = clock.t.Add(goneKeep + time.Second)
	n.Delete(47, "other")
	if _, ok := n.gone[46]; ok {
		t.Fatal("deleted device remembered past goneKeep")
	}
}

// Out of sync (notifications lost), every name is asked of the kernel; a
// lookup that a notification overtook is not cached over it.
func TestLinkNamesUnsyncedAndRaces(t *testing.T) {
	k := &fakeKernel{links: map[uint32]string{5: "eth5"}}
	n := NewLinkNames(k.lookup, nil)
	now := time.Now()
	if got := n.Name(5, now); got != "eth5" || k.asked != 1 {
		t.Fatalf("before any sync: %q, %d lookups", got, k.asked)
	}
	n.Reset(map[uint32]string{5: "stale"})
	n.Unsync()
	if got := n.Name(5, now); got != "eth5" || k.asked != 2 {
		t.Fatalf("unsynced: %q, %d lookups", got, k.asked)
	}
	n.Reset(map[uint32]string{})
	k.during = func() { n.Set(6, "renamed") } // the rename lands during the lookup
	k.links[6] = "before-rename"
	if got := n.Name(6, now); got != "before-rename" {
		t.Fatalf("lookup answer: %q", got)
	}
	k.during = nil
	if got := n.Name(6, now); got != "renamed" {
		t.Fatalf("the lookup's older answer was cached over the rename: %q", got)
	}
}

// Namespaces are named by their files in the directory (only files of the
// namespace filesystem), rescanned at most once per interval for an unknown
// one; a name whose file is gone is not given.
func TestNetnsNames(t *testing.T) {
	dir := t.TempDir()
	inode := func(name string) (uint32, uint64) {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, name), &st); err != nil {
			t.Fatal(err)
		}
		return uint32(st.Ino), st.Dev
	}
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch("cni-a")
	a, dev := inode("cni-a")
	clock := &fakeClock{t: time.Unix(1000, 0)}
	n := NewNetnsNames(dir, dev, time.Second, clock.now)
	if got := n.Name(a); got != "cni-a" {
		t.Fatalf("got %q", got)
	}
	touch("cni-b")
	b, _ := inode("cni-b")
	if got := n.Name(b); got != "" {
		t.Fatalf("rescanned within the interval: %q", got)
	}
	clock.t = clock.t.Add(time.Second)
	if got := n.Name(b); got != "cni-b" {
		t.Fatalf("after the interval: %q", got)
	}
	if err := os.Remove(filepath.Join(dir, "cni-a")); err != nil {
		t.Fatal(err)
	}
	if got := n.Name(a); got != "" {
		t.Fatalf("namespace file gone, still named %q", got)
	}
	other := NewNetnsNames(dir, dev+1, time.Second, clock.now)
	if got := other.Name(b); got != "" {
		t.Fatalf("a file of another filesystem named a namespace: %q", got)
	}
}

// A device is named in the agent's namespace, told by its namespace
// elsewhere, and left unnamed when the namespace is unknown.
func TestDevicesLookup(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pod-b"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "pod-b"), &st); err != nil {
		t.Fatal(err)
	}
	podNs := uint32(st.Ino)
	const own = 4026531840
	k := &fakeKernel{links: map[uint32]string{2: "veth-b"}}
	d := &Devices{Own: own, Links: NewLinkNames(k.lookup, nil), Netns: NewNetnsNames(dir, st.Dev, time.Second, nil)}
	now := time.Now()
	for _, c := range []struct {
		ifindex, netns uint32
		want           Device
	}{
		{2, own, Device{Ifindex: 2, Name: "veth-b"}},
		{2, podNs, Device{Ifindex: 2, Netns: podNs, NetnsName: "pod-b"}},
		{2, 12345, Device{Ifindex: 2, Netns: 12345}},
		{2, 0, Device{Ifindex: 2}},
		{0, own, Device{}},
	} {
		if got := d.Lookup(c.ifindex, c.netns, now); got != c.want {
			t.Errorf("ifindex %d netns %d: got %+v, want %+v", c.ifindex, c.netns, got, c.want)
		}
	}
}
