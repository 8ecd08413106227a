// Package metadata tells the agent which pod owns an IP address. Sources: a
// static pod inventory file (kubectl get pods -o json), and the Kubernetes API
// (a later addition).
package metadata

import "net/netip"

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
}

// Source maps addresses to pods.
type Source interface {
	// Name says what the source is, for status.
	Name() string
	// PodByIP returns the pod that owns ip now. Host-network pods own no
	// address (they share the node's), and neither do finished pods.
	PodByIP(ip netip.Addr) (Pod, bool)
	// PodByUID returns the pod with uid if it is still in the inventory.
	PodByUID(uid string) (Pod, bool)
	// Err is why the latest update of the inventory failed, nil if it is current.
	Err() error
}

// None is the source used without an inventory: no address belongs to a pod.
type None struct{}

func (None) Name() string                   { return "none" }
func (None) PodByIP(netip.Addr) (Pod, bool) { return Pod{}, false }
func (None) PodByUID(string) (Pod, bool)    { return Pod{}, false }
func (None) Err() error                     { return nil }
