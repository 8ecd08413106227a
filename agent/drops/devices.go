//go:build linux

package drops

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The drop programs report a sampled drop's device as an ifindex and the
// inode number of the device's network namespace. An ifindex means something
// only inside its namespace, so Devices names a device only when it is in the
// agent's own namespace (the node's, for an agent on the host network), and
// tells a device elsewhere (a pod's eth0) by its namespace.

// Device is where a sampled drop happened.
type Device struct {
	Ifindex uint32
	// Name is the device's name, for a device of the agent's namespace.
	Name string
	// Netns is the inode of the device's namespace when it is not the agent's;
	// NetnsName its name in the namespace directory, if it has one.
	Netns     uint32
	NetnsName string
}

// Devices turns the kernel's (ifindex, namespace) of sampled drops into Devices.
type Devices struct {
	// Own is the inode of the agent's network namespace; 0 if unknown.
	Own   uint32
	Links *LinkNames
	Netns *NetnsNames
}

// Lookup is the device of a drop at time at; netns 0 means the kernel could
// not tell the namespace, and then the ifindex is not named.
func (d *Devices) Lookup(ifindex, netns uint32, at time.Time) Device {
	switch {
	case ifindex == 0:
		return Device{}
	case netns == 0:
		return Device{Ifindex: ifindex}
	case netns == d.Own:
		return Device{Ifindex: ifindex, Name: d.Links.Name(ifindex, at)}
	}
	return Device{Ifindex: ifindex, Netns: netns, NetnsName: d.Netns.Name(netns)}
}

// How long and how many deleted devices are remembered, so that events sampled
// before a device went away (a pod's veth at pod deletion) still name it.
const (
	goneKeep = time.Minute
	goneMax  = 4096
)

// LinkNames maps the ifindexes of the agent's namespace to device names. Its
// owner keeps it current from the kernel's link notifications (Reset, Set,
// Delete, Unsync: see WatchLinks); an index it does not know (a device newer
// than the last notification read) is asked of the kernel, and so is every
// index while it is not in sync with the notifications.
type LinkNames struct {
	lookup func(ifindex uint32) (string, bool)
	now    func() time.Time

	mu     sync.Mutex
	synced bool
	// version counts changes, so that a lookup answered before a change is
	// not cached over it.
	version uint64
	live    map[uint32]string
	gone    map[uint32]goneLink
	// misses are indexes the kernel did not know at version missVersion:
	// while in sync and nothing changed, they are not asked again (events
	// of a device gone long ago would otherwise cost a netlink request each).
	misses      map[uint32]bool
	missVersion uint64
}

type goneLink struct {
	name string
	at   time.Time
}

// NewLinkNames asks lookup for indexes it does not know; now is the clock
// deletions are timed with (nil: time.Now).
func NewLinkNames(lookup func(ifindex uint32) (string, bool), now func() time.Time) *LinkNames {
	if now == nil {
		now = time.Now
	}
	return &LinkNames{lookup: lookup, now: now, live: map[uint32]string{}, gone: map[uint32]goneLink{}}
}

// Reset replaces the known devices with links (the namespace's devices now,
// listed after subscribing to changes) and trusts them from now on.
func (n *LinkNames) Reset(links map[uint32]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.live = links
	n.synced = true
	n.version++
}

// Unsync stops trusting the known devices: notifications were lost.
func (n *LinkNames) Unsync() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.synced = false
	n.version++
}

// Set records that device ifindex is called name (new, or renamed).
func (n *LinkNames) Set(ifindex uint32, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.live[ifindex] = name
	n.version++
}

// Delete records that device ifindex, called name, left the namespace
// (deleted or moved); events from before still get its name.
func (n *LinkNames) Delete(ifindex uint32, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	delete(n.live, ifindex)
	n.version++
	for i, g := range n.gone {
		if now.Sub(g.at) > goneKeep {
			delete(n.gone, i)
		}
	}
	if len(n.gone) >= goneMax {
		n.gone = map[uint32]goneLink{}
	}
	n.gone[ifindex] = goneLink{name: name, at: now}
}

// Name is the name device ifindex had at time at, "" if it cannot be told.
func (n *LinkNames) Name(ifindex uint32, at time.Time) string {
	n.mu.Lock()
	if g, ok := n.gone[ifindex]; ok && at.Before(g.at) {
		n.mu.Unlock()
		return g.name
	}
	if name, ok := n.live[ifindex]; ok && n.synced {
		n.mu.Unlock()
		return name
	}
	version := n.version
	if n.synced && n.missVersion == version && n.misses[ifindex] {
		n.mu.Unlock()
		return ""
	}
	n.mu.Unlock()

	name, ok := n.lookup(ifindex)
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.synced || n.version != version {
		return name // not cached over a change
	}
	if ok {
		n.live[ifindex] = name
		return name
	}
	if n.missVersion != version || n.misses == nil || len(n.misses) >= goneMax {
		n.misses, n.missVersion = map[uint32]bool{}, version
	}
	n.misses[ifindex] = true
	return ""
}

// NetnsNames names network namespaces by the files that hold them in a
// directory: /run/netns, where `ip netns add` and the CNI setups of
// containerd and CRI-O put them (in a container, only when mounted there). A
// namespace it does not know makes it scan the directory again, at most once
// per rescan interval; a name it knows is checked against the file each time,
// since the kernel reuses the inode numbers of namespaces that are gone.
type NetnsNames struct {
	dir    string
	dev    uint64
	rescan time.Duration
	now    func() time.Time

	mu      sync.Mutex
	names   map[uint32]string
	scanned time.Time
}

// NewNetnsNames names namespaces by the files in dir on the namespace
// filesystem dev (the device of /proc/self/ns/net; other files are not
// namespaces), scanning at most once per rescan; now nil is time.Now.
func NewNetnsNames(dir string, dev uint64, rescan time.Duration, now func() time.Time) *NetnsNames {
	if now == nil {
		now = time.Now
	}
	return &NetnsNames{dir: dir, dev: dev, rescan: rescan, now: now}
}

// Name is the name of the namespace with inode ino, "" if none is known.
func (n *NetnsNames) Name(ino uint32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if name, ok := n.names[ino]; ok {
		if got, ok := n.inode(name); ok && got == ino {
			return name
		}
	}
	now := n.now()
	if !n.scanned.IsZero() && now.Sub(n.scanned) < n.rescan {
		return ""
	}
	n.scanned = now
	n.names = map[uint32]string{}
	entries, _ := os.ReadDir(n.dir)
	for _, e := range entries {
		if got, ok := n.inode(e.Name()); ok {
			n.names[got] = e.Name()
		}
	}
	return n.names[ino]
}

// inode is the inode of namespace file name, if it is one.
func (n *NetnsNames) inode(name string) (uint32, bool) {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(n.dir, name), &st); err != nil || st.Dev != n.dev {
		return 0, false
	}
	return uint32(st.Ino), true
}

// OwnNetns is the inode and device of the calling process's network
// namespace: the inode is what the drop programs report for its devices.
func OwnNetns() (ino uint32, dev uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		return 0, 0, err
	}
	return uint32(st.Ino), st.Dev, nil
}
