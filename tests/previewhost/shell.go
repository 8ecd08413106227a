package previewhost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildShell bundles the browser shell (tests/browser/shell, TypeScript)
// into out with esbuild (node tests/browser/shell/build.mjs <out>).
// repo is the repository root, with node_modules installed (npm ci).
func BuildShell(repo, out string) error {
	cmd := exec.Command("node", filepath.Join(repo, "tests", "browser", "shell", "build.mjs"), out)
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the browser shell: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(out, "shell.js")); err != nil {
		return fmt.Errorf("building the browser shell: %w", err)
	}
	return nil
}

// The shell's pages are Grafana's frontend routes; each serves the shell
// page, whose router picks the view.
var shellRoutes = []string{"/a/", "/plugins/", "/connections/", "/explore", "/d/", "/variables"}

// serveShell answers a frontend route with the shell page: the boot data
// Grafana's index.html carries (theme, settings, data sources, panels), then
// the shell bundle, then SystemJS and its AMD extra.
func (s *Server) serveShell(w http.ResponseWriter, r *http.Request) {
	if s.shell == "" {
		http.NotFound(w, r)
		return
	}
	theme := "dark"
	if c, err := r.Cookie(themeCookie); err == nil && c.Value == "light" {
		theme = "light"
	}
	boot, err := json.Marshal(map[string]any{
		"user":           map[string]any{"theme": theme, "lightTheme": theme == "light", "isSignedIn": true, "orgId": 1, "orgRole": "Admin", "id": 1, "login": "admin", "name": "admin", "locale": "en-US", "language": "en-US"},
		"settings":       s.frontendSettings(),
		"navTree":        []any{},
		"netlensPreview": true,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><base href="/"><title>Netlens preview host (not Grafana)</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/public/shell/shell.css">
<script>window.grafanaBootData = %s; window.__grafana_public_path__ = "/public/";</script>
</head><body><div id="reactRoot"></div>
<script src="/public/shell/shell.js"></script>
<script src="/public/shell/system.js"></script>
<script src="/public/shell/amd.js"></script>
<script>window.__netlensShellStart();</script>
</body></html>`, boot)
}

// themeCookie holds the shell's theme (light or dark).
const themeCookie = "netlens_preview_theme"

// frontendSettings is the part of Grafana's /api/frontend/settings the
// runtime reads: build info, data sources by name with their plugin's meta,
// and the panels.
func (s *Server) frontendSettings() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	dss := map[string]any{}
	def := ""
	for _, ds := range s.dataSources {
		p, ok := s.plugin(ds.Type)
		if !ok {
			continue
		}
		if ds.IsDefault {
			def = ds.Name
		}
		dss[ds.Name] = map[string]any{
			"id": ds.ID, "uid": ds.UID, "type": ds.Type, "name": ds.Name, "url": ds.URL,
			"access": "proxy", "isDefault": ds.IsDefault, "readOnly": false,
			"jsonData": ds.dto()["jsonData"], "meta": s.pluginMeta(p),
		}
	}
	panels := map[string]any{}
	for _, p := range s.plugins {
		if p.Type == "panel" {
			panels[p.ID] = s.pluginMeta(p)
		}
	}
	for _, id := range []string{"timeseries", "table", "stat", "barchart", "text"} {
		panels[id] = map[string]any{"id": id, "name": id, "type": "panel", "module": "core:plugin/" + id, "baseUrl": "", "sort": 1, "info": map[string]any{"logos": map[string]any{"small": "", "large": ""}}}
	}
	return map[string]any{
		"buildInfo":         map[string]any{"version": "13.1.0", "edition": "Netlens preview host", "env": "production"},
		"featureToggles":    map[string]any{},
		"datasources":       dss,
		"defaultDatasource": def,
		"panels":            panels,
		"appSubUrl":         "",
		"appUrl":            "/",
		"liveEnabled":       true,
	}
}

func (s *Server) pluginMeta(p plugin) map[string]any {
	m := map[string]any{}
	for k, v := range p.JSON {
		m[k] = v
	}
	m["module"] = p.module()
	m["baseUrl"] = p.baseURL()
	m["info"] = p.info()
	m["signature"] = "unsigned"
	return m
}

func (s *Server) getFrontendSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.frontendSettings())
}

// serveShellFile serves the built shell and the images Grafana ships with
// @grafana/ui (icons, the spinner).
func (s *Server) serveShellFile(w http.ResponseWriter, r *http.Request) {
	s.serveShellDir("")(w, r)
}

// serveShellDir serves one directory of the built shell for a Grafana path
// (/public/build/img, /public/fonts).
func (s *Server) serveShellDir(dir string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.shell == "" {
			http.NotFound(w, r)
			return
		}
		name := filepath.Join(s.shell, dir, filepath.Clean("/"+r.PathValue("rest")))
		if st, err := os.Stat(name); err != nil || st.IsDir() {
			// Grafana ships more icons than @grafana/ui's npm package
			// (spinner, angle-double-left, ...): an empty one stands in.
			if dir == "img" && strings.HasPrefix(r.PathValue("rest"), "icons/") && strings.HasSuffix(name, ".svg") {
				w.Header().Set("Content-Type", "image/svg+xml")
				_, _ = io.WriteString(w, missingIcon)
				return
			}
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, name)
	}
}

// missingIcon is an empty 24x24 icon.
const missingIcon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"></svg>`
