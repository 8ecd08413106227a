//go:build linux

// Package controlplane runs a real Kubernetes control plane on loopback for
// the tests and the cluster-shaped local stack: Debian's etcd and
// kube-apiserver of the version client-go in go.mod speaks
// (scripts/build-controlplane.sh builds it once and caches it), with TLS,
// RBAC, the API server's default admission plugins (Pod Security among them)
// and a service-account token issuer.
//
// No controller-manager, scheduler or kubelet runs. Callers play them where
// it matters: they create the Pods a DaemonSet would, write pod status (IPs,
// phase) as a kubelet would (Kubelet), create each namespace's default
// ServiceAccount, and finalize deleted namespaces.
package controlplane

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// BinEnv names the directory holding kube-apiserver, kubectl and kube-router
// (what scripts/build-controlplane.sh prints); unset, that script is run.
const BinEnv = "NETLENS_CONTROLPLANE_BIN"

// readyTimeout bounds the wait for etcd and the API server to serve: about
// 6 s on an idle machine, far more on a loaded one.
const readyTimeout = 3 * time.Minute

// Options configure Start.
type Options struct {
	// Dir holds the data, certificates and logs; it must exist.
	Dir string
	// Bin is the directory of the binaries (BinDir).
	Bin string
	// ExtraAPIServerArgs are appended to the API server's flags.
	ExtraAPIServerArgs []string
}

// ControlPlane is a running etcd and API server.
type ControlPlane struct {
	// URL is the API server's https://127.0.0.1:<port>.
	URL string
	// CAFile is the CA that signed the API server's certificate.
	CAFile string
	// AdminToken authenticates as a member of system:masters.
	AdminToken string
	// AdminKubeconfig is a kubeconfig file for AdminToken.
	AdminKubeconfig string
	// Admin is a client acting as the cluster's administrator.
	Admin kubernetes.Interface

	opts      Options
	pki       pki
	etcdURL   string
	apiArgs   []string
	etcd, api *process
}

// BinDir returns the directory of the control plane's binaries: $BinEnv, or
// what scripts/build-controlplane.sh under repo prints (it builds them the
// first time, for many minutes).
func BinDir(repo string) (string, error) {
	if d := os.Getenv(BinEnv); d != "" {
		return d, nil
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "build-controlplane.sh"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/build-controlplane.sh: %v\n%s", err, stderr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", errors.New("scripts/build-controlplane.sh printed no directory")
	}
	return lines[len(lines)-1], nil
}

// Start runs etcd and the API server and returns when the API server is
// ready. Stop ends both.
func Start(opts Options) (*ControlPlane, error) {
	if _, err := exec.LookPath("etcd"); err != nil {
		return nil, fmt.Errorf("etcd not found on PATH (Debian's etcd-server): %w", err)
	}
	for _, b := range []string{"kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(opts.Bin, b)); err != nil {
			return nil, fmt.Errorf("the control plane's binaries: %w", err)
		}
	}
	c := &ControlPlane{opts: opts}
	var err error
	if c.pki, err = newPKI(opts.Dir); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	c.CAFile = c.pki.caFile
	c.AdminToken = randomToken()
	tokens := filepath.Join(opts.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.AdminToken+`,netlens-test-admin,netlens-test-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	c.etcd, err = startProcess(filepath.Join(opts.Dir, "etcd.log"), "etcd",
		"--name=default", "--data-dir="+filepath.Join(opts.Dir, "etcd"),
		"--listen-client-urls="+c.etcdURL, "--advertise-client-urls="+c.etcdURL,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer, "--initial-cluster=default="+peer,
		"--logger=zap", "--log-level=warn")
	if err != nil {
		return nil, err
	}
	if err := waitFor(c.etcd, "etcd", func() error { return c.etcdHealthy() }); err != nil {
		c.etcd.stop()
		return nil, err
	}

	c.apiArgs = append([]string{
		"--etcd-servers=" + c.etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(ports[2]),
		"--tls-cert-file=" + c.pki.certFile, "--tls-private-key-file=" + c.pki.keyFile, "--client-ca-file=" + c.pki.caFile,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		// The default admission plugins stay on: NamespaceLifecycle,
		// ServiceAccount, PodSecurity, ResourceQuota and the rest.
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pki.saPublic, "--service-account-signing-key-file=" + c.pki.saPrivate,
		"--service-cluster-ip-range=10.96.0.0/16",
		// A loopback advertise address cannot be reconciled into the
		// kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none",
		// The agent's DaemonSet is not privileged, but the chart lets users
		// add to it; the Pod Security level, not this flag, is under test.
		"--allow-privileged=true",
		"--profiling=false",
	}, opts.ExtraAPIServerArgs...)
	if err := c.startAPIServer(); err != nil {
		c.etcd.stop()
		return nil, err
	}
	c.AdminKubeconfig = filepath.Join(opts.Dir, "admin.kubeconfig")
	if err := c.WriteKubeconfig(c.AdminKubeconfig, c.AdminToken); err != nil {
		c.Stop()
		return nil, err
	}
	cfg := c.RESTConfig(c.AdminToken)
	// The tests create thousands of objects; client-go's default of 5/s is
	// meant for controllers.
	cfg.QPS, cfg.Burst = 1000, 2000
	if c.Admin, err = kubernetes.NewForConfig(cfg); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *ControlPlane) startAPIServer() error {
	var err error
	c.api, err = startProcess(filepath.Join(c.opts.Dir, "kube-apiserver.log"), filepath.Join(c.opts.Bin, "kube-apiserver"), c.apiArgs...)
	if err != nil {
		return err
	}
	if err := waitFor(c.api, "kube-apiserver", c.apiReady); err != nil {
		c.api.stop()
		return err
	}
	return nil
}

// RestartAPIServer stops the API server (its clients' watches break) and
// starts it again on the same address and etcd; between the two, between
// runs before it starts again (compact etcd, say).
func (c *ControlPlane) RestartAPIServer(between func() error) error {
	c.api.stop()
	if between != nil {
		if err := between(); err != nil {
			return err
		}
	}
	return c.startAPIServer()
}

// CompactEtcd compacts etcd's history up to its current revision, so that a
// watch resuming from an older resource version is told it is too old (410
// Gone) and must list again, as after a long disconnection on a real cluster.
func (c *ControlPlane) CompactEtcd() error {
	var rng struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	// The v3 gRPC gateway: a range over one key returns the store's revision.
	if err := postJSON(c.etcdURL+"/v3/kv/range", `{"key":"AA=="}`, &rng); err != nil {
		return err
	}
	if rng.Header.Revision == "" {
		return errors.New("etcd returned no revision")
	}
	return postJSON(c.etcdURL+"/v3/kv/compaction", fmt.Sprintf(`{"revision":%q,"physical":true}`, rng.Header.Revision), nil)
}

// Stop ends the API server and then etcd (stopped together, the API server
// may hang past SIGTERM).
func (c *ControlPlane) Stop() {
	if c.api != nil {
		c.api.stop()
	}
	if c.etcd != nil {
		c.etcd.stop()
	}
}

// PeakMemory says how much memory etcd and the API server have used at
// most (VmHWM), while they run.
func (c *ControlPlane) PeakMemory() string {
	var parts []string
	for _, p := range []*process{c.etcd, c.api} {
		if p == nil || p.exited() {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				parts = append(parts, p.name+" "+strings.TrimSpace(v))
			}
		}
	}
	return "peak RSS: " + strings.Join(parts, ", ")
}

// Logs is the tail of both processes' logs, for a failed test.
func (c *ControlPlane) Logs() string {
	var b strings.Builder
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		data, _ := os.ReadFile(filepath.Join(c.opts.Dir, name))
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", name, data)
	}
	return b.String()
}

// RESTConfig is a client configuration authenticating with token.
func (c *ControlPlane) RESTConfig(token string) *rest.Config {
	return &rest.Config{Host: c.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}, UserAgent: "netlens-tests"}
}

// WriteKubeconfig writes a kubeconfig file for token to path.
func (c *ControlPlane) WriteKubeconfig(path, token string) error {
	return c.WriteKubeconfigVia(path, c.URL, token)
}

// WriteKubeconfigVia is WriteKubeconfig for a client that reaches the API
// server at another URL (through a forwarder into a network namespace); the
// server's certificate names 127.0.0.1, so the URL's host must be that.
func (c *ControlPlane) WriteKubeconfigVia(path, server, token string) error {
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return err
	}
	// JSON is YAML: no YAML library needed, and no quoting surprises.
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "netlens-test",
		"clusters": []any{map[string]any{"name": "netlens-test", "cluster": map[string]any{
			"server": server, "certificate-authority-data": ca}}},
		"users": []any{map[string]any{"name": "netlens-test", "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "netlens-test", "context": map[string]any{
			"cluster": "netlens-test", "user": "netlens-test"}}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func (c *ControlPlane) etcdHealthy() error {
	resp, err := http.Get(c.etcdURL + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"true"`)) {
		return fmt.Errorf("etcd /health: %d %s", resp.StatusCode, body)
	}
	return nil
}

func (c *ControlPlane) apiReady() error {
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/readyz", nil)
	req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %d %s", resp.StatusCode, body)
	}
	return nil
}

// process is a child process with its output in a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func startProcess(logPath, bin string, args ...string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	p := &process{name: filepath.Base(bin), cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = log, log
	// Its own process group: stopping it stops what it started.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); log.Close(); close(p.done) }()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, and SIGKILL to the group if it is still there after 20 s.
func (p *process) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// waitFor polls ready until it succeeds, the process exits or readyTimeout passes.
func waitFor(p *process, what string, ready func() error) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%v): see its log", what, p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", what, readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func postJSON(url, body string, into any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServiceAccountKubeconfig writes a kubeconfig to path that authenticates as
// the ServiceAccount namespace/name with a token the API server issues for
// it (TokenRequest, as the kubelet projects into the pod), valid for an hour.
func (c *ControlPlane) ServiceAccountKubeconfig(ctx context.Context, path, namespace, name string) error {
	hour := int64(3600)
	tr, err := c.Admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	return c.WriteKubeconfig(path, tr.Status.Token)
}
