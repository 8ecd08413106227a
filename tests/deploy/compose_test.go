package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"sigs.k8s.io/yaml"

	"github.com/netlens/netlens/tests/testenv"
)

// The fields of the Compose specification docker-compose.yaml uses, spelled as
// Compose spells them, so that strict decoding catches a typo (add a field here
// when the file starts using it).
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
}

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string            `json:"context"`
		Dockerfile string            `json:"dockerfile"`
		Args       map[string]string `json:"args,omitempty"`
	} `json:"build,omitempty"`
	Command     []string          `json:"command,omitempty"`
	Environment map[string]string `json:"environment,omitempty"`
	Volumes     []string          `json:"volumes,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	ExtraHosts  []string          `json:"extra_hosts,omitempty"`
	NetworkMode string            `json:"network_mode,omitempty"`
	Pid         string            `json:"pid,omitempty"`
	Privileged  bool              `json:"privileged,omitempty"`
	ReadOnly    bool              `json:"read_only,omitempty"`
	Restart     string            `json:"restart,omitempty"`
	DependsOn   []string          `json:"depends_on,omitempty"`
	User        string            `json:"user,omitempty"`
	Healthcheck map[string]any    `json:"healthcheck,omitempty"`
}

// bindMount is one short-syntax volume, source:target[:mode].
type bindMount struct{ source, target string }

func (s composeService) mounts(t *testing.T, name string) []bindMount {
	t.Helper()
	var out []bindMount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("service %s: volume %q is not source:target[:mode]", name, v)
		}
		out = append(out, bindMount{parts[0], parts[1]})
	}
	return out
}

// hostPathOf returns the bind source mounted at a container path, or at a
// directory above it (then with the rest of the path appended).
func (s composeService) hostPathOf(t *testing.T, name, containerPath string) (string, bool) {
	t.Helper()
	best := bindMount{}
	for _, m := range s.mounts(t, name) {
		if (containerPath == m.target || strings.HasPrefix(containerPath, m.target+"/")) && len(m.target) > len(best.target) {
			best = m
		}
	}
	if best.target == "" {
		return "", false
	}
	return best.source + strings.TrimPrefix(containerPath, best.target), true
}

// flag returns the value of --name=value in a command, or "".
func flagOf(cmd []string, name string) string {
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

var composeDefault = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]+)\}`)

// pluginIDs returns the ids Grafana must allow unsigned: the app's and those
// of the plugins it nests (src/plugin.json includes with a plugin.json path).
func pluginIDs(t *testing.T) (app string, all []string) {
	t.Helper()
	var p struct {
		ID           string `json:"id"`
		Includes     []struct{ Type, Path string }
		Dependencies struct {
			GrafanaDependency string `json:"grafanaDependency"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(readRepoFile(t, "src/plugin.json"), &p); err != nil {
		t.Fatalf("src/plugin.json: %v", err)
	}
	all = []string{p.ID}
	for _, inc := range p.Includes {
		if !strings.HasSuffix(inc.Path, "plugin.json") {
			continue
		}
		var nested struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(readRepoFile(t, filepath.Join("src", inc.Path)), &nested); err != nil {
			t.Fatalf("src/%s: %v", inc.Path, err)
		}
		all = append(all, nested.ID)
	}
	slices.Sort(all)
	return p.ID, all
}

// version parses "12.4.0" into comparable numbers.
func version(t *testing.T, v string) [3]int {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("%q is not a version x.y.z", v)
	}
	var out [3]int
	for i := range out {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	return out
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// TestCompose checks docker-compose.yaml against the repository, since no
// Docker daemon runs here: the plugin mount and the unsigned plugin ids, every
// mounted local path, the provisioning Grafana reads, the Prometheus scrape job
// and rules, the agent's build, privileges, mounts and flags, and that the
// provisioned data sources' URLs are the compose services' addresses.
func TestCompose(t *testing.T) {
	root := testenv.RepoRoot(t)
	var cf composeFile
	if err := yaml.UnmarshalStrict(readRepoFile(t, "docker-compose.yaml"), &cf); err != nil {
		t.Fatalf("docker-compose.yaml does not decode strictly (add new fields to composeService): %v", err)
	}
	for _, name := range []string{"grafana", "prometheus", "agent"} {
		if _, ok := cf.Services[name]; !ok {
			t.Fatalf("no service %q in docker-compose.yaml", name)
		}
	}
	grafana, prom, agent := cf.Services["grafana"], cf.Services["prometheus"], cf.Services["agent"]

	// Every local bind source exists (Docker would otherwise create an empty
	// directory and the service would see nothing).
	for name, s := range cf.Services {
		for _, m := range s.mounts(t, name) {
			if !strings.HasPrefix(m.source, "./") {
				if !strings.HasPrefix(m.source, "/") {
					t.Errorf("service %s: volume source %q is neither ./relative nor an absolute host path (no named volumes)", name, m.source)
				}
				continue
			}
			if _, err := os.Stat(filepath.Join(root, m.source)); err != nil {
				t.Errorf("service %s mounts %s, which does not exist in the repository: %v", name, m.source, err)
			}
		}
	}

	appID, ids := pluginIDs(t)
	t.Run("grafana", func(t *testing.T) {
		checkComposeGrafana(t, root, grafana, appID, ids)
	})
	t.Run("prometheus", func(t *testing.T) {
		checkComposePrometheus(t, root, prom, agent)
	})
	t.Run("agent", func(t *testing.T) {
		checkComposeAgent(t, root, agent)
	})
	t.Run("datasources", func(t *testing.T) {
		checkComposeDatasources(t, cf, grafana, agent)
	})
}

func checkComposeGrafana(t *testing.T, root string, g composeService, appID string, ids []string) {
	image, tag, _ := strings.Cut(g.Image, ":")
	if m := composeDefault.FindStringSubmatch(tag); m != nil {
		tag = m[1]
	}
	if image != "grafana/grafana" {
		t.Errorf("Grafana image %q, want grafana/grafana", image)
	}
	v := version(t, tag)
	var p struct {
		Dependencies struct {
			GrafanaDependency string `json:"grafanaDependency"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(readRepoFile(t, "src/plugin.json"), &p); err != nil {
		t.Fatal(err)
	}
	minimum := version(t, strings.TrimLeft(p.Dependencies.GrafanaDependency, ">= "))
	// The major the plugin declares and is tested on (README: Grafana versions).
	if v[0] != minimum[0] || versionLess(v, minimum) {
		t.Errorf("Grafana %s: want a pinned %d.x at least %v (src/plugin.json grafanaDependency %q)", tag, minimum[0], minimum, p.Dependencies.GrafanaDependency)
	}

	// The built plugin is mounted where Grafana looks for plugins, under the app's id.
	pluginDir := "/var/lib/grafana/plugins/" + appID
	src, ok := g.hostPathOf(t, "grafana", pluginDir)
	if !ok || path.Clean(src) != "dist" {
		t.Errorf("%s is mounted from %q, want ./dist (the plugin build output, .config/bundler DIST_DIR)", pluginDir, src)
	} else if b, err := os.ReadFile(filepath.Join(root, "dist", "plugin.json")); err != nil {
		t.Errorf("dist/plugin.json: %v (build the plugin: npm run build && mage -v)", err)
	} else {
		var built struct{ ID string }
		if err := json.Unmarshal(b, &built); err != nil || built.ID != appID {
			t.Errorf("dist/plugin.json id %q (%v), want %s", built.ID, err, appID)
		}
	}

	var unsigned []string
	for _, id := range strings.Split(g.Environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"], ",") {
		if id = strings.TrimSpace(id); id != "" {
			unsigned = append(unsigned, id)
		}
	}
	slices.Sort(unsigned)
	if !slices.Equal(unsigned, ids) {
		t.Errorf("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS %v, want exactly the app and its nested plugins %v (src/plugin.json)", unsigned, ids)
	}

	// Grafana reads each provisioning folder of the repository.
	for _, dir := range []string{"plugins", "datasources", "dashboards", "alerting"} {
		src, ok := g.hostPathOf(t, "grafana", "/etc/grafana/provisioning/"+dir)
		if !ok || path.Clean(src) != "provisioning/"+dir {
			t.Errorf("/etc/grafana/provisioning/%s is mounted from %q, want ./provisioning/%s", dir, src, dir)
		}
	}
	checkDashboardProviders(t, root, g, appID)
}

// checkDashboardProviders: every dashboard file provider reads a folder the
// compose file mounts from the repository; folders and uids are unique; the
// app's own dashboards come from the app, not from a provider (two owners of
// one uid), and the app includes every one of them.
func checkDashboardProviders(t *testing.T, root string, g composeService, appID string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "provisioning", "dashboards", "*.y*ml"))
	if len(files) == 0 {
		t.Fatal("no dashboard provisioning in provisioning/dashboards")
	}
	folders := map[string]bool{}
	provided := map[string]bool{} // repository folders read by a provider
	for _, f := range files {
		var doc struct {
			APIVersion int `json:"apiVersion"`
			Providers  []struct {
				Name                  string `json:"name"`
				OrgID                 int    `json:"orgId"`
				Type                  string `json:"type"`
				Folder                string `json:"folder"`
				FolderUID             string `json:"folderUid"`
				DisableDeletion       bool   `json:"disableDeletion"`
				AllowUIUpdates        bool   `json:"allowUiUpdates"`
				UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
				Options               struct {
					Path                      string `json:"path"`
					FoldersFromFilesStructure bool   `json:"foldersFromFilesStructure"`
				} `json:"options"`
			} `json:"providers"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, &doc); err != nil {
			t.Fatalf("%s does not decode strictly as dashboard provisioning: %v", f, err)
		}
		if doc.APIVersion != 1 || len(doc.Providers) == 0 {
			t.Errorf("%s: apiVersion %d, %d providers", f, doc.APIVersion, len(doc.Providers))
		}
		for _, p := range doc.Providers {
			if p.Type != "file" || p.Folder == "" || folders[p.Folder] || !grafanaUID.MatchString(p.FolderUID) {
				t.Errorf("%s: provider %s: type %q folder %q uid %q: want a file provider with its own folder and a valid folder uid", f, p.Name, p.Type, p.Folder, p.FolderUID)
			}
			folders[p.Folder] = true
			src, ok := g.hostPathOf(t, "grafana", p.Options.Path)
			if !ok || !strings.HasPrefix(src, "./") {
				t.Errorf("%s: provider %s reads %s, which docker-compose.yaml does not mount from the repository", f, p.Name, p.Options.Path)
				continue
			}
			rel := path.Clean(src)
			provided[rel] = true
			if rel == "dashboards" {
				t.Errorf("%s: provider %s reads the app's dashboards/ (and every folder below it): the app imports those itself", f, p.Name)
			}
		}
	}
	for _, dir := range []string{"dashboards/prometheus", "dashboards/aks"} {
		if !provided[dir] {
			t.Errorf("no dashboard provider reads %s", dir)
		}
	}

	// Dashboards: unique uids across every folder; the app includes each of its own.
	var p struct {
		Includes []struct{ Type, Path string }
	}
	if err := json.Unmarshal(readRepoFile(t, "src/plugin.json"), &p); err != nil {
		t.Fatal(err)
	}
	included := map[string]bool{}
	for _, inc := range p.Includes {
		if inc.Type == "dashboard" {
			included[path.Base(inc.Path)] = true
		}
	}
	uids := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "dashboards"), func(file string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(file, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, file)
		var dash struct {
			UID string `json:"uid"`
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &dash); err != nil || dash.UID == "" {
			t.Errorf("%s: no dashboard uid (%v)", rel, err)
			return nil
		}
		if other, dup := uids[dash.UID]; dup {
			t.Errorf("%s and %s have the same uid %s", rel, other, dash.UID)
		}
		uids[dash.UID] = rel
		if filepath.Dir(rel) == "dashboards" && !included[filepath.Base(rel)] {
			t.Errorf("%s is an app dashboard (dashboards/*.json) that src/plugin.json does not include: %s never gets it", rel, appID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// composePromConfig is the part of provisioning/prometheus/prometheus.yaml the
// checks read (promtool validates all of it).
type composePromConfig struct {
	Global struct {
		ScrapeInterval string `json:"scrape_interval"`
	} `json:"global"`
	RuleFiles     []string `json:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `json:"job_name"`
		StaticConfigs []struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		} `json:"static_configs"`
	} `json:"scrape_configs"`
}

func checkComposePrometheus(t *testing.T, root string, p, agent composeService) {
	if !strings.HasPrefix(p.Image, "prom/prometheus:v3.") {
		t.Errorf("Prometheus image %q, want a pinned prom/prometheus:v3.x", p.Image)
	}
	cfgPath := flagOf(p.Command, "config.file")
	if cfgPath == "" {
		cfgPath = "/etc/prometheus/prometheus.yml"
	}
	src, ok := p.hostPathOf(t, "prometheus", cfgPath)
	if !ok || !strings.HasPrefix(src, "./") {
		t.Fatalf("the Prometheus configuration %s is not mounted from the repository", cfgPath)
	}
	text := readRepoFile(t, path.Clean(src))
	var cfg composePromConfig
	if err := yaml.Unmarshal(text, &cfg); err != nil {
		t.Fatalf("%s: %v", src, err)
	}

	// The agent's port and node name, as the agent service starts it.
	agentPort := "10095"
	if la := flagOf(agent.Command, "listen-address"); la != "" {
		_, agentPort, _ = net.SplitHostPort(la)
	}
	var job bool
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "netlens" {
			continue
		}
		job = true
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil || host != "host.docker.internal" || port != agentPort {
					t.Errorf("job netlens target %q, want host.docker.internal:%s (the agent on the host's network)", target, agentPort)
				}
			}
			if node := flagOf(agent.Command, "node-name"); st.Labels["node"] == "" || st.Labels["node"] != node {
				t.Errorf("job netlens adds node=%q, the agent runs with --node-name=%q: both data source modes should name the node alike", st.Labels["node"], node)
			}
		}
	}
	if !job {
		t.Errorf("%s has no scrape job named netlens (the alert NetlensAgentDown watches up{job=\"netlens\"})", src)
	}
	if !slices.Contains(p.ExtraHosts, "host.docker.internal:host-gateway") {
		t.Errorf("prometheus extra_hosts %v lack host.docker.internal:host-gateway", p.ExtraHosts)
	}

	// The alert rules are loaded: a rule file mounted from deploy/rules.
	var rules bool
	hostRules := map[string]string{}
	for _, rf := range cfg.RuleFiles {
		src, ok := p.hostPathOf(t, "prometheus", rf)
		if !ok || !strings.HasPrefix(src, "./") {
			t.Errorf("rule file %s is not mounted from the repository", rf)
			continue
		}
		hostRules[rf] = filepath.Join(root, path.Clean(src))
		if path.Clean(src) == rulesFile {
			rules = true
		}
	}
	if !rules {
		t.Errorf("rule_files %v: none is %s", cfg.RuleFiles, rulesFile)
	}

	// The data sources state the scrape interval.
	for uid, ds := range provisionedDatasources(t) {
		want, _ := time.ParseDuration(cfg.Global.ScrapeInterval)
		switch {
		case ds.Type == "prometheus":
			if got, _ := time.ParseDuration(fmt.Sprint(ds.JSONData["timeInterval"])); got != want {
				t.Errorf("data source %s: timeInterval %v, Prometheus scrapes every %s", uid, ds.JSONData["timeInterval"], cfg.Global.ScrapeInterval)
			}
		case ds.JSONData["mode"] == "prometheus":
			if got, _ := ds.JSONData["scrapeIntervalSeconds"].(float64); time.Duration(got)*time.Second != want {
				t.Errorf("data source %s: scrapeIntervalSeconds %v, Prometheus scrapes every %s", uid, ds.JSONData["scrapeIntervalSeconds"], cfg.Global.ScrapeInterval)
			}
		}
	}

	// promtool checks the configuration and, through it, the rule files (at
	// their repository paths instead of the container's).
	testenv.RequireCommands(t, "promtool")
	var doc map[string]any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	var files []any
	for _, rf := range cfg.RuleFiles {
		files = append(files, hostRules[rf])
	}
	doc["rule_files"] = files
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

func checkComposeAgent(t *testing.T, root string, a composeService) {
	if a.Build == nil || path.Clean(a.Build.Context) != "." || a.Build.Dockerfile != "deploy/docker/Dockerfile" {
		t.Errorf("agent build %s, want context . and dockerfile deploy/docker/Dockerfile", dump(a.Build))
	} else if _, err := os.Stat(filepath.Join(root, a.Build.Dockerfile)); err != nil {
		t.Error(err)
	}
	if !a.Privileged || a.NetworkMode != "host" || a.Pid != "host" {
		t.Errorf("agent privileged %v network_mode %q pid %q, want privileged on the host's network and PID namespace", a.Privileged, a.NetworkMode, a.Pid)
	}
	if len(a.Ports) != 0 {
		t.Errorf("agent ports %v: with network_mode host the agent listens on the host directly", a.Ports)
	}

	// Every argument is one of the agent's flags.
	flags := agentFlags(t)
	for _, arg := range a.Command {
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || !flags[name] {
			t.Errorf("agent argument %q is not a flag of netlens-agent", arg)
		}
	}

	// The host paths the agent needs, at the paths its flags name.
	mounted := map[string]bindMount{}
	for _, m := range a.mounts(t, "agent") {
		mounted[m.target] = m
	}
	for _, want := range []string{"/sys/kernel/tracing", "/sys/fs/bpf"} {
		if m, ok := mounted[want]; !ok || m.source != want {
			t.Errorf("agent does not mount the host's %s at %s", want, want)
		}
	}
	for _, f := range []string{"bpffs-path", "state-dir"} {
		p := flagOf(a.Command, f)
		if p == "" {
			t.Errorf("agent: --%s not set", f)
			continue
		}
		src, ok := a.hostPathOf(t, "agent", p)
		if !ok || !strings.HasPrefix(src, "/") {
			t.Errorf("agent: --%s=%s is not on a host path mount (it would be lost with the container)", f, p)
		}
	}
	if !slices.Contains(a.Volumes, "/sys/kernel/tracing:/sys/kernel/tracing:ro") {
		t.Errorf("agent: tracefs should be mounted read-only (the agent only reads it): %v", a.Volumes)
	}
}

// checkComposeDatasources: each provisioned data source's URL is a compose
// service on the port it listens on, or the agent on the Docker host.
func checkComposeDatasources(t *testing.T, cf composeFile, grafana, agent composeService) {
	agentPort := "10095"
	if la := flagOf(agent.Command, "listen-address"); la != "" {
		_, agentPort, _ = net.SplitHostPort(la)
	}
	// The port each service listens on inside the compose network.
	listens := map[string]string{"grafana": "3000", "prometheus": "9090"}
	if la := flagOf(cf.Services["prometheus"].Command, "web.listen-address"); la != "" {
		_, listens["prometheus"], _ = net.SplitHostPort(la)
	}
	check := func(ds provisionedDatasource, raw string) {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Errorf("data source %s: URL %q", ds.UID, raw)
			return
		}
		host, port := u.Hostname(), u.Port()
		switch {
		case host == "host.docker.internal":
			if agent.NetworkMode != "host" || port != agentPort {
				t.Errorf("data source %s: %s, but the agent listens on the host's :%s (network_mode %q)", ds.UID, raw, agentPort, agent.NetworkMode)
			}
			if !slices.Contains(grafana.ExtraHosts, "host.docker.internal:host-gateway") {
				t.Errorf("data source %s reads %s, but grafana has no extra_hosts host.docker.internal:host-gateway", ds.UID, raw)
			}
		default:
			s, ok := cf.Services[host]
			if !ok || s.NetworkMode == "host" {
				t.Errorf("data source %s: host %q of %s is not a compose service on the compose network", ds.UID, host, raw)
			} else if port != listens[host] {
				t.Errorf("data source %s: %s, but %s listens on %s", ds.UID, raw, host, listens[host])
			}
		}
	}
	for _, ds := range provisionedDatasources(t) {
		if ds.URL != "" {
			check(ds, ds.URL)
		}
		if urls, ok := ds.JSONData["agentUrls"].([]any); ok {
			for _, u := range urls {
				check(ds, fmt.Sprint(u))
			}
		}
	}
}

// TestComposeConfig validates docker-compose.yaml as `docker compose config`
// does (no daemon needed): with compose-go, the Compose specification's
// loader at the version Docker Compose v5.6.0 loads files with (schema,
// interpolation, normalization, consistency of services, networks and
// volumes). A broken copy shows the check can fail.
func TestComposeConfig(t *testing.T) {
	root := testenv.RepoRoot(t)
	load := func(file string) error {
		opts, err := cli.NewProjectOptions([]string{file}, cli.WithWorkingDirectory(root), cli.WithOsEnv, cli.WithName("netlens"))
		if err != nil {
			return err
		}
		_, err = opts.LoadProject(context.Background())
		return err
	}
	if err := load(filepath.Join(root, "docker-compose.yaml")); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for bogus, want := range map[string]string{
		"    restrt: always\n":      "restrt",  // not a key of the schema
		"    networks: [nowhere]\n": "nowhere", // a network the file does not define
	} {
		f := filepath.Join(t.TempDir(), "docker-compose.yaml")
		broken := strings.Replace(string(b), "services:\n", "services:\n  bogus:\n    image: x\n"+bogus, 1)
		if err := os.WriteFile(f, []byte(broken), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := load(f); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a service with %q: %v, want an error naming %s", strings.TrimSpace(bogus), err, want)
		}
	}
}
