//go:build linux

package deploy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/tests/agentproc"
)

// testNode is the node name the test's "kubelet" gives the pod (spec.nodeName).
const testNode = "node-under-test"

// TestRenderedAgentAuth runs the real agent binary the way the rendered Linux
// DaemonSet runs it, and checks what an unauthenticated client on the node's
// network gets: the chart's default must protect /api/v1 (drop events carry
// addresses, ports and pod names of every flow), keep the probes open for the
// kubelet, and treat /metrics as the rendered configuration says.
//
// The test plays the kubelet: each volume of the pod becomes a directory
// (ConfigMap and Secret keys as files, hostPath volumes empty), the paths in
// the arguments and the configuration file point into them instead of the
// mount paths, and $(VAR) in the arguments is expanded from the container's
// environment. Two flags are added on the command line, which wins over the
// file: --listen-address 127.0.0.1:0 (the pod listens on the node's port
// 10095) and --drop-source=none (the HTTP server is under test, not the
// kernel hooks; tests/drops loads those).
func TestRenderedAgentAuth(t *testing.T) {
	cases := []struct {
		name, file string
		// manifest, when set, is a committed rendered file used instead of
		// rendering the chart with file.
		manifest string
		// provided are the Secrets the values name but the chart does not
		// create (existingSecret); the test makes them.
		provided func(t *testing.T) map[string]map[string][]byte
	}{
		{name: "default"},
		{name: "tls-token", file: "ci/tls-token-values.yaml", provided: func(t *testing.T) map[string]map[string][]byte {
			cert, key := selfSignedCert(t)
			return map[string]map[string][]byte{"netlens-tls": {"tls.crt": cert, "tls.key": key}}
		}},
		{name: "monitors", file: "ci/monitors-values.yaml", provided: func(*testing.T) map[string]map[string][]byte {
			return map[string]map[string][]byte{"my-netlens-token": {"api-token": []byte("existing-secret-token-0123456789abcdef\n")}}
		}},
		// kubectl users create the Secret the manifests name (docs/install.md).
		{name: "manifests", manifest: "deploy/manifests/netlens.yaml", provided: func(*testing.T) map[string]map[string][]byte {
			return map[string]map[string][]byte{"netlens-token": {"token": []byte("0123456789abcdef0123456789abcdef\n")}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o *objects
			if c.manifest != "" {
				o = decodeAll(t, string(readRepoFile(t, c.manifest)))
			} else {
				o = decodeAll(t, render(t, c.file))
			}
			ds := o.daemonSets[release]
			if ds == nil {
				t.Fatalf("no Linux DaemonSet %q", release)
			}
			secrets := map[string]map[string][]byte{}
			for _, s := range o.secrets {
				secrets[s.Name] = s.Data
			}
			if c.provided != nil {
				for name, data := range c.provided(t) {
					if _, ok := secrets[name]; ok {
						t.Fatalf("Secret %s is rendered by the chart and provided by the test", name)
					}
					secrets[name] = data
				}
			}
			pod := startRenderedAgent(t, o, ds, secrets)
			checkAgentAuth(t, pod)
			checkMonitorScrapes(t, pod, o, secrets)
		})
	}
}

// renderedAgent is a running agent started from a rendered DaemonSet.
type renderedAgent struct {
	agent  *agentproc.Agent
	base   string // scheme://host:port
	client *http.Client
	config map[string]string // the agent configuration file, raw values
	// token is the content of the Secret key the agent's --token-file is
	// mounted from ("" when the rendered agent has no token).
	token string
	ctr   *corev1.Container
}

// startRenderedAgent mounts ds's volumes into temporary directories, rewrites
// the mount paths in the arguments and the configuration file, and starts
// the agent binary with them.
func startRenderedAgent(t *testing.T, o *objects, ds *appsv1.DaemonSet, secrets map[string]map[string][]byte) *renderedAgent {
	t.Helper()
	ctr := container(t, ds)
	volumes := map[string]corev1.Volume{}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}

	// Each mount's directory on this machine, by mount path.
	dirs := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Fatalf("mount %s names no volume of the pod", m.Name)
		}
		dirs[m.MountPath] = t.TempDir()
	}
	local := func(p string) string { return localPath(dirs, p) }

	var configFile, renderedConfig string
	for _, m := range ctr.VolumeMounts {
		v, dir := volumes[m.Name], dirs[m.MountPath]
		switch {
		case v.ConfigMap != nil:
			cm := o.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("volume %s: ConfigMap %s is not rendered", v.Name, v.ConfigMap.Name)
			}
			for k, text := range cm.Data {
				if k == "config.yaml" {
					renderedConfig = text
					text = configPathLine.ReplaceAllStringFunc(text, func(line string) string {
						key, val, _ := strings.Cut(line, ": ")
						return key + ": " + local(strings.Trim(val, `"'`))
					})
					configFile = filepath.Join(dir, k)
				}
				writeFile(t, filepath.Join(dir, k), []byte(text))
			}
		case v.Secret != nil:
			data, ok := secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("volume %s: Secret %s is neither rendered nor provided by the test", v.Name, v.Secret.SecretName)
			}
			for k, b := range data {
				writeFile(t, filepath.Join(dir, k), b)
			}
		case v.HostPath != nil:
			// An empty directory stands for the node's.
		default:
			t.Fatalf("volume %s: unexpected source %s (add it to the test)", v.Name, dump(v.VolumeSource))
		}
	}
	if configFile == "" {
		t.Fatal("no agent configuration file mounted")
	}

	env := map[string]string{}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = testNode
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		default:
			t.Fatalf("env %s: unexpected source %s (add it to the test)", e.Name, dump(e.ValueFrom))
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	// Not in a cluster: the agent must not look for a service account.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")

	var args []string
	for _, a := range ctr.Args {
		a = envReference.ReplaceAllStringFunc(a, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
		if flag, val, ok := strings.Cut(a, "="); ok {
			a = flag + "=" + local(val)
		}
		args = append(args, a)
	}
	args = append(args, "--drop-source=none")

	r := &renderedAgent{ctr: ctr, config: parseConfig(renderedConfig)}
	if f := r.config["token-file"]; f != "" {
		r.token = secretKeyAt(t, ctr, volumes, secrets, f)
	}
	r.client = &http.Client{Timeout: 30 * time.Second}
	scheme := "http"
	if f := r.config["tls-cert-file"]; f != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(readFile(t, local(f))) {
			t.Fatalf("tls-cert-file %s holds no PEM certificate", f)
		}
		r.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
		scheme = "https"
	}
	r.agent = agentproc.Start(t, args...)
	r.base = scheme + "://" + r.agent.Addr
	t.Cleanup(r.client.CloseIdleConnections)
	return r
}

// checkAgentAuth checks what the rendered agent answers with no token, a
// wrong token and the Secret's token.
func checkAgentAuth(t *testing.T, r *renderedAgent) {
	t.Helper()
	// The kubelet's probes, as rendered, carry no token.
	for _, p := range []*corev1.Probe{r.ctr.LivenessProbe, r.ctr.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Fatal("probe without httpGet")
		}
		if code, body := r.get(t, p.HTTPGet.Path, ""); code != http.StatusOK {
			t.Errorf("probe GET %s without a token: %d %s, want 200", p.HTTPGet.Path, code, body)
		}
	}

	// Every /api/v1 endpoint refuses a client without the token.
	if r.token == "" {
		t.Errorf("the rendered agent configuration has no token-file: /api/v1 is open to every pod (config %v)", r.config)
	}
	for _, path := range []string{"/api/v1/status", "/api/v1/reasons", "/api/v1/series?match=netlens_agent_info", "/api/v1/events"} {
		if code, body := r.get(t, path, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d %.200s, want 401", path, code, body)
		}
		if code, body := r.get(t, path, "wrong-"+r.token); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d %.200s, want 401", path, code, body)
		}
	}
	if r.token == "" {
		return
	}
	code, body := r.get(t, "/api/v1/status", r.token)
	var st api.Status
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /api/v1/status with the Secret's token: %d %.300s, want 200 and a status", code, body)
	}
	if st.Node != testNode {
		t.Errorf("status node %q, want %q (--node-name=$(NODE_NAME) from spec.nodeName)", st.Node, testNode)
	}
	if code, body := r.get(t, "/api/v1/reasons", r.token); code != http.StatusOK {
		t.Errorf("GET /api/v1/reasons with the Secret's token: %d %.200s", code, body)
	}

	// /metrics: open unless the configuration asks for the token.
	if r.config["metrics-auth"] == "true" {
		if code, _ := r.get(t, "/metrics", ""); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics without a token: %d, want 401 (metrics-auth: true)", code)
		}
		if code, _ := r.get(t, "/metrics", r.token); code != http.StatusOK {
			t.Errorf("GET /metrics with the token: %d, want 200", code)
		}
	} else if code, _ := r.get(t, "/metrics", ""); code != http.StatusOK {
		t.Errorf("GET /metrics without a token: %d, want 200 (metrics-auth: %q)", code, r.config["metrics-auth"])
	}
}

// checkMonitorScrapes scrapes the agent the way each rendered ServiceMonitor
// and PodMonitor tells the Prometheus Operator to: its path, with the bearer
// token of the Secret key its authorization names (none without one).
func checkMonitorScrapes(t *testing.T, r *renderedAgent, o *objects, secrets map[string]map[string][]byte) {
	t.Helper()
	for _, m := range append(append([]monitor(nil), o.serviceMonitors...), o.podMonitors...) {
		for _, ep := range append(m.Spec.Endpoints, m.Spec.PodMetricsEndpoints...) {
			token := ""
			if a := ep.Authorization; a != nil {
				if a.Type != "Bearer" || a.Credentials == nil {
					t.Errorf("%s: authorization %s, want Bearer credentials from a Secret", m.Kind, dump(a))
					continue
				}
				b, ok := secrets[a.Credentials.Name][a.Credentials.Key]
				if !ok {
					t.Errorf("%s: authorization names Secret %s key %s, which does not exist", m.Kind, a.Credentials.Name, a.Credentials.Key)
					continue
				}
				token = strings.TrimSpace(string(b))
			}
			if code, body := r.get(t, ep.Path, token); code != http.StatusOK {
				t.Errorf("%s scrape of %s (token sent: %v): %d %.200s, want 200", m.Kind, ep.Path, token != "", code, body)
			}
		}
	}
}

// get requests path with token as bearer token ("" sends none).
func (r *renderedAgent) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, "(event stream)"
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

var (
	// configPathLine matches a line of the configuration file whose value is
	// an absolute path (possibly quoted).
	configPathLine = regexp.MustCompile(`(?m)^[a-z0-9-]+: ["']?/.*$`)
	// envReference is a Kubernetes $(VAR) reference in an argument.
	envReference = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_]*\)`)
)

// localPath maps a path inside the container to this machine's directory of
// the volume mounted there (the longest mount path that holds it); other
// values are returned as they are.
func localPath(dirs map[string]string, p string) string {
	best := ""
	for mp := range dirs {
		if (p == mp || strings.HasPrefix(p, mp+"/")) && len(mp) > len(best) {
			best = mp
		}
	}
	if best == "" {
		return p
	}
	return dirs[best] + strings.TrimPrefix(p, best)
}

// parseConfig reads the flat `key: value` configuration file the chart
// renders, values as written (unquoted).
func parseConfig(text string) map[string]string {
	cfg := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			cfg[k] = strings.Trim(v, `"'`)
		}
	}
	return cfg
}

// secretKeyAt follows a path inside the container to the Secret volume
// mounted there and returns that Secret's value for the key the path names:
// what the kubelet would put in that file.
func secretKeyAt(t *testing.T, ctr *corev1.Container, volumes map[string]corev1.Volume, secrets map[string]map[string][]byte, p string) string {
	t.Helper()
	for _, m := range ctr.VolumeMounts {
		key, ok := strings.CutPrefix(p, m.MountPath+"/")
		if !ok || strings.Contains(key, "/") {
			continue
		}
		v := volumes[m.Name]
		if v.Secret == nil {
			t.Fatalf("%s is in volume %s, which is not a Secret", p, m.Name)
		}
		val, ok := secrets[v.Secret.SecretName][key]
		if !ok {
			t.Fatalf("%s: Secret %s has no key %q", p, v.Secret.SecretName, key)
		}
		return strings.TrimSpace(string(val))
	}
	t.Fatalf("%s is in no mounted volume", p)
	return ""
}

func readFile(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(file, b, 0o400); err != nil {
		t.Fatal(err)
	}
}

// selfSignedCert returns a PEM certificate for 127.0.0.1 and its key.
func selfSignedCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "netlens-agent"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
