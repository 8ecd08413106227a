package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/testenv"
)

// promRelabel and promScrapeConfig are the fields of Prometheus's
// configuration the scrape files use, spelled as Prometheus spells them, so that
// strict decoding catches a typo there too.
type promRelabel struct {
	SourceLabels []string `json:"source_labels,omitempty"`
	Separator    *string  `json:"separator,omitempty"`
	Regex        *string  `json:"regex,omitempty"`
	TargetLabel  string   `json:"target_label,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Action       string   `json:"action,omitempty"`
}

type promScrapeConfig struct {
	JobName             string         `json:"job_name"`
	ScrapeInterval      string         `json:"scrape_interval,omitempty"`
	ScrapeTimeout       string         `json:"scrape_timeout,omitempty"`
	MetricsPath         string         `json:"metrics_path,omitempty"`
	Scheme              string         `json:"scheme,omitempty"`
	Authorization       map[string]any `json:"authorization,omitempty"`
	TLSConfig           map[string]any `json:"tls_config,omitempty"`
	KubernetesSDConfigs []struct {
		Role       string `json:"role"`
		Namespaces *struct {
			Names []string `json:"names"`
		} `json:"namespaces,omitempty"`
	} `json:"kubernetes_sd_configs"`
	RelabelConfigs []promRelabel `json:"relabel_configs"`
}

type promConfig struct {
	Global *struct {
		ScrapeInterval string            `json:"scrape_interval,omitempty"`
		ScrapeTimeout  string            `json:"scrape_timeout,omitempty"`
		ExternalLabels map[string]string `json:"external_labels,omitempty"`
	} `json:"global,omitempty"`
	ScrapeConfigs []promScrapeConfig `json:"scrape_configs"`
}

// TestScrapeConfigs checks deploy/scrape: both files discover pods in the
// agents' namespace, keep only the agents' port, add `node` from the pod's node
// name and add no namespace/pod target labels; the Azure Monitor file is the
// ConfigMap ama-metrics reads. promtool validates the rest of each file (Debian's
// Prometheus is built without Kubernetes discovery, so for promtool the
// kubernetes_sd_configs are swapped for a static target).
func TestScrapeConfigs(t *testing.T) {
	files := map[string]string{
		"prometheus": string(readRepoFile(t, "deploy/scrape/prometheus.yaml")),
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(readRepoFile(t, "deploy/scrape/ama-metrics-prometheus-config.yaml"), &cm); err != nil {
		t.Fatalf("ama-metrics-prometheus-config.yaml is not a ConfigMap: %v", err)
	}
	if cm.APIVersion != "v1" || cm.Kind != "ConfigMap" || cm.Name != "ama-metrics-prometheus-config" || cm.Namespace != "kube-system" {
		t.Errorf("Azure Monitor ConfigMap is %s %s %s/%s, want v1 ConfigMap kube-system/ama-metrics-prometheus-config", cm.APIVersion, cm.Kind, cm.Namespace, cm.Name)
	}
	if len(cm.Data) != 1 || cm.Data["prometheus-config"] == "" {
		t.Fatalf("Azure Monitor ConfigMap data keys %v, want only prometheus-config", keysOf(cm.Data))
	}
	files["ama-metrics"] = cm.Data["prometheus-config"]

	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			var cfg promConfig
			if err := yaml.UnmarshalStrict([]byte(text), &cfg); err != nil {
				t.Fatalf("does not decode strictly: %v\n%s", err, text)
			}
			if len(cfg.ScrapeConfigs) != 1 {
				t.Fatalf("%d scrape configs, want 1", len(cfg.ScrapeConfigs))
			}
			sc := cfg.ScrapeConfigs[0]
			if len(sc.KubernetesSDConfigs) != 1 || sc.KubernetesSDConfigs[0].Role != "pod" ||
				sc.KubernetesSDConfigs[0].Namespaces == nil || !slices.Equal(sc.KubernetesSDConfigs[0].Namespaces.Names, []string{namespace}) {
				t.Errorf("kubernetes_sd_configs %s, want role pod in namespace %s", dump(sc.KubernetesSDConfigs), namespace)
			}
			var keepAgent, keepPort, node bool
			for _, r := range sc.RelabelConfigs {
				switch {
				case r.Action == "keep" && slices.Contains(r.SourceLabels, "__meta_kubernetes_pod_label_app_kubernetes_io_name") && r.Regex != nil && strings.HasPrefix(*r.Regex, "netlens"):
					keepAgent = true
				case r.Action == "keep" && slices.Equal(r.SourceLabels, []string{"__meta_kubernetes_pod_container_port_name"}):
					keepPort = true
				case r.TargetLabel == "node" && slices.Equal(r.SourceLabels, []string{"__meta_kubernetes_pod_node_name"}):
					node = true
				case r.TargetLabel == "namespace" || r.TargetLabel == "pod":
					t.Errorf("relabelling sets %s: it would rename the pod drop metrics' own label", r.TargetLabel)
				}
			}
			if !keepAgent || !keepPort || !node {
				t.Errorf("relabel_configs %s: keep the agents %v, keep their port %v, node from __meta_kubernetes_pod_node_name %v", dump(sc.RelabelConfigs), keepAgent, keepPort, node)
			}
			if name == "prometheus" && (cfg.Global == nil || cfg.Global.ExternalLabels["cluster"] == "") {
				t.Error("plain Prometheus config has no cluster external label")
			}
			if name == "ama-metrics" && cfg.Global != nil && cfg.Global.ExternalLabels["cluster"] != "" {
				t.Error("the Azure Monitor add-on sets `cluster` itself; the job must not")
			}
			promtoolCheck(t, text)
		})
	}
}

// promtoolCheck runs promtool check config on text with the Kubernetes
// discovery replaced by a static target.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	testenv.RequireCommands(t, "promtool")
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	for _, sc := range doc["scrape_configs"].([]any) {
		m := sc.(map[string]any)
		delete(m, "kubernetes_sd_configs")
		m["static_configs"] = []any{map[string]any{"targets": []any{"127.0.0.1:10095"}}}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("promtool", "check", "config", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s\n%s", err, out, b)
	}
}

func keysOf(m map[string]string) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}
