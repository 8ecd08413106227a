//go:build linux

package kubernetes

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/testenv"
)

// prometheusOperatorVersion is the Prometheus Operator whose CRDs the chart's
// ServiceMonitor, PodMonitor and PrometheusRule are applied against (its
// module on the Go module proxy holds them, under example/).
const prometheusOperatorVersion = "v0.85.0"

// cluster is a control plane with the command-line tools pointed at it.
type cluster struct {
	*controlplane.ControlPlane
	t    *testing.T
	repo string
	bin  string
}

func newCluster(t *testing.T, extraAPIServerArgs ...string) *cluster {
	t.Helper()
	testenv.RequireCommands(t, "helm")
	cp := controlplane.ForTest(t, extraAPIServerArgs...)
	bin, err := controlplane.BinDir(testenv.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{ControlPlane: cp, t: t, repo: testenv.RepoRoot(t), bin: bin}
}

// kubectl runs kubectl as the administrator and returns its standard output.
func (c *cluster) kubectl(args ...string) (string, error) {
	return c.run(filepath.Join(c.bin, "kubectl"), append([]string{"--kubeconfig", c.AdminKubeconfig}, args...)...)
}

func (c *cluster) mustKubectl(args ...string) string {
	c.t.Helper()
	out, err := c.kubectl(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// helm runs helm as the administrator, from the repository's top directory.
func (c *cluster) helm(args ...string) (string, error) {
	return c.run("helm", append([]string{"--kubeconfig", c.AdminKubeconfig}, args...)...)
}

func (c *cluster) mustHelm(args ...string) string {
	c.t.Helper()
	out, err := c.helm(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *cluster) run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = c.repo
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &cmdError{cmd: name + " " + strings.Join(args, " "), err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type cmdError struct {
	cmd, stderr string
	err         error
}

func (e *cmdError) Error() string { return e.cmd + ": " + e.err.Error() + "\n" + e.stderr }

// applyMonitoringCRDs applies the Prometheus Operator's ServiceMonitor,
// PodMonitor and PrometheusRule CRDs and waits until they are served.
func (c *cluster) applyMonitoringCRDs() {
	c.t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator@"+prometheusOperatorVersion).Output()
	if err != nil {
		c.t.Fatalf("downloading the Prometheus Operator's CRDs: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		c.t.Fatalf("go mod download: %v %s", err, out)
	}
	var names []string
	for _, kind := range []string{"servicemonitors", "podmonitors", "prometheusrules"} {
		c.mustKubectl("apply", "--server-side", "-f", filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml"))
		names = append(names, "crd/"+kind+".monitoring.coreos.com")
	}
	c.mustKubectl(append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, names...)...)
}
