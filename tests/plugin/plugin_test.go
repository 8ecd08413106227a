// Package plugin_test checks the Grafana plugin as it ships: the dist/ tree
// that `npm run build` and `mage -v` produce, and the provisioning files that
// point Grafana at it.
package plugin_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"gopkg.in/yaml.v3"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/tests/testenv"
)

type pluginJSON struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Backend    bool   `json:"backend"`
	Executable string `json:"executable"`
	Alerting   bool   `json:"alerting"`
	Streaming  bool   `json:"streaming"`
	BuildMode  string `json:"buildMode"`
	Info       struct {
		Version string `json:"version"`
		Logos   struct {
			Small, Large string
		} `json:"logos"`
	} `json:"info"`
	Includes []struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Path     string `json:"path"`
		UID      string `json:"uid"`
		AddToNav bool   `json:"addToNav"`
	} `json:"includes"`
	Dependencies struct {
		GrafanaDependency string `json:"grafanaDependency"`
	} `json:"dependencies"`
}

func readPluginJSON(t *testing.T, path string) pluginJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (build the plugin first: npm run build && mage -v)", err)
	}
	var p pluginJSON
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// dist/ holds the app, the nested backend data source with binaries for every
// platform, the build manifest and the included dashboards; every include
// resolves to a file in dist/.
func TestDistLayout(t *testing.T) {
	dist := filepath.Join(testenv.RepoRoot(t), "dist")
	app := readPluginJSON(t, filepath.Join(dist, "plugin.json"))
	ds := readPluginJSON(t, filepath.Join(dist, "datasource", "plugin.json"))

	if app.ID != "netlens-network-app" || app.Type != "app" {
		t.Errorf("app plugin.json: id %q type %q", app.ID, app.Type)
	}
	if ds.ID != "netlens-network-datasource" || ds.Type != "datasource" || !ds.Backend || !ds.Alerting || !ds.Streaming || ds.Executable != "gpx_netlens" {
		t.Errorf("data source plugin.json: %+v", ds)
	}
	for _, p := range []pluginJSON{app, ds} {
		if p.Info.Version == "" || strings.Contains(p.Info.Version, "%") || p.BuildMode != "production" {
			t.Errorf("%s: version %q buildMode %q not filled in by the build", p.ID, p.Info.Version, p.BuildMode)
		}
		if p.Dependencies.GrafanaDependency != app.Dependencies.GrafanaDependency || p.Dependencies.GrafanaDependency == "" {
			t.Errorf("%s: grafanaDependency %q (app says %q)", p.ID, p.Dependencies.GrafanaDependency, app.Dependencies.GrafanaDependency)
		}
	}

	files := []string{"module.js", "datasource/module.js", "img/logo.svg", "datasource/img/logo.svg", "go_plugin_build_manifest"}
	for _, osArch := range []string{"linux_amd64", "linux_arm64", "linux_arm", "darwin_amd64", "darwin_arm64", "windows_amd64.exe"} {
		files = append(files, "datasource/gpx_netlens_"+osArch)
	}
	var pageInNav bool
	for _, inc := range app.Includes {
		switch inc.Type {
		case "datasource", "dashboard":
			files = append(files, inc.Path)
		case "page":
			pageInNav = pageInNav || inc.AddToNav && strings.HasPrefix(inc.Path, "/a/")
		}
	}
	if !pageInNav {
		t.Error("the app has no page in Grafana's navigation")
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dist, f))
		if err != nil {
			t.Errorf("dist/%s missing: %v", f, err)
			continue
		}
		if strings.Contains(f, "gpx_") && fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("dist/%s is not executable (%v)", f, fi.Mode())
		}
	}
}

// Each dashboard the app includes is the dashboard file with the include's uid.
func TestIncludedDashboardsMatchTheirFiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	app := readPluginJSON(t, filepath.Join(root, "src", "plugin.json"))
	n := 0
	for _, inc := range app.Includes {
		if inc.Type != "dashboard" {
			continue
		}
		n++
		b, err := os.ReadFile(filepath.Join(root, inc.Path))
		if err != nil {
			t.Fatalf("include %q: %v", inc.Name, err)
		}
		var d struct {
			UID, Title string
			ID         *int
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", inc.Path, err)
		}
		if d.UID != inc.UID || d.Title != inc.Name || d.ID != nil {
			t.Errorf("%s: uid %q title %q id %v; include says uid %q name %q (and id must be null)", inc.Path, d.UID, d.Title, d.ID, inc.UID, inc.Name)
		}
	}
	if n == 0 {
		t.Fatal("the app includes no dashboard")
	}
}

// Provisioned Netlens data sources are valid for the backend, and the
// provisioned app is this app.
func TestProvisioningIsValid(t *testing.T) {
	root := testenv.RepoRoot(t)
	var apps struct {
		Apps []struct{ Type string } `yaml:"apps"`
	}
	readYAML(t, filepath.Join(root, "provisioning", "plugins", "apps.yaml"), &apps)
	if len(apps.Apps) != 1 || apps.Apps[0].Type != "netlens-network-app" {
		t.Fatalf("provisioned apps: %+v", apps.Apps)
	}

	var dss struct {
		Datasources []struct {
			Name, UID, Type, URL string
			JSONData             map[string]any    `yaml:"jsonData"`
			SecureJSONData       map[string]string `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(root, "provisioning", "datasources", "netlens.yaml"), &dss)
	var modes []string
	for _, ds := range dss.Datasources {
		if ds.Type != "netlens-network-datasource" {
			continue
		}
		js, err := json.Marshal(ds.JSONData)
		if err != nil {
			t.Fatal(err)
		}
		s, err := models.LoadSettings(backend.DataSourceInstanceSettings{UID: ds.UID, URL: ds.URL, JSONData: js, DecryptedSecureJSONData: ds.SecureJSONData})
		if err != nil {
			t.Errorf("provisioned data source %q is invalid: %v", ds.Name, err)
			continue
		}
		modes = append(modes, string(s.Mode))
	}
	slices.Sort(modes)
	if !slices.Equal(modes, []string{"direct", "prometheus"}) {
		t.Errorf("want one provisioned Netlens data source per mode, got modes %v", modes)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
