package metadata

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// PodsFile is a static pod inventory in `kubectl get pods -o json` form (a
// List of Pods, or one Pod). The file is re-read when it changes, checked at
// most once per interval, so a test or an operator can update it in place.
type PodsFile struct {
	path     string
	interval time.Duration

	mu        sync.Mutex
	checked   time.Time
	modTime   time.Time
	size      int64
	byIP      map[netip.Addr]Pod
	byUID     map[string]Pod
	lastError error
}

// NewPodsFile loads path; an unreadable or malformed file is an error here,
// while later failures keep the last good inventory and show in Err.
func NewPodsFile(path string, interval time.Duration) (*PodsFile, error) {
	f := &PodsFile{path: path, interval: interval}
	if err := f.reload(); err != nil {
		return nil, err
	}
	f.checked = time.Now()
	return f, nil
}

func (f *PodsFile) Name() string { return "pods-file:" + f.path }

func (f *PodsFile) PodByIP(ip netip.Addr) (Pod, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maybeReload()
	p, ok := f.byIP[ip.Unmap()]
	return p, ok
}

func (f *PodsFile) PodByUID(uid string) (Pod, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maybeReload()
	p, ok := f.byUID[uid]
	return p, ok
}

func (f *PodsFile) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastError
}

func (f *PodsFile) maybeReload() {
	if time.Since(f.checked) < f.interval {
		return
	}
	f.checked = time.Now()
	fi, err := os.Stat(f.path)
	if err != nil {
		f.lastError = err
		return
	}
	if fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return
	}
	f.lastError = f.reload()
}

func (f *PodsFile) reload() error {
	fi, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("pods file: %w", err)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("pods file: %w", err)
	}
	pods, err := ParsePodList(b)
	if err != nil {
		return fmt.Errorf("pods file %s: %w", f.path, err)
	}
	f.byIP, f.byUID = index(pods)
	f.modTime, f.size = fi.ModTime(), fi.Size()
	return nil
}

func index(pods []Pod) (map[netip.Addr]Pod, map[string]Pod) {
	byIP := map[netip.Addr]Pod{}
	byUID := map[string]Pod{}
	for _, p := range pods {
		byUID[p.UID] = p
		if p.HostNetwork {
			continue
		}
		for _, ip := range p.IPs {
			byIP[ip] = p
		}
	}
	return byIP, byUID
}

// The subset of a v1.Pod the inventory reads.
type kubePod struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name            string            `json:"name"`
		Namespace       string            `json:"namespace"`
		UID             string            `json:"uid"`
		Labels          map[string]string `json:"labels"`
		OwnerReferences []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Controller *bool  `json:"controller"`
		} `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		HostNetwork bool `json:"hostNetwork"`
	} `json:"spec"`
	Status struct {
		Phase  string `json:"phase"`
		PodIP  string `json:"podIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
	} `json:"status"`
}

// ParsePodList decodes `kubectl get pods -o json` output (a List or one Pod).
func ParsePodList(b []byte) ([]Pod, error) {
	var list struct {
		Kind  string    `json:"kind"`
		Items []kubePod `json:"items"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("not kubectl JSON: %w", err)
	}
	items := list.Items
	switch list.Kind {
	case "List", "PodList":
	case "Pod":
		var p kubePod
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, err
		}
		items = []kubePod{p}
	default:
		return nil, fmt.Errorf("kind %q is neither a List of Pods nor a Pod", list.Kind)
	}
	pods := make([]Pod, 0, len(items))
	for i, kp := range items {
		if kp.Kind != "" && kp.Kind != "Pod" {
			return nil, fmt.Errorf("item %d is a %s, not a Pod", i, kp.Kind)
		}
		p, err := convert(kp)
		if err != nil {
			return nil, fmt.Errorf("item %d (%s/%s): %w", i, kp.Metadata.Namespace, kp.Metadata.Name, err)
		}
		pods = append(pods, p)
	}
	return pods, nil
}

func convert(kp kubePod) (Pod, error) {
	m := kp.Metadata
	if m.Name == "" || m.UID == "" {
		return Pod{}, fmt.Errorf("pod without name or uid")
	}
	p := Pod{UID: m.UID, Namespace: m.Namespace, Name: m.Name, HostNetwork: kp.Spec.HostNetwork}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	p.WorkloadKind, p.Workload = "Pod", m.Name
	for _, o := range m.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		p.WorkloadKind, p.Workload = o.Kind, o.Name
		// A Deployment names its ReplicaSets <deployment>-<pod-template-hash>.
		if o.Kind == "ReplicaSet" {
			if h := m.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				p.WorkloadKind, p.Workload = "Deployment", strings.TrimSuffix(o.Name, "-"+h)
			}
		}
		break
	}
	// Finished pods' addresses may already belong to a new pod.
	if kp.Status.Phase == "Succeeded" || kp.Status.Phase == "Failed" {
		return p, nil
	}
	seen := map[netip.Addr]bool{}
	addrs := []string{kp.Status.PodIP}
	for _, ip := range kp.Status.PodIPs {
		addrs = append(addrs, ip.IP)
	}
	for _, s := range addrs {
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Pod{}, fmt.Errorf("pod IP %q: %w", s, err)
		}
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			p.IPs = append(p.IPs, a)
		}
	}
	return p, nil
}
