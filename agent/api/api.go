// Package api holds the JSON payloads of the agent's HTTP API (/api/v1/...).
// The data source backend imports these types, so agent and data source share
// one definition.
package api

import (
	"fmt"
	"time"
)

// Status is GET /api/v1/status: what the agent is and whether its parts work.
type Status struct {
	Node string `json:"node"`
	// BootID identifies the boot of the machine the agent runs on (Linux:
	// /proc/sys/kernel/random/boot_id; Windows: the boot time; "" where
	// unknown). Node and BootID identify an agent: clients reaching it at
	// several addresses count it once, and two machines giving the same node
	// name are told apart.
	BootID  string `json:"bootId,omitempty"`
	Kernel  string `json:"kernel"`
	Version string `json:"version"`
	// DropSource is the kernel hook counting drops: tp_btf, tracepoint, fexit,
	// kprobe, or none.
	DropSource string `json:"dropSource"`
	// DropSourceAttempts lists the hooks tried, with why each failed.
	DropSourceAttempts []DropSourceAttempt `json:"dropSourceAttempts"`
	// Pinned says whether drop programs survive agent restarts; PinError why not.
	Pinned   bool   `json:"pinned"`
	PinError string `json:"pinError,omitempty"`
	// Metadata is the pod inventory drops are attributed with.
	Metadata   string            `json:"metadata"`
	MetaError  string            `json:"metadataError,omitempty"`
	Collectors []CollectorStatus `json:"collectors"`
	History    HistoryStatus     `json:"history"`
	Events     EventsStatus      `json:"events"`

	// KernelReasons is how many drop reasons the running kernel names, and
	// UncataloguedReasons those of them this agent's reason catalog does not
	// explain (GET /api/v1/reasons explains them generically), sorted; 0 and
	// null when no drop source reads the kernel's reasons.
	KernelReasons       int      `json:"kernelReasons"`
	UncataloguedReasons []string `json:"uncataloguedReasons"`
}

// DropSourceAttempt is one kernel hook the agent tried.
type DropSourceAttempt struct {
	Source string `json:"source"`
	Error  string `json:"error,omitempty"`
	// Refusal classifies Error: "not supported" (the kernel lacks the hook),
	// "not permitted" (the kernel has it, capabilities or a security policy
	// refuse it) or "failed".
	Refusal string `json:"refusal,omitempty"`
}

// CollectorStatus is one collector's latest run.
type CollectorStatus struct {
	Name     string    `json:"name"`
	Up       bool      `json:"up"`
	Error    string    `json:"error,omitempty"`
	LastRun  time.Time `json:"lastRun"`
	Duration float64   `json:"durationSeconds"`
}

// DropEvent is one sampled packet drop (the /api/v1/events stream).
type DropEvent struct {
	Time     time.Time `json:"time"`
	Reason   string    `json:"reason"`
	Location string    `json:"location"`
	Protocol string    `json:"protocol"`
	Src      Endpoint  `json:"src"`
	Dst      Endpoint  `json:"dst"`
	// Interface is the name of the device the packet was on, when the device
	// is in the agent's network namespace (the node's, for an agent on the
	// host network).
	Interface string `json:"interface,omitempty"`
	// Ifindex is the device's index in its own network namespace.
	Ifindex uint32 `json:"ifindex,omitempty"`
	// Netns is set when the device is in another network namespace (a pod's):
	// its inode number, as `lsns -t net` shows it. NetnsName is the
	// namespace's name under /run/netns, when it has one there.
	Netns     uint32 `json:"netns,omitempty"`
	NetnsName string `json:"netnsName,omitempty"`
	Bytes     uint32 `json:"bytes"`
}

// DisplayInterface is the device as users see it and filter by it (event
// tables, `netlens-agent observe`, the interface filter of event streams):
// the device's name, else "ifindex N in netns NAME-OR-INODE" for a device in
// another namespace, else "ifindex N" (namespace unknown, or a device of the
// agent's namespace that was gone before it could be named), else "" (no
// device).
func (e DropEvent) DisplayInterface() string {
	switch {
	case e.Interface != "":
		return e.Interface
	case e.Ifindex == 0:
		return ""
	case e.NetnsName != "":
		return fmt.Sprintf("ifindex %d in netns %s", e.Ifindex, e.NetnsName)
	case e.Netns != 0:
		return fmt.Sprintf("ifindex %d in netns %d", e.Ifindex, e.Netns)
	}
	return fmt.Sprintf("ifindex %d", e.Ifindex)
}

// Endpoint is one end of a dropped packet.
type Endpoint struct {
	IP string `json:"ip,omitempty"`
	// Port is the TCP/UDP/SCTP port; for ICMP, Src.Port is the type and Dst.Port the code.
	Port      uint16 `json:"port,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	Workload  string `json:"workload,omitempty"`
}
