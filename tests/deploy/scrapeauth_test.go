//go:build linux

package deploy

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/promproc"
)

// commentedAuthorization is the commented `authorization` block each scrape
// file carries for agents with auth.metrics=true.
var commentedAuthorization = regexp.MustCompile(`(?m)^(\s*)# authorization:\n\s*#   credentials_file: (\S+)\n`)

// TestScrapeConfigsSendToken: with the chart's auth.metrics=true, the scrape
// jobs of deploy/scrape, with their commented authorization lines uncommented,
// scrape the rendered agent (which then refuses /metrics without the token);
// as shipped they need no token, like the chart's default. Debian's
// Prometheus runs each job once as documented and once as shipped, against a
// static target carrying the agent pod's discovery labels (it is built
// without Kubernetes discovery).
func TestScrapeConfigsSendToken(t *testing.T) {
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/scrape/ama-metrics-prometheus-config.yaml"), &cm); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, text string
		// credentialsDir is where the token file must be, if anywhere.
		credentialsDir string
	}{
		{"prometheus", string(readRepoFile(t, "deploy/scrape/prometheus.yaml")), ""},
		// The add-on mounts ama-metrics-mtls-secret there, and nothing else.
		{"ama-metrics", cm.Data["prometheus-config"], "/etc/prometheus/certs/"},
	}

	o := decodeAll(t, render(t, "", "--set", "auth.metrics=true"))
	ds := o.daemonSets[release]
	if ds == nil {
		t.Fatalf("no Linux DaemonSet %q", release)
	}
	secrets := map[string]map[string][]byte{}
	for _, s := range o.secrets {
		secrets[s.Name] = s.Data
	}
	agent := startRenderedAgent(t, o, ds, secrets)
	if code, _ := agent.get(t, "/metrics", ""); code != 401 {
		t.Fatalf("agent with auth.metrics=true answers /metrics without a token with %d, want 401", code)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, []byte(agent.token+"\n"))

	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			m := commentedAuthorization.FindStringSubmatch(f.text)
			if m == nil {
				t.Fatalf("no commented `authorization: credentials_file:` block for auth.metrics=true:\n%s", f.text)
			}
			if !strings.HasPrefix(m[2], f.credentialsDir) {
				t.Errorf("credentials_file %s is not under %s", m[2], f.credentialsDir)
			}
			documented := commentedAuthorization.ReplaceAllString(f.text, "${1}authorization:\n${1}  credentials_file: "+tokenFile+"\n")
			cfg := map[string]any{"global": map[string]any{"scrape_interval": "1s"}}
			var jobs []any
			for _, v := range []struct{ job, text string }{{"documented", documented}, {"shipped", f.text}} {
				var doc map[string]any
				if err := yaml.Unmarshal([]byte(v.text), &doc); err != nil {
					t.Fatal(err)
				}
				job := doc["scrape_configs"].([]any)[0].(map[string]any)
				job["job_name"] = v.job
				job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
				delete(job, "kubernetes_sd_configs")
				job["static_configs"] = []any{map[string]any{"targets": []any{agent.agent.Addr}, "labels": podDiscoveryLabels(ds)}}
				jobs = append(jobs, job)
			}
			cfg["scrape_configs"] = jobs
			b, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			prom := promproc.Start(t, promproc.Options{Config: string(b)})

			up := func(job string) (float64, bool) {
				s := prom.Instant(t, fmt.Sprintf(`up{job=%q}`, job))
				if len(s) != 1 {
					return 0, false
				}
				return s[0].Value, true
			}
			// Each job has scraped once when its `up` exists; wait for both.
			deadline := time.Now().Add(60 * time.Second)
			for {
				_, d := up("documented")
				_, s := up("shipped")
				if d && s {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Prometheus did not scrape both jobs within 60s (the relabelling dropped the target?):\n%s\n%s", b, prom.Log())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if v, _ := up("documented"); v != 1 {
				t.Errorf("the job with its authorization uncommented fails to scrape the agent (up %v):\n%s", v, b)
			}
			if v, _ := up("shipped"); v != 0 {
				t.Errorf("the job as shipped scrapes an agent with auth.metrics=true (up %v): the token is not checked?", v)
			}
			if s := prom.Instant(t, `netlens_agent_info{job="documented",node="`+testNode+`"}`); len(s) != 1 {
				t.Errorf("netlens_agent_info with node=%q: %v, want one series", testNode, s)
			}
		})
	}
}

// podDiscoveryLabels are the __meta_kubernetes_pod_* labels Kubernetes pod
// discovery gives a running agent pod of ds on testNode.
func podDiscoveryLabels(ds *appsv1.DaemonSet) map[string]any {
	l := map[string]any{
		"__meta_kubernetes_namespace":               namespace,
		"__meta_kubernetes_pod_phase":               "Running",
		"__meta_kubernetes_pod_node_name":           testNode,
		"__meta_kubernetes_pod_container_port_name": ds.Spec.Template.Spec.Containers[0].Ports[0].Name,
	}
	for k, v := range ds.Spec.Template.Labels {
		l["__meta_kubernetes_pod_label_"+invalidLabelChars.ReplaceAllString(k, "_")] = v
	}
	return l
}

var invalidLabelChars = regexp.MustCompile(`[^a-zA-Z0-9_]`)
