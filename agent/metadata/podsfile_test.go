package metadata

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const podList = `{
  "apiVersion": "v1", "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "web-7d4b9-xk2p", "namespace": "shop", "uid": "u-web",
       "labels": {"pod-template-hash": "7d4b9"},
       "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d4b9", "controller": true}]},
     "spec": {"nodeName": "n1"},
     "status": {"phase": "Running", "podIP": "10.0.0.2", "podIPs": [{"ip": "10.0.0.2"}, {"ip": "fd00::2"}]}},
    {"kind": "Pod",
     "metadata": {"name": "db-0", "namespace": "shop", "uid": "u-db",
       "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": true}]},
     "status": {"phase": "Running", "podIP": "10.0.0.3"}},
    {"kind": "Pod",
     "metadata": {"name": "kube-proxy-abc", "namespace": "kube-system", "uid": "u-kp",
       "ownerReferences": [{"kind": "DaemonSet", "name": "kube-proxy", "controller": true}]},
     "spec": {"hostNetwork": true},
     "status": {"phase": "Running", "podIP": "192.168.1.10"}},
    {"kind": "Pod",
     "metadata": {"name": "migrate-x", "namespace": "shop", "uid": "u-job",
       "ownerReferences": [{"kind": "Job", "name": "migrate", "controller": true}]},
     "status": {"phase": "Succeeded", "podIP": "10.0.0.4"}},
    {"kind": "Pod", "metadata": {"name": "debug", "uid": "u-debug"}, "status": {"phase": "Running", "podIP": "10.0.0.5"}}
  ]}`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pods.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Pods are found by each of their addresses, with the workload operators know:
// a ReplicaSet's pod belongs to its Deployment. Host-network pods and finished
// pods own no address; a bare pod is its own workload.
func TestPodsFileLookups(t *testing.T) {
	f, err := NewPodsFile(writeFile(t, podList), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ip                       string
		name, workload, kind, ns string
	}{
		{"10.0.0.2", "web-7d4b9-xk2p", "web", "Deployment", "shop"},
		{"fd00::2", "web-7d4b9-xk2p", "web", "Deployment", "shop"},
		{"::ffff:10.0.0.2", "web-7d4b9-xk2p", "web", "Deployment", "shop"},
		{"10.0.0.3", "db-0", "db", "StatefulSet", "shop"},
		{"10.0.0.5", "debug", "debug", "Pod", "default"},
	}
	for _, c := range cases {
		p, ok := f.PodByIP(netip.MustParseAddr(c.ip), time.Now(), time.Now())
		if !ok || p.Name != c.name || p.Workload != c.workload || p.WorkloadKind != c.kind || p.Namespace != c.ns {
			t.Errorf("%s: got %+v %v", c.ip, p, ok)
		}
	}
	for _, ip := range []string{"192.168.1.10", "10.0.0.4", "10.9.9.9"} {
		if p, ok := f.PodByIP(netip.MustParseAddr(ip), time.Now(), time.Now()); ok {
			t.Errorf("%s should own no pod, got %s", ip, p.Name)
		}
	}
	if _, ok := f.PodByUID("u-job"); !ok {
		t.Error("a finished pod is still in the inventory by UID")
	}
}

// The file is re-read when it changes; a broken update keeps the last good
// inventory and is reported.
func TestPodsFileReloads(t *testing.T) {
	path := writeFile(t, podList)
	f, err := NewPodsFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(podList, `"uid": "u-db"`, `"uid": "u-db2"`, 1)
	next = strings.Replace(next, `"podIP": "10.0.0.3"`, `"podIP": "10.0.0.33"`, 1)
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, ok := f.PodByIP(netip.MustParseAddr("10.0.0.33"), time.Now(), time.Now()); !ok || p.UID != "u-db2" {
		t.Fatalf("update not seen: %+v %v", p, ok)
	}
	if _, ok := f.PodByUID("u-db"); ok {
		t.Fatal("the replaced pod is still there")
	}
	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.PodByIP(netip.MustParseAddr("10.0.0.33"), time.Now(), time.Now()); !ok {
		t.Fatal("a broken update dropped the inventory")
	}
	if f.Err() == nil {
		t.Fatal("a broken update is not reported")
	}
}

func TestParsePodListErrors(t *testing.T) {
	for in, want := range map[string]string{
		`[`:                  "not kubectl JSON",
		`{"kind":"Service"}`: `kind "Service"`,
		`{"kind":"List","items":[{"kind":"Node","metadata":{"name":"n","uid":"u"}}]}`: "is a Node",
		`{"kind":"List","items":[{"metadata":{"name":"p"}}]}`:                         "without name or uid",
		`{"kind":"Pod","metadata":{"name":"p","uid":"u"},"status":{"podIP":"x"}}`:     `pod IP "x"`,
	} {
		if _, err := ParsePodList([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}

// IP reuse through the file: a reload replaces pod A by pod B on the same
// address. Windows wholly before the change name A, wholly after it B, and a
// window spanning it names nobody. The change is dated by the file's
// modification time.
func TestPodsFileIPReuse(t *testing.T) {
	path := writeFile(t, podList)
	clock := newTestClock()
	f, err := newPodsFile(path, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("10.0.0.3")
	inA := clock.Advance(time.Second)
	if p, ok := f.PodByIP(ip, inA, inA); !ok || p.UID != "u-db" {
		t.Fatalf("before the change: %+v %v", p, ok)
	}
	next := strings.Replace(podList, `"uid": "u-db"`, `"uid": "u-db-new"`, 1)
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	changed := clock.Advance(time.Second) // a whole second: any file system keeps it
	if err := os.Chtimes(path, changed, changed); err != nil {
		t.Fatal(err)
	}
	inB := clock.Advance(time.Second)
	if p, ok := f.PodByIP(ip, inB, inB); !ok || p.UID != "u-db-new" {
		t.Fatalf("after the change: %+v %v", p, ok)
	}
	if p, ok := f.PodByIP(ip, inA, inB); ok {
		t.Fatalf("a window spanning the change named %s", p.UID)
	}
	if p, ok := f.PodByIP(ip, inA, changed.Add(-time.Millisecond)); !ok || p.UID != "u-db" {
		t.Fatalf("a window before the change: %+v %v", p, ok)
	}
	if p, ok := f.PodByIP(ip, changed, inB); !ok || p.UID != "u-db-new" {
		t.Fatalf("a window from the change on: %+v %v", p, ok)
	}
	// Pods of the first load own their addresses since as long as anyone
	// knows (the file has no timestamps), other addresses are unaffected.
	if p, ok := f.PodByIP(netip.MustParseAddr("10.0.0.2"), time.Unix(0, 0), inB); !ok || p.Name != "web-7d4b9-xk2p" {
		t.Fatalf("unchanged pod over a long window: %+v %v", p, ok)
	}
}

// A pod's own timestamps (kubectl prints them) date its ownership: the
// PodReadyToStartContainers condition, else startTime, else creation.
func TestPodsFileTimestamps(t *testing.T) {
	pods, err := ParsePodList([]byte(`{"kind":"List","items":[
	 {"metadata":{"name":"a","uid":"a","creationTimestamp":"2026-01-01T10:00:00Z"},
	  "status":{"phase":"Running","podIP":"10.0.0.1","startTime":"2026-01-01T10:00:05Z",
	   "conditions":[{"type":"PodReadyToStartContainers","status":"True","lastTransitionTime":"2026-01-01T10:00:07Z"}]}},
	 {"metadata":{"name":"b","uid":"b","creationTimestamp":"2026-01-01T10:00:00Z"},"status":{"phase":"Running","startTime":"2026-01-01T10:00:05Z"}},
	 {"metadata":{"name":"c","uid":"c","creationTimestamp":"2026-01-01T10:00:00Z"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"10:00:07", "10:00:05", "10:00:00"} {
		if got := pods[i].Since.UTC().Format("15:04:05"); got != want {
			t.Errorf("pod %s: since %s, want %s", pods[i].Name, got, want)
		}
	}
}
