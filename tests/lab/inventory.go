//go:build linux

package lab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Namespace is the Kubernetes namespace lab pods get in a pod inventory.
const Namespace = "lab"

// KubeName is the name a lab pod has in a pod inventory: a Deployment's pod,
// the Deployment named after the lab pod.
func (p *Pod) KubeName() string { return p.Name + "-5f7c9-abcde" }

// PodsFile writes pods as `kubectl get pods -o json` would list them (in
// namespace Namespace, each owned by a ReplicaSet of a Deployment named after
// the pod, with its IPv4 and IPv6 addresses) and returns the file's path.
func PodsFile(t testing.TB, pods ...*Pod) string {
	t.Helper()
	items := []map[string]any{}
	for _, p := range pods {
		items = append(items, map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{
				"name": p.KubeName(), "namespace": Namespace, "uid": "uid-" + p.Name,
				"labels":          map[string]string{"pod-template-hash": "5f7c9"},
				"ownerReferences": []map[string]any{{"kind": "ReplicaSet", "name": p.Name + "-5f7c9", "controller": true}},
			},
			"status": map[string]any{"phase": "Running", "podIP": p.IPv4.String(),
				"podIPs": []map[string]string{{"ip": p.IPv4.String()}, {"ip": p.IPv6.String()}}},
		})
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pods.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
