package deploy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// linuxCapabilities is exactly what the Linux agent is given on kernels 5.8 and
// later (deploy/helm/netlens/values.yaml says why each one).
var linuxCapabilities = []string{"BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE", "SYSLOG"}

// allowedHostPaths are the node paths the Linux agent may mount, and how.
var allowedHostPaths = map[string]struct {
	hostType  corev1.HostPathType
	readOnly  bool
	mountPath string
}{
	"/sys/fs/bpf":         {corev1.HostPathDirectoryOrCreate, false, "/host/sys/fs/bpf"},
	"/sys/kernel/tracing": {corev1.HostPathDirectory, true, "/sys/kernel/tracing"},
	"/var/lib/netlens":    {corev1.HostPathDirectoryOrCreate, false, "/var/lib/netlens"},
}

// chartCase is what one value set must render to.
type chartCase struct {
	name, file    string
	windows       bool
	tls           bool
	token         bool   // auth.token.enabled
	tokenSecret   string // Secret holding the token
	tokenKey      string
	generated     bool // the chart generates the token Secret
	metricsAuth   bool
	sysAdmin      bool
	pinning       bool
	stateDir      bool
	monitors      bool
	cluster       string
	priorityClass string
}

var chartCases = []chartCase{
	// The default protects /api/v1 with a generated token and leaves /metrics open.
	{name: "default", token: true, tokenSecret: "netlens-token", tokenKey: "token", generated: true,
		pinning: true, stateDir: true, priorityClass: "system-node-critical"},
	{name: "windows", file: "ci/windows-values.yaml", windows: true, token: true, tokenSecret: "netlens-token", tokenKey: "token", generated: true,
		pinning: true, stateDir: true, priorityClass: "system-node-critical"},
	{name: "tls-token", file: "ci/tls-token-values.yaml", windows: true, tls: true, token: true, tokenSecret: "netlens-token", tokenKey: "token",
		generated: true, metricsAuth: true, sysAdmin: true, pinning: true, stateDir: true, priorityClass: "system-node-critical"},
	{name: "monitors", file: "ci/monitors-values.yaml", token: true, tokenSecret: "my-netlens-token", tokenKey: "api-token",
		metricsAuth: true, monitors: true, cluster: "aks-prod-westeurope"},
}

// TestChart renders the chart with each value set, decodes every document
// strictly into the Kubernetes API types and checks the deployment's contract:
// least privilege, every node covered, probes, discovery Service, read-only RBAC,
// token and TLS wiring, and the scrape labels.
func TestChart(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			o := decodeAll(t, render(t, c.file))
			portName := "http"
			if c.tls {
				portName = "https"
			}

			linux := o.daemonSets[release]
			if linux == nil {
				t.Fatalf("no Linux DaemonSet %q", release)
			}
			checkLinuxDaemonSet(t, c, linux, portName)
			win := o.daemonSets[release+"-windows"]
			if (win != nil) != c.windows {
				t.Fatalf("Windows DaemonSet present = %v, want %v", win != nil, c.windows)
			}
			if win != nil {
				checkWindowsDaemonSet(t, c, win, portName)
			}
			checkRBAC(t, o)
			checkService(t, o, portName)
			checkConfigMaps(t, c, o)
			checkSecrets(t, c, o)
			checkMonitors(t, c, o, portName)
		})
	}
}

func container(t *testing.T, ds *appsv1.DaemonSet) *corev1.Container {
	t.Helper()
	if n := len(ds.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%s: %d containers, want 1", ds.Name, n)
	}
	if n := len(ds.Spec.Template.Spec.InitContainers); n != 0 {
		t.Fatalf("%s: %d init containers, want none", ds.Name, n)
	}
	return &ds.Spec.Template.Spec.Containers[0]
}

// checkCommon checks what both DaemonSets share: every node, rolling updates,
// the node name, the config file, probes and the port.
func checkCommon(t *testing.T, c chartCase, ds *appsv1.DaemonSet, os, portName string) {
	t.Helper()
	spec := ds.Spec.Template.Spec
	if got := spec.NodeSelector["kubernetes.io/os"]; got != os {
		t.Errorf("%s: nodeSelector kubernetes.io/os = %q, want %q", ds.Name, got, os)
	}
	if c.name != "monitors" && !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Operator == corev1.TolerationOpExists && tl.Key == "" && tl.Effect == ""
	}) {
		t.Errorf("%s: no toleration of every taint (operator Exists, no key): %s", ds.Name, dump(spec.Tolerations))
	}
	if spec.PriorityClassName != c.priorityClass {
		t.Errorf("%s: priorityClassName %q, want %q", ds.Name, spec.PriorityClassName, c.priorityClass)
	}
	if !spec.HostNetwork {
		t.Errorf("%s: hostNetwork false: the collectors must read the node's network namespace", ds.Name)
	}
	us := ds.Spec.UpdateStrategy
	if us.Type != appsv1.RollingUpdateDaemonSetStrategyType || us.RollingUpdate == nil || us.RollingUpdate.MaxUnavailable == nil {
		t.Errorf("%s: updateStrategy %s, want RollingUpdate with maxUnavailable", ds.Name, dump(us))
	}
	sel, err := metav1LabelSelector(ds)
	if err != nil || !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		t.Errorf("%s: selector %v does not match the pod template's labels %v (%v)", ds.Name, ds.Spec.Selector, ds.Spec.Template.Labels, err)
	}
	if spec.ServiceAccountName != release {
		t.Errorf("%s: serviceAccountName %q, want %q", ds.Name, spec.ServiceAccountName, release)
	}

	ctr := container(t, ds)
	if !strings.HasSuffix(ctr.Image, ":0.1.0") {
		t.Errorf("%s: image %q, want the chart's appVersion as tag", ds.Name, ctr.Image)
	}
	var nodeName bool
	for _, e := range ctr.Env {
		if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
			nodeName = true
		}
	}
	if !nodeName {
		t.Errorf("%s: no NODE_NAME from fieldRef spec.nodeName: %s", ds.Name, dump(ctr.Env))
	}
	if !slices.Contains(ctr.Args, "--node-name=$(NODE_NAME)") {
		t.Errorf("%s: args %q lack --node-name=$(NODE_NAME)", ds.Name, ctr.Args)
	}
	// --config names a file in the mounted ConfigMap.
	cfgArg := ""
	for _, a := range ctr.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			cfgArg = v
		}
	}
	cfgMount := mountOf(ctr, "config")
	cfgVol := volumeOf(ds, "config")
	switch {
	case cfgArg == "":
		t.Errorf("%s: no --config argument: %q", ds.Name, ctr.Args)
	case cfgMount == nil || cfgVol == nil || cfgVol.ConfigMap == nil:
		t.Errorf("%s: no config volume from a ConfigMap mounted", ds.Name)
	case cfgArg != cfgMount.MountPath+"/config.yaml" || !cfgMount.ReadOnly:
		t.Errorf("%s: --config=%s but the ConfigMap is mounted at %s (readOnly %v)", ds.Name, cfgArg, cfgMount.MountPath, cfgMount.ReadOnly)
	}

	if len(ctr.Ports) != 1 || ctr.Ports[0].Name != portName || ctr.Ports[0].ContainerPort != 10095 {
		t.Errorf("%s: ports %s, want %s 10095", ds.Name, dump(ctr.Ports), portName)
	}
	scheme := corev1.URISchemeHTTP
	if c.tls {
		scheme = corev1.URISchemeHTTPS
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{ctr.LivenessProbe, "/healthz"}, {ctr.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP probe on %s", ds.Name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || g.Port.String() != portName || g.Scheme != scheme {
			t.Errorf("%s: probe %s, want GET %s %s on port %s", ds.Name, dump(g), scheme, p.path, portName)
		}
	}
	if ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Requests.Memory().IsZero() ||
		ctr.Resources.Limits.Cpu().IsZero() || ctr.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources %s, want requests and limits for cpu and memory", ds.Name, dump(ctr.Resources))
	}
	checkSecretMounts(t, c, ds)
}

func metav1LabelSelector(ds *appsv1.DaemonSet) (labels.Selector, error) {
	return labelSelectorAsSelector(ds.Spec.Selector)
}

var labelSelectorAsSelector = metav1.LabelSelectorAsSelector

func mountOf(ctr *corev1.Container, name string) *corev1.VolumeMount {
	for i := range ctr.VolumeMounts {
		if ctr.VolumeMounts[i].Name == name {
			return &ctr.VolumeMounts[i]
		}
	}
	return nil
}

func volumeOf(ds *appsv1.DaemonSet, name string) *corev1.Volume {
	for i := range ds.Spec.Template.Spec.Volumes {
		if ds.Spec.Template.Spec.Volumes[i].Name == name {
			return &ds.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// checkSecretMounts: the token and TLS Secrets are mounted read-only where the
// agent's configuration says, and only when enabled.
func checkSecretMounts(t *testing.T, c chartCase, ds *appsv1.DaemonSet) {
	t.Helper()
	ctr := &ds.Spec.Template.Spec.Containers[0]
	for _, s := range []struct {
		volume, secret string
		enabled        bool
	}{{"token", c.tokenSecret, c.token}, {"tls", "netlens-tls", c.tls}} {
		v, m := volumeOf(ds, s.volume), mountOf(ctr, s.volume)
		if !s.enabled {
			if v != nil || m != nil {
				t.Errorf("%s: %s volume mounted although disabled", ds.Name, s.volume)
			}
			continue
		}
		if v == nil || v.Secret == nil || v.Secret.SecretName != s.secret || m == nil || !m.ReadOnly {
			t.Errorf("%s: %s: want Secret %s mounted read-only, got volume %s mount %s", ds.Name, s.volume, s.secret, dump(v), dump(m))
		}
	}
}

func checkLinuxDaemonSet(t *testing.T, c chartCase, ds *appsv1.DaemonSet, portName string) {
	t.Helper()
	checkCommon(t, c, ds, "linux", portName)
	spec := ds.Spec.Template.Spec
	if spec.HostPID || spec.HostIPC {
		t.Errorf("hostPID %v hostIPC %v, want both false", spec.HostPID, spec.HostIPC)
	}
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		t.Errorf("Linux pod with windowsOptions")
	}

	ctr := container(t, ds)
	sc := ctr.SecurityContext
	if sc == nil {
		t.Fatal("Linux container without securityContext")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("Linux container is privileged")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem not true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Errorf("runAsUser %v, want 0 (root: bpffs, tracefs, capabilities)", sc.RunAsUser)
	}
	if sc.Capabilities == nil {
		t.Fatal("no capabilities: want drop ALL and the agent's set added")
	}
	if len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("capabilities.drop %v, want [ALL]", sc.Capabilities.Drop)
	}
	want := slices.Clone(linuxCapabilities)
	if c.sysAdmin {
		want = append(want, "SYS_ADMIN")
	}
	var got []string
	for _, cp := range sc.Capabilities.Add {
		got = append(got, string(cp))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("capabilities.add %v, want exactly %v", got, want)
	}
	if spec.SecurityContext == nil || spec.SecurityContext.SeccompProfile == nil ||
		spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile %s, want RuntimeDefault", dump(spec.SecurityContext))
	}

	// Host paths: only the allowed ones, with their type and read-only-ness;
	// nothing of the host's /proc (hostNetwork gives /proc/net of the node).
	mounted := map[string]bool{}
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		a, ok := allowedHostPaths[v.HostPath.Path]
		if !ok {
			t.Errorf("unexpected hostPath volume %s: %s", v.Name, v.HostPath.Path)
			continue
		}
		mounted[v.HostPath.Path] = true
		if v.HostPath.Type == nil || *v.HostPath.Type != a.hostType {
			t.Errorf("hostPath %s: type %v, want %s", v.HostPath.Path, v.HostPath.Type, a.hostType)
		}
		m := mountOf(ctr, v.Name)
		if m == nil {
			t.Errorf("hostPath volume %s not mounted", v.Name)
			continue
		}
		if m.ReadOnly != a.readOnly || m.MountPath != a.mountPath {
			t.Errorf("hostPath %s mounted at %s readOnly %v, want %s readOnly %v", v.HostPath.Path, m.MountPath, m.ReadOnly, a.mountPath, a.readOnly)
		}
		if m.MountPropagation != nil && *m.MountPropagation == corev1.MountPropagationBidirectional {
			t.Errorf("hostPath %s with Bidirectional propagation (needs privileged)", v.HostPath.Path)
		}
	}
	if mounted["/sys/fs/bpf"] != c.pinning {
		t.Errorf("bpffs mounted = %v, want %v", mounted["/sys/fs/bpf"], c.pinning)
	}
	if mounted["/var/lib/netlens"] != c.stateDir {
		t.Errorf("state dir mounted = %v, want %v", mounted["/var/lib/netlens"], c.stateDir)
	}
	if m := mountOf(ctr, "bpffs"); m != nil && (m.MountPropagation == nil || *m.MountPropagation != corev1.MountPropagationHostToContainer) {
		t.Errorf("bpffs mount propagation %v, want HostToContainer", m.MountPropagation)
	}
}

func checkWindowsDaemonSet(t *testing.T, c chartCase, ds *appsv1.DaemonSet, portName string) {
	t.Helper()
	checkCommon(t, c, ds, "windows", portName)
	spec := ds.Spec.Template.Spec
	wo := spec.SecurityContext
	if wo == nil || wo.WindowsOptions == nil || wo.WindowsOptions.HostProcess == nil || !*wo.WindowsOptions.HostProcess {
		t.Fatalf("Windows pod is not a HostProcess pod: %s", dump(wo))
	}
	if u := wo.WindowsOptions.RunAsUserName; u == nil || *u != `NT AUTHORITY\SYSTEM` {
		t.Errorf("runAsUserName %v, want NT AUTHORITY\\SYSTEM", u)
	}
	ctr := container(t, ds)
	if ctr.SecurityContext != nil && ctr.SecurityContext.Capabilities != nil {
		t.Error("Windows container with Linux capabilities")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("Windows pod mounts hostPath %s (a HostProcess container sees the node's files)", v.HostPath.Path)
		}
	}
	if strings.Contains(ctr.Image, "netlens-agent:") {
		t.Errorf("Windows DaemonSet uses the Linux image %s", ctr.Image)
	}
}

// checkRBAC: a ServiceAccount bound to a ClusterRole that only reads.
func checkRBAC(t *testing.T, o *objects) {
	t.Helper()
	if len(o.serviceAccounts) != 1 || o.serviceAccounts[0].Name != release {
		t.Errorf("ServiceAccounts %s, want one named %s", dump(o.serviceAccounts), release)
	}
	if len(o.clusterRoles) != 1 || len(o.clusterRoleBindings) != 1 {
		t.Fatalf("%d ClusterRoles, %d ClusterRoleBindings, want 1 and 1", len(o.clusterRoles), len(o.clusterRoleBindings))
	}
	want := map[string][]string{ // group/resource -> verbs
		"/pods":            {"list", "watch"},
		"apps/replicasets": {"get"},
		"batch/jobs":       {"get"},
	}
	got := map[string][]string{}
	for _, r := range o.clusterRoles[0].Rules {
		if len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
			t.Errorf("unexpected rule %s", dump(r))
		}
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("ClusterRole grants %q (only get, list and watch are allowed): %s", v, dump(r))
			}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				got[g+"/"+res] = append(got[g+"/"+res], r.Verbs...)
			}
		}
	}
	for k, verbs := range want {
		g := slices.Clone(got[k])
		slices.Sort(g)
		w := slices.Clone(verbs)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("ClusterRole on %s: verbs %v, want %v", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("ClusterRole covers %v, want exactly %v", got, want)
	}
	b := o.clusterRoleBindings[0]
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != o.clusterRoles[0].Name ||
		len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != release || b.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding %s does not bind the ClusterRole to %s/%s", dump(b), namespace, release)
	}
}

// checkService: a headless Service selecting every agent pod (Linux and
// Windows) with the agent's port, for DNS discovery.
func checkService(t *testing.T, o *objects, portName string) {
	t.Helper()
	if len(o.services) != 1 {
		t.Fatalf("%d Services, want 1", len(o.services))
	}
	s := o.services[0]
	if s.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service clusterIP %q, want None (headless)", s.Spec.ClusterIP)
	}
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != portName || s.Spec.Ports[0].Port != 10095 || s.Spec.Ports[0].TargetPort.String() != portName {
		t.Errorf("Service ports %s, want %s 10095", dump(s.Spec.Ports), portName)
	}
	sel := labels.SelectorFromSet(s.Spec.Selector)
	for _, ds := range o.daemonSets {
		if !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
			t.Errorf("Service selector %v does not select %s's pods %v", s.Spec.Selector, ds.Name, ds.Spec.Template.Labels)
		}
	}
}

// checkSecrets: the token Secret exists when the chart generates it, holds a
// long token, and none is rendered otherwise.
func checkSecrets(t *testing.T, c chartCase, o *objects) {
	t.Helper()
	if !c.generated {
		if len(o.secrets) != 0 {
			t.Errorf("unexpected Secrets: %s", dump(o.secrets))
		}
		return
	}
	if len(o.secrets) != 1 || o.secrets[0].Name != c.tokenSecret {
		t.Fatalf("Secrets %s, want the generated %s", dump(o.secrets), c.tokenSecret)
	}
	if tok := o.secrets[0].Data[c.tokenKey]; len(tok) < 32 {
		t.Errorf("generated token %q is shorter than 32 bytes", tok)
	}
}

// checkMonitors: ServiceMonitor and PodMonitor scrape the agents' port, add
// `node` from the pod's node name and `cluster`, and send the token when
// /metrics needs it.
func checkMonitors(t *testing.T, c chartCase, o *objects, portName string) {
	t.Helper()
	if !c.monitors {
		if len(o.serviceMonitors)+len(o.podMonitors) != 0 {
			t.Error("monitors rendered although disabled")
		}
		return
	}
	if len(o.serviceMonitors) != 1 || len(o.podMonitors) != 1 {
		t.Fatalf("%d ServiceMonitors, %d PodMonitors, want 1 and 1", len(o.serviceMonitors), len(o.podMonitors))
	}
	svcSel := labels.SelectorFromSet(o.services[0].Labels)
	for _, m := range []monitor{o.serviceMonitors[0], o.podMonitors[0]} {
		eps := m.Spec.Endpoints
		if m.Kind == "PodMonitor" {
			eps = m.Spec.PodMetricsEndpoints
			sel, err := labelSelectorAsSelector(&m.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(o.daemonSets[release].Spec.Template.Labels)) {
				t.Errorf("PodMonitor selector %v does not select the agent pods (%v)", m.Spec.Selector, err)
			}
		} else {
			if len(eps) != 0 && m.Spec.Endpoints[0].HonorLabels {
				t.Error("honorLabels would let scraped labels override node")
			}
			sel, err := labelSelectorAsSelector(&m.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(o.services[0].Labels)) {
				t.Errorf("ServiceMonitor selector %v does not select the Service %v (%v)", m.Spec.Selector, svcSel, err)
			}
		}
		if m.Metadata.Labels["release"] != "kube-prometheus-stack" && m.Kind == "ServiceMonitor" {
			t.Errorf("ServiceMonitor labels %v lack serviceMonitor.labels", m.Metadata.Labels)
		}
		if !slices.Equal(m.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
			t.Errorf("%s namespaceSelector %v, want [%s]", m.Kind, m.Spec.NamespaceSelector.MatchNames, namespace)
		}
		if len(eps) != 1 {
			t.Fatalf("%s: %d endpoints, want 1", m.Kind, len(eps))
		}
		ep := eps[0]
		if ep.Port != portName || ep.Path != "/metrics" {
			t.Errorf("%s endpoint %s, want port %s path /metrics", m.Kind, dump(ep), portName)
		}
		var node, cluster, dropsNamespace bool
		for _, r := range ep.Relabelings {
			if r.TargetLabel == "node" && slices.Equal(r.SourceLabels, []string{"__meta_kubernetes_pod_node_name"}) && (r.Action == "" || r.Action == "replace") {
				node = true
			}
			if r.TargetLabel == "cluster" && r.Replacement != nil && *r.Replacement == c.cluster && (r.Action == "" || r.Action == "replace") {
				cluster = true
			}
			if r.Action == "labeldrop" && strings.Contains(r.Regex, "namespace") {
				dropsNamespace = true
			}
		}
		if !node || !cluster {
			t.Errorf("%s relabelings %s: node from __meta_kubernetes_pod_node_name %v, cluster=%q %v", m.Kind, dump(ep.Relabelings), node, c.cluster, cluster)
		}
		if !dropsNamespace {
			t.Errorf("%s keeps the target's namespace label, which would rename the pod drop metrics' own namespace label", m.Kind)
		}
		if c.metricsAuth {
			a := ep.Authorization
			if a == nil || a.Type != "Bearer" || a.Credentials == nil || a.Credentials.Name != c.tokenSecret || a.Credentials.Key != c.tokenKey {
				t.Errorf("%s: authorization %s, want Bearer from Secret %s key %s", m.Kind, dump(a), c.tokenSecret, c.tokenKey)
			}
		}
	}
}

// configOf returns the agent configuration file of a ConfigMap as a map.
func configOf(t *testing.T, cm *corev1.ConfigMap) map[string]any {
	t.Helper()
	raw, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml: %v", cm.Name, cm.Data)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("ConfigMap %s: config.yaml is not YAML: %v\n%s", cm.Name, err, raw)
	}
	return cfg
}

// checkConfigMaps: each DaemonSet's ConfigMap holds a config file whose paths
// agree with the mounts (token, TLS, bpffs, state).
func checkConfigMaps(t *testing.T, c chartCase, o *objects) {
	t.Helper()
	for _, ds := range o.daemonSets {
		vol := volumeOf(ds, "config")
		if vol == nil || vol.ConfigMap == nil {
			continue // reported by checkCommon
		}
		cm := o.configMaps[vol.ConfigMap.Name]
		if cm == nil {
			t.Errorf("%s mounts ConfigMap %s, which is not rendered", ds.Name, vol.ConfigMap.Name)
			continue
		}
		cfg := configOf(t, cm)
		ctr := &ds.Spec.Template.Spec.Containers[0]
		under := func(key, volume string) {
			t.Helper()
			p, _ := cfg[key].(string)
			m := mountOf(ctr, volume)
			if m == nil || (p != m.MountPath && !strings.HasPrefix(p, m.MountPath+"/")) {
				t.Errorf("%s: %s: %q is not in the %s volume's mount %s", ds.Name, key, p, volume, dump(m))
			}
		}
		if c.token {
			under("token-file", "token")
			if p, _ := cfg["token-file"].(string); !strings.HasSuffix(p, "/"+c.tokenKey) {
				t.Errorf("%s: token-file %q does not name the Secret key %s", ds.Name, p, c.tokenKey)
			}
			if cfg["metrics-auth"] != c.metricsAuth {
				t.Errorf("%s: metrics-auth %v, want %v", ds.Name, cfg["metrics-auth"], c.metricsAuth)
			}
		} else if _, ok := cfg["token-file"]; ok {
			t.Errorf("%s: token-file set although the token is disabled", ds.Name)
		}
		if c.tls {
			under("tls-cert-file", "tls")
			under("tls-key-file", "tls")
		}
		if cfg["listen-address"] != ":10095" {
			t.Errorf("%s: listen-address %v, want :10095", ds.Name, cfg["listen-address"])
		}
		if ds.Name != release {
			for _, k := range []string{"bpffs-path", "state-dir", "procfs-path", "drop-source"} {
				if _, ok := cfg[k]; ok {
					t.Errorf("%s: Linux-only key %s in the Windows configuration", ds.Name, k)
				}
			}
			continue
		}
		if c.pinning {
			under("bpffs-path", "bpffs")
		} else if cfg["bpffs-path"] != "" {
			t.Errorf("bpffs-path %v, want \"\" (pinning disabled)", cfg["bpffs-path"])
		}
		if c.stateDir {
			under("state-dir", "state")
		} else if cfg["state-dir"] != "" {
			t.Errorf("state-dir %v, want \"\" (disabled)", cfg["state-dir"])
		}
		if cfg["procfs-path"] != "/proc" {
			t.Errorf("procfs-path %v, want /proc (hostNetwork: the container's /proc/net is the node's)", cfg["procfs-path"])
		}
	}
}
