// Package metadata tells the agent which pod owned an IP address, and when.
// Sources: the Kubernetes API (Kubernetes: informers on this node's pods, or
// the whole cluster's) and a static pod inventory file (PodsFile: kubectl get
// pods -o json). Both record who owned each address over time in a History,
// so that a drop is attributed to a pod only if that pod held the address
// through the whole time the drop may have happened in: a reused address
// never names the wrong pod.
package metadata

import (
	"net/netip"
	"time"
)

// Pod is what drop attribution needs to know about a pod.
type Pod struct {
	UID       string
	Namespace string
	Name      string
	// Workload is the owning controller as operators name it: the Deployment
	// of a ReplicaSet's pod, the StatefulSet, DaemonSet or Job; the pod itself
	// when nothing owns it.
	Workload     string
	WorkloadKind string
	IPs          []netip.Addr
	HostNetwork  bool
	// Since is when the pod's network came up as far as the pod says (the
	// PodReadyToStartContainers condition, else its start, else its
	// creation); zero if it says nothing.
	Since time.Time
}

// Source maps addresses to pods.
type Source interface {
	// Name says what the source is, for status.
	Name() string
	// PodByIP returns the pod that owned ip during the whole window
	// [from, to] (from == to: at that instant), if that one pod (UID) did and
	// no other pod is known to have held ip at any time in the window.
	// Host-network pods own no address (they share the node's), and neither
	// do finished pods. Windows reaching back beyond the source's history
	// (minutes) may get no answer.
	PodByIP(ip netip.Addr, from, to time.Time) (Pod, bool)
	// PodByUID returns the pod with uid if it is still in the inventory.
	PodByUID(uid string) (Pod, bool)
	// Err is why the latest update of the inventory failed, nil if it is current.
	Err() error
}

// None is the source used without an inventory: no address belongs to a pod.
type None struct{}

func (None) Name() string                                         { return "none" }
func (None) PodByIP(netip.Addr, time.Time, time.Time) (Pod, bool) { return Pod{}, false }
func (None) PodByUID(string) (Pod, bool)                          { return Pod{}, false }
func (None) Err() error                                           { return nil }
