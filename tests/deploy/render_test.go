// Package deploy tests the Kubernetes deployment: the Helm chart
// (deploy/helm/netlens) linted and rendered with helm itself, every rendered
// document decoded strictly into the real Kubernetes API types (a misspelt field
// fails), least privilege, the agent configuration checked against the agent's
// own flags, the committed rendered manifests, the scrape configurations
// (promtool) and the image build command; and, with the real agent binary run
// as the rendered DaemonSet runs it, who may read its API and metrics.
package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/testenv"
)

const (
	chartDir  = "deploy/helm/netlens"
	namespace = "netlens"
	release   = "netlens"
	// helm built from source reports Kubernetes v1.20, below the chart's
	// kubeVersion; scripts/render-manifests.sh names the same version.
	kubeVersion = "1.33.0"
)

// valueSets are the configurations the chart is linted and rendered with:
// the defaults and the chart's ci/ values files.
var valueSets = []struct{ name, file string }{
	{"default", ""},
	{"windows", "ci/windows-values.yaml"},
	{"tls-token", "ci/tls-token-values.yaml"},
	{"monitors", "ci/monitors-values.yaml"},
}

// helm returns the helm command's combined output and error, run in the
// repository root.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	testenv.RequireCommands(t, "helm")
	cmd := exec.Command("helm", args...)
	cmd.Dir = testenv.RepoRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func valuesArgs(file string) []string {
	if file == "" {
		return nil
	}
	return []string{"-f", filepath.Join(chartDir, file)}
}

// render runs helm template with a values file ("" for the defaults) and more
// arguments, and fails the test if helm does.
func render(t *testing.T, file string, extra ...string) string {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, valuesArgs(file)...)
	out, err := helm(t, append(args, extra...)...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// ServiceMonitor and PodMonitor (monitoring.coreos.com/v1) are not in
// k8s.io/api: these are the fields of the CRDs the chart uses, spelled as the
// Prometheus Operator's API spells them, so strict decoding catches a typo.
type relabelConfig struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	Modulus      uint64   `json:"modulus,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

type safeAuthorization struct {
	Type        string                    `json:"type,omitempty"`
	Credentials *corev1.SecretKeySelector `json:"credentials,omitempty"`
}

type scrapeEndpoint struct {
	Port              string             `json:"port,omitempty"`
	Path              string             `json:"path,omitempty"`
	Scheme            string             `json:"scheme,omitempty"`
	Interval          string             `json:"interval,omitempty"`
	ScrapeTimeout     string             `json:"scrapeTimeout,omitempty"`
	HonorLabels       bool               `json:"honorLabels,omitempty"`
	TLSConfig         map[string]any     `json:"tlsConfig,omitempty"`
	Authorization     *safeAuthorization `json:"authorization,omitempty"`
	Relabelings       []relabelConfig    `json:"relabelings,omitempty"`
	MetricRelabelings []relabelConfig    `json:"metricRelabelings,omitempty"`
}

type monitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		JobLabel          string `json:"jobLabel,omitempty"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Selector            metav1.LabelSelector `json:"selector"`
		Endpoints           []scrapeEndpoint     `json:"endpoints,omitempty"`
		PodMetricsEndpoints []scrapeEndpoint     `json:"podMetricsEndpoints,omitempty"`
	} `json:"spec"`
}

// objects holds a render's documents, decoded.
type objects struct {
	namespaces          []corev1.Namespace
	daemonSets          map[string]*appsv1.DaemonSet // by name
	services            []corev1.Service
	serviceAccounts     []corev1.ServiceAccount
	configMaps          map[string]*corev1.ConfigMap
	secrets             []corev1.Secret
	clusterRoles        []rbacv1.ClusterRole
	clusterRoleBindings []rbacv1.ClusterRoleBinding
	serviceMonitors     []monitor
	podMonitors         []monitor
	prometheusRules     []prometheusRule
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes every YAML document of out strictly into its Kubernetes
// API type: unknown fields, duplicate fields and unknown kinds fail the test.
func decodeAll(t *testing.T, out string) *objects {
	t.Helper()
	o := &objects{daemonSets: map[string]*appsv1.DaemonSet{}, configMaps: map[string]*corev1.ConfigMap{}}
	for i, doc := range docSeparator.Split(out, -1) {
		if isEmptyDoc(doc) {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		strict := func(v any) {
			t.Helper()
			if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
				t.Fatalf("document %d (%s %s) does not decode strictly: %v\n%s", i, tm.APIVersion, tm.Kind, err, doc)
			}
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			var v corev1.Namespace
			strict(&v)
			o.namespaces = append(o.namespaces, v)
		case "apps/v1 DaemonSet":
			var v appsv1.DaemonSet
			strict(&v)
			o.daemonSets[v.Name] = &v
		case "v1 Service":
			var v corev1.Service
			strict(&v)
			o.services = append(o.services, v)
		case "v1 ServiceAccount":
			var v corev1.ServiceAccount
			strict(&v)
			o.serviceAccounts = append(o.serviceAccounts, v)
		case "v1 ConfigMap":
			var v corev1.ConfigMap
			strict(&v)
			o.configMaps[v.Name] = &v
		case "v1 Secret":
			var v corev1.Secret
			strict(&v)
			o.secrets = append(o.secrets, v)
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			var v rbacv1.ClusterRole
			strict(&v)
			o.clusterRoles = append(o.clusterRoles, v)
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			var v rbacv1.ClusterRoleBinding
			strict(&v)
			o.clusterRoleBindings = append(o.clusterRoleBindings, v)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			var v monitor
			strict(&v)
			o.serviceMonitors = append(o.serviceMonitors, v)
		case "monitoring.coreos.com/v1 PodMonitor":
			var v monitor
			strict(&v)
			o.podMonitors = append(o.podMonitors, v)
		case "monitoring.coreos.com/v1 PrometheusRule":
			var v prometheusRule
			strict(&v)
			o.prometheusRules = append(o.prometheusRules, v)
		default:
			t.Fatalf("document %d: unexpected kind %q %q (add it to the test)\n%s", i, tm.APIVersion, tm.Kind, doc)
		}
		// Every namespaced object lands in the release namespace.
		if tm.Kind != "Namespace" && tm.Kind != "ClusterRole" && tm.Kind != "ClusterRoleBinding" {
			var meta struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			_ = yaml.Unmarshal([]byte(doc), &meta)
			if meta.Metadata.Namespace != namespace {
				t.Errorf("%s %s: namespace %q, want %q", tm.Kind, meta.Metadata.Name, meta.Metadata.Namespace, namespace)
			}
		}
	}
	return o
}

// isEmptyDoc reports whether a YAML document holds only comments and blanks.
func isEmptyDoc(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHelmLint lints the chart with each value set (--strict: warnings fail).
func TestHelmLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, valuesArgs(vs.file)...)
			if out, err := helm(t, args...); err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestSchemaRejectsBadValues: values.schema.json (or the chart's own checks)
// turns a wrong value into a helm error instead of a broken DaemonSet.
func TestSchemaRejectsBadValues(t *testing.T) {
	cases := []struct {
		name string
		set  string
		want string // in helm's error output
	}{
		{"unknown top-level value", "agnet.logLevel=info", "additional properties"},
		{"unknown nested value", "agent.logLevl=debug", "additional properties"},
		{"log level", "agent.logLevel=verbose", "logLevel"},
		{"drop source", "agent.dropSource=xdp", "dropSource"},
		{"port out of range", "agent.port=70000", "port"},
		{"port as a string", "agent.port=http", "port"},
		{"drop table too small", "agent.dropTableEntries=8", "dropTableEntries"},
		{"duration", "agent.historyDuration=15 minutes", "historyDuration"},
		{"maxUnavailable", "linux.maxUnavailable=all", "maxUnavailable"},
		{"image pull policy", "image.pullPolicy=Sometimes", "pullPolicy"},
		{"seccomp profile", "linux.seccompProfile=Localhost", "seccompProfile"},
		{"capability switch is a bool", "linux.kernelBefore58=maybe", "kernelBefore58"},
		{"toleration operator", "linux.tolerations[0].operator=Any", "operator"},
		{"extraConfig key is a flag name", "agent.extraConfig.--log-level=debug", "--log-level"},
		{"TLS without a secret", "tls.enabled=true", "tls.existingSecret"},
		{"metrics auth without a token", "auth.token.enabled=false,auth.metrics=true", "auth.token.enabled"},
		{"existing token Secret without the token", "auth.token.enabled=false,auth.token.existingSecret=netlens-token", "auth.token.enabled is false"},
		{"unknown PrometheusRule value", "prometheusRule.enable=true", "additional properties"},
		{"PrometheusRule namespace", "prometheusRule.namespace=Monitoring_NS", "namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := helm(t, "template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion, "--set", c.set)
			if err == nil {
				t.Fatalf("helm template --set %s succeeded, want a values error", c.set)
			}
			if !strings.Contains(out, c.want) {
				t.Fatalf("helm template --set %s failed without naming %q:\n%s", c.set, c.want, out)
			}
		})
	}
}

// TestRenderedManifestsCurrent: deploy/manifests/*.yaml are what
// scripts/render-manifests.sh makes from the chart now, and decode strictly.
func TestRenderedManifestsCurrent(t *testing.T) {
	testenv.RequireCommands(t, "helm", "bash")
	cmd := exec.Command("bash", "scripts/render-manifests.sh", "--check")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rendered manifests are stale (run scripts/render-manifests.sh): %v\n%s", err, out)
	}
	for _, f := range []struct {
		file    string
		windows bool
	}{{"deploy/manifests/netlens.yaml", false}, {"deploy/manifests/netlens-windows.yaml", true}} {
		t.Run(filepath.Base(f.file), func(t *testing.T) {
			o := decodeAll(t, string(readRepoFile(t, f.file)))
			if len(o.namespaces) != 1 || o.namespaces[0].Name != namespace {
				t.Errorf("want the Namespace %q first, got %s", namespace, dump(o.namespaces))
			} else if got := o.namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
				t.Errorf("Namespace label pod-security.kubernetes.io/enforce = %q, want privileged (hostNetwork and hostPath are above the baseline level)", got)
			}
			if _, ok := o.daemonSets[release]; !ok {
				t.Errorf("no Linux DaemonSet %q", release)
			}
			if _, ok := o.daemonSets[release+"-windows"]; ok != f.windows {
				t.Errorf("Windows DaemonSet present = %v, want %v", ok, f.windows)
			}
			// No token in a public file: every agent mounts the operator's
			// Secret netlens-token instead (TestRenderedAgentAuth runs it).
			if len(o.secrets) != 0 {
				t.Errorf("%s holds Secrets (a token committed here would be everyone's): %s", f.file, dump(o.secrets))
			}
			for _, ds := range o.daemonSets {
				checkSecretMounts(t, chartCase{token: true, tokenSecret: "netlens-token"}, ds)
			}
		})
	}
}

// TestChartVersion: the chart's appVersion (the default image tag) is the
// release CHANGELOG.md is at.
func TestChartVersion(t *testing.T) {
	var chart struct {
		APIVersion string `json:"apiVersion"`
		Name       string `json:"name"`
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, chartDir+"/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	if chart.APIVersion != "v2" || chart.Name != "netlens" {
		t.Errorf("Chart.yaml: apiVersion %q name %q, want v2 netlens", chart.APIVersion, chart.Name)
	}
	m := regexp.MustCompile(`(?m)^## ([0-9]+\.[0-9]+\.[0-9]+)`).FindSubmatch(readRepoFile(t, "CHANGELOG.md"))
	if m == nil {
		t.Fatal("CHANGELOG.md has no '## X.Y.Z' release heading")
	}
	if chart.AppVersion != string(m[1]) {
		t.Errorf("Chart.yaml appVersion %q, CHANGELOG.md is at %s", chart.AppVersion, m[1])
	}
	t.Logf("chart %s, appVersion %s", chart.Version, chart.AppVersion)
}
