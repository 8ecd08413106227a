//go:build linux

package kubernetes

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	chart     = "deploy/helm/netlens"
	release   = "netlens"
	namespace = "netlens"
)

// Everything the chart can make, both DaemonSets and the Prometheus
// Operator's objects included.
var chartValues = []string{
	"--set", "windows.enabled=true",
	"--set", "serviceMonitor.enabled=true", "--set", "podMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
}

// The chart on a real API server: helm install creates every object it
// renders (the monitoring ones against the Prometheus Operator's CRDs), the
// agents' pods are admitted at the Pod Security level the chart asks for
// (privileged) and refused at baseline for the reasons docs/install.md gives,
// helm upgrade keeps the generated API token and rolls the agents when their
// configuration changes, and helm uninstall leaves nothing behind.
func TestChartInstallUpgradeUninstall(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	c.applyMonitoringCRDs()
	if err := c.CreateNamespace(ctx, namespace, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}); err != nil {
		t.Fatal(err)
	}
	c.mustHelm(append([]string{"install", release, chart, "-n", namespace}, chartValues...)...)

	manifest := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(manifest, []byte(c.mustHelm("get", "manifest", release, "-n", namespace)), 0o600); err != nil {
		t.Fatal(err)
	}
	installed := strings.Fields(c.mustKubectl("get", "-f", manifest, "-o", "name"))
	for _, want := range []string{
		"daemonset.apps/netlens", "daemonset.apps/netlens-windows", "serviceaccount/netlens",
		"clusterrole.rbac.authorization.k8s.io/netlens", "clusterrolebinding.rbac.authorization.k8s.io/netlens",
		"service/netlens", "secret/netlens-token",
		"servicemonitor.monitoring.coreos.com/netlens", "podmonitor.monitoring.coreos.com/netlens",
		"prometheusrule.monitoring.coreos.com/netlens",
	} {
		if !slices.Contains(installed, want) {
			t.Errorf("%s not in the cluster after helm install; there: %v", want, installed)
		}
	}

	linux, err := c.Admin.AppsV1().DaemonSets(namespace).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	windows, err := c.Admin.AppsV1().DaemonSets(namespace).Get(ctx, release+"-windows", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkPodSecurity(t, c, linux, windows)

	token := secretValue(t, c, "netlens-token", "token")
	checksum := linux.Spec.Template.Annotations["checksum/config"]
	c.mustHelm(append([]string{"upgrade", release, chart, "-n", namespace, "--set", "agent.logLevel=debug"}, chartValues...)...)
	if got := secretValue(t, c, "netlens-token", "token"); got != token {
		t.Error("helm upgrade replaced the generated API token: the data source's copy no longer works")
	}
	upgraded, err := c.Admin.AppsV1().DaemonSets(namespace).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if upgraded.Spec.Template.Annotations["checksum/config"] == checksum {
		t.Error("helm upgrade changed the agent configuration but not the pod template: the agents would keep the old one")
	}

	// The search that must come back empty after uninstall finds the release now.
	if found := c.labelled("app.kubernetes.io/instance=" + release); len(found) < len(installed) {
		t.Fatalf("the release's objects by label: %v, want at least the %d installed", found, len(installed))
	}
	c.mustHelm("uninstall", release, "-n", namespace, "--wait")
	if left := strings.Fields(c.mustKubectl("get", "-f", manifest, "-o", "name", "--ignore-not-found")); len(left) > 0 {
		t.Errorf("helm uninstall left %v", left)
	}
	if left := c.labelled("app.kubernetes.io/instance=" + release); len(left) > 0 {
		t.Errorf("helm uninstall left objects of the release: %v", left)
	}
	if left := c.labelled("owner=helm"); len(left) > 0 {
		t.Errorf("helm uninstall left its release records: %v", left)
	}
}

// checkPodSecurity creates the DaemonSets' pods as their controller would
// (server-side dry run): admitted where the namespace allows privileged,
// refused at baseline, naming what baseline forbids.
func checkPodSecurity(t *testing.T, c *cluster, daemonSets ...*appsv1.DaemonSet) {
	t.Helper()
	ctx := context.Background()
	const baseline = "netlens-baseline"
	if err := c.CreateNamespace(ctx, baseline, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Admin.CoreV1().ServiceAccounts(baseline).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: release}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	for _, ds := range daemonSets {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: ds.Name + "-", Labels: ds.Spec.Template.Labels}, Spec: ds.Spec.Template.Spec}
		if _, err := c.Admin.CoreV1().Pods(namespace).Create(ctx, pod, dryRun); err != nil {
			t.Errorf("%s's pod refused in a namespace that allows privileged pods: %v", ds.Name, err)
		}
		_, err := c.Admin.CoreV1().Pods(baseline).Create(ctx, pod, dryRun)
		if err == nil {
			t.Errorf("%s's pod admitted at Pod Security baseline: the docs ask for privileged without need", ds.Name)
			continue
		}
		t.Logf("%s at baseline: %v", ds.Name, err)
		want := "hostNetwork"
		if ds.Name != release {
			want = "hostProcess"
		}
		if !strings.Contains(err.Error(), `violates PodSecurity "baseline`) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s's pod refused at baseline, but not by Pod Security for %s: %v", ds.Name, want, err)
		}
	}
	if err := c.DeleteNamespace(ctx, baseline); err != nil {
		t.Fatal(err)
	}
}

func secretValue(t *testing.T, c *cluster, name, key string) string {
	t.Helper()
	s, err := c.Admin.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Data[key]) == 0 {
		t.Fatalf("secret %s has no %s", name, key)
	}
	return string(s.Data[key])
}

// labelled lists every object of every listable kind, in every namespace,
// that carries the label selector.
func (c *cluster) labelled(selector string) []string {
	c.t.Helper()
	kinds := strings.Fields(c.mustKubectl("api-resources", "--verbs=list", "-o", "name"))
	// Events are not the release's and are not labelled.
	kinds = slices.DeleteFunc(kinds, func(k string) bool { return strings.HasPrefix(k, "events") })
	return strings.Fields(c.mustKubectl("get", strings.Join(kinds, ","), "-A", "-l", selector, "-o", "name"))
}
