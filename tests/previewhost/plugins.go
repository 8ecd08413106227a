package previewhost

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// plugin is one plugin of the built dist/: the app at its root, and the
// plugins nested in it (the data source, the panel), each with its own
// plugin.json, served under /public/plugins/<id>/ as Grafana serves them.
type plugin struct {
	ID   string
	Type string
	Name string
	// Dir is the plugin's directory, relative to dist/ ("" for the app).
	Dir string
	// JSON is the plugin.json as built.
	JSON map[string]any
	// parent is the app's id for a nested plugin.
	parent string
}

// baseURL is where Grafana serves the plugin's files, without a leading slash
// as Grafana's settings give it: a nested plugin's under its parent's, as
// Grafana's asset paths do (the files are also served under its own id).
func (p plugin) baseURL() string {
	if p.parent != "" {
		return "public/plugins/" + p.parent + "/" + p.Dir
	}
	return "public/plugins/" + p.ID
}

// module is the plugin's entry point (module.js), as Grafana's settings give it.
func (p plugin) module() string { return p.baseURL() + "/module.js" }

func (p plugin) info() map[string]any {
	info, _ := p.JSON["info"].(map[string]any)
	if info == nil {
		info = map[string]any{}
	}
	// Logo paths are relative to the plugin's directory in plugin.json and
	// absolute in what Grafana answers.
	if logos, ok := info["logos"].(map[string]any); ok {
		abs := map[string]any{}
		for k, v := range logos {
			if s, ok := v.(string); ok && !strings.HasPrefix(s, "public/") {
				v = p.baseURL() + "/" + s
			}
			abs[k] = v
		}
		info["logos"] = abs
	}
	return info
}

// readPlugins finds every plugin.json under dist.
func readPlugins(dist string) ([]plugin, error) {
	// dist itself may be a link (to another tree's build); WalkDir follows none.
	if real, err := filepath.EvalSymlinks(dist); err == nil {
		dist = real
	}
	var out []plugin
	err := filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "plugin.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var js map[string]any
		if err := json.Unmarshal(b, &js); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dist, filepath.Dir(p))
		if rel == "." {
			rel = ""
		}
		pl := plugin{Dir: filepath.ToSlash(rel), JSON: js}
		pl.ID, _ = js["id"].(string)
		pl.Type, _ = js["type"].(string)
		pl.Name, _ = js["name"].(string)
		if pl.ID == "" || pl.Type == "" {
			return fmt.Errorf("%s: no id or type", p)
		}
		out = append(out, pl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no plugin.json in %s: build the plugin first (npm run build)", dist)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	if out[0].Dir != "" {
		return nil, fmt.Errorf("no plugin.json at the root of %s", dist)
	}
	for i := range out[1:] {
		out[i+1].parent = out[0].ID
	}
	return out, nil
}

// file maps a request path under /public/plugins/ to a file of dist, or ""
// when it names no file of a known plugin. Paths are cleaned, so no request
// leaves a plugin's directory.
func (s *Server) file(rest string) string {
	id, p, _ := strings.Cut(rest, "/")
	pl, ok := s.plugin(id)
	if !ok {
		return ""
	}
	clean := path.Clean("/" + p)
	if clean == "/" {
		return ""
	}
	return filepath.Join(s.dist, filepath.FromSlash(pl.Dir), filepath.FromSlash(clean))
}

func (s *Server) plugin(id string) (plugin, bool) {
	for _, p := range s.plugins {
		if p.ID == id {
			return p, true
		}
	}
	return plugin{}, false
}
