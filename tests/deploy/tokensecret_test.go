package deploy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

// TestTokenSecretKeptOnUpgrade: the generated token Secret keeps the token of
// the installed release. The chart's `lookup` reads the Secret from the
// cluster when helm renders with cluster access (install, upgrade); here helm
// renders against a fake Kubernetes API server that serves discovery and the
// one Secret, with `helm template --validate --dry-run=server --is-upgrade`:
// the rendering path of `helm upgrade`, without a release to upgrade.
func TestTokenSecretKeptOnUpgrade(t *testing.T) {
	const secretName, kept = release + "-token", "token-of-the-installed-release-0123456789"

	t.Run("kept", func(t *testing.T) {
		api := newFakeAPIServer(t, map[string]string{"token": base64.StdEncoding.EncodeToString([]byte(kept))})
		o := decodeAll(t, api.render(t))
		if got := tokenOf(t, o, secretName); got != kept {
			t.Errorf("upgrade rendered token %q, want the installed %q", got, kept)
		}
		if !api.asked(secretPath(secretName)) {
			t.Errorf("helm never asked the API server for the Secret; requests: %v", api.requests())
		}
	})
	t.Run("installed Secret without the key", func(t *testing.T) {
		api := newFakeAPIServer(t, map[string]string{"other": base64.StdEncoding.EncodeToString([]byte(kept))})
		if got := tokenOf(t, decodeAll(t, api.render(t)), secretName); len(got) < 32 || got == kept {
			t.Errorf("token %q, want a new random one", got)
		}
	})
	t.Run("first install", func(t *testing.T) {
		api := newFakeAPIServer(t, nil) // the Secret does not exist: 404
		first := tokenOf(t, decodeAll(t, api.render(t)), secretName)
		second := tokenOf(t, decodeAll(t, api.render(t)), secretName)
		if len(first) < 32 || first == second {
			t.Errorf("tokens of two first installs %q and %q: want random ones of 32 characters or more", first, second)
		}
	})
}

// TestNotes: what `helm install` prints says how to get the token, or warns
// that the API is open.
func TestNotes(t *testing.T) {
	for _, c := range []struct {
		name string
		set  []string
		want []string
	}{
		{"default", nil, []string{
			"/api/v1 requires a bearer token; /metrics, /healthz and /readyz do not",
			"kubectl -n netlens get secret netlens-token -o jsonpath='{.data.token}' | base64 -d",
			"(generated, kept across upgrades)",
			"secureJsonData.agentToken",
		}},
		{"existing Secret, metrics protected", []string{"auth.token.existingSecret=my-token,auth.token.secretKey=api,auth.metrics=true"}, []string{
			"/api/v1 requires a bearer token, and so does /metrics",
			"kubectl -n netlens get secret my-token -o jsonpath='{.data.api}' | base64 -d",
			"(yours: the agents wait until it exists)",
		}},
		{"token disabled", []string{"auth.token.enabled=false"}, []string{
			"WARNING: auth.token.enabled=false: /api/v1 answers anyone who reaches port 10095 of a node",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := newFakeAPIServer(t, nil)
			args := []string{"install", release, chartDir, "--namespace", namespace, "--dry-run=server", "--disable-openapi-validation"}
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			out := api.helm(t, args...)
			_, notes, ok := strings.Cut(out, "\nNOTES:\n")
			if !ok {
				t.Fatalf("no NOTES in the output of helm install:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			if warned := strings.Contains(notes, "WARNING"); warned != (c.name == "token disabled") {
				t.Errorf("NOTES warn = %v:\n%s", warned, notes)
			}
		})
	}
}

func tokenOf(t *testing.T, o *objects, name string) string {
	t.Helper()
	for _, s := range o.secrets {
		if s.Name == name {
			return string(s.Data["token"])
		}
	}
	t.Fatalf("no Secret %s rendered: %s", name, dump(o.secrets))
	return ""
}

func secretPath(name string) string {
	return "/api/v1/namespaces/" + namespace + "/secrets/" + name
}

// fakeAPIServer answers the discovery requests helm makes and GETs of one
// Secret (data nil: it does not exist); it records every request.
type fakeAPIServer struct {
	srv        *httptest.Server
	kubeconfig string
	mu         sync.Mutex
	paths      []string
}

func newFakeAPIServer(t *testing.T, secretData map[string]string) *fakeAPIServer {
	t.Helper()
	f := &fakeAPIServer{}
	resources := func(gv string, rs ...string) map[string]any {
		var list []map[string]any
		for _, r := range rs {
			name, kind, _ := strings.Cut(r, ":")
			namespaced := !strings.HasPrefix(name, "!")
			name = strings.TrimPrefix(name, "!")
			list = append(list, map[string]any{"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
				"verbs": []string{"get", "list", "watch", "create", "update", "patch", "delete"}})
		}
		return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}
	}
	group := func(name string) map[string]any {
		gv := map[string]string{"groupVersion": name + "/v1", "version": "v1"}
		return map[string]any{"name": name, "versions": []any{gv}, "preferredVersion": gv}
	}
	answers := map[string]any{
		"/version": map[string]string{"major": "1", "minor": "33", "gitVersion": "v" + kubeVersion, "platform": "linux/amd64"},
		"/api":     map[string]any{"kind": "APIVersions", "versions": []string{"v1"}, "serverAddressByClientCIDRs": []any{}},
		"/apis": map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{
			group("apps"), group("rbac.authorization.k8s.io"), group("monitoring.coreos.com")}},
		"/api/v1": resources("v1", "!namespaces:Namespace", "secrets:Secret", "configmaps:ConfigMap",
			"services:Service", "serviceaccounts:ServiceAccount"),
		"/apis/apps/v1": resources("apps/v1", "daemonsets:DaemonSet"),
		"/apis/rbac.authorization.k8s.io/v1": resources("rbac.authorization.k8s.io/v1",
			"!clusterroles:ClusterRole", "!clusterrolebindings:ClusterRoleBinding"),
		"/apis/monitoring.coreos.com/v1": resources("monitoring.coreos.com/v1",
			"servicemonitors:ServiceMonitor", "podmonitors:PodMonitor", "prometheusrules:PrometheusRule"),
	}
	if secretData != nil {
		answers[secretPath(release+"-token")] = map[string]any{"kind": "Secret", "apiVersion": "v1",
			"metadata": map[string]any{"name": release + "-token", "namespace": namespace}, "type": "Opaque", "data": secretData}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		a, ok := answers[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			a = map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
				"message": r.URL.Path + " not found"}
		}
		_ = json.NewEncoder(w).Encode(a)
	}))
	t.Cleanup(f.srv.Close)
	f.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: %s
users:
- name: fake
  user:
    token: fake
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
    namespace: %s
current-context: fake
`, f.srv.URL, namespace)
	if err := os.WriteFile(f.kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// render runs helm template with the chart's defaults against the server.
func (f *fakeAPIServer) render(t *testing.T) string {
	t.Helper()
	return f.helm(t, "template", release, chartDir, "--namespace", namespace,
		"--validate", "--dry-run=server", "--is-upgrade", "--disable-openapi-validation")
}

// helm runs helm with the server as its cluster and returns its standard output.
func (f *fakeAPIServer) helm(t *testing.T, args ...string) string {
	t.Helper()
	testenv.RequireCommands(t, "helm")
	cmd := exec.Command("helm", args...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+f.kubeconfig)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm %s: %v\n%s\nrequests: %v", strings.Join(args, " "), err, stderr, f.requests())
	}
	return string(out)
}

func (f *fakeAPIServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

func (f *fakeAPIServer) asked(path string) bool {
	for _, p := range f.requests() {
		if p == "GET "+path {
			return true
		}
	}
	return false
}
