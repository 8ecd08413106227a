package metadata

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"
)

// PodsFile is a static pod inventory in `kubectl get pods -o json` form (a
// List of Pods, or one Pod). The file is re-read when it changes, checked at
// most once per interval, so a test or an operator can update it in place.
//
// Ownership of addresses follows the file: a pod listed by the first load
// owns its addresses from when its network came up (the timestamps kubectl
// prints; without any, from as long as anyone knows); a pod that a reload
// adds owns them from that pod's network start or the change, whichever is
// later known; a pod a reload no longer lists stops owning them at the change.
// The change is dated by the file's modification time, within the interval
// between the check that saw the old file and the one that saw the new.
type PodsFile struct {
	path     string
	interval time.Duration
	history  *History
	// now is the clock checks are made and changes dated by (time.Now;
	// tests set a clock of their own).
	now func() time.Time

	mu        sync.Mutex
	checked   time.Time
	modTime   time.Time
	size      int64
	loaded    bool
	lastError error
}

// NewPodsFile loads path; an unreadable or malformed file is an error here,
// while later failures keep the last good inventory and show in Err.
func NewPodsFile(path string, interval time.Duration) (*PodsFile, error) {
	return newPodsFile(path, interval, time.Now)
}

func newPodsFile(path string, interval time.Duration, now func() time.Time) (*PodsFile, error) {
	f := &PodsFile{path: path, interval: interval, history: NewHistory(0, 0), now: now}
	loaded := now()
	if err := f.reload(loaded); err != nil {
		return nil, err
	}
	f.checked = loaded
	return f, nil
}

func (f *PodsFile) Name() string { return "pods-file:" + f.path }

// PodByIP returns the pod that owned ip through the whole window [from, to].
func (f *PodsFile) PodByIP(ip netip.Addr, from, to time.Time) (Pod, bool) {
	f.mu.Lock()
	f.maybeReload()
	f.mu.Unlock()
	return f.history.Lookup(ip, from, to)
}

func (f *PodsFile) PodByUID(uid string) (Pod, bool) {
	f.mu.Lock()
	f.maybeReload()
	f.mu.Unlock()
	return f.history.Current(uid)
}

func (f *PodsFile) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastError
}

// History is the inventory's ownership history.
func (f *PodsFile) History() *History { return f.history }

func (f *PodsFile) maybeReload() {
	now := f.now()
	if now.Sub(f.checked) < f.interval {
		return
	}
	prev := f.checked
	f.checked = now
	fi, err := os.Stat(f.path)
	if err != nil {
		f.lastError = err
		return
	}
	if fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return
	}
	// The file changed after the previous check (if its time says
	// otherwise, it was copied with an old one) and by now.
	at := fi.ModTime()
	if at.Before(prev) {
		at = prev
	}
	if at.After(now) {
		at = now
	}
	f.lastError = f.reload(at)
}

// reload reads the file, which says what the inventory is as of at.
func (f *PodsFile) reload(at time.Time) error {
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
	listed := map[string]bool{}
	for _, p := range pods {
		listed[p.UID] = true
		from := p.Since
		if from.IsZero() && f.loaded {
			from = at
		}
		f.history.Set(p, from, at)
	}
	for _, uid := range f.history.UIDs() {
		if !listed[uid] {
			f.history.Remove(uid, at)
		}
	}
	f.loaded = true
	f.modTime, f.size = fi.ModTime(), fi.Size()
	return nil
}

// The subset of a v1.Pod the inventory reads.
type kubePod struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		UID               string            `json:"uid"`
		Labels            map[string]string `json:"labels"`
		OwnerReferences   []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Controller *bool  `json:"controller"`
		} `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		HostNetwork bool `json:"hostNetwork"`
	} `json:"spec"`
	Status struct {
		Phase      string     `json:"phase"`
		StartTime  *time.Time `json:"startTime"`
		Conditions []struct {
			Type               string    `json:"type"`
			Status             string    `json:"status"`
			LastTransitionTime time.Time `json:"lastTransitionTime"`
		} `json:"conditions"`
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
		// The file has no ReplicaSets or Jobs: their owners are named from
		// the names (a Deployment's ReplicaSet, a CronJob's Job).
		p.WorkloadKind, p.Workload = fallbackWorkload(o.Kind, o.Name, m.Labels)
		break
	}
	p.Since = m.CreationTimestamp
	if st := kp.Status.StartTime; st != nil && !st.IsZero() {
		p.Since = *st
	}
	for _, c := range kp.Status.Conditions {
		if c.Type == "PodReadyToStartContainers" && c.Status == "True" && !c.LastTransitionTime.IsZero() {
			p.Since = c.LastTransitionTime
		}
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
