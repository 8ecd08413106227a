// Package previewhost plays the part of Grafana's HTTP server towards the
// built Netlens plugin, without Grafana (whose server must not be used on the
// development machines): it serves dist/ under /public/plugins/<id>/ as
// Grafana does, answers the part of Grafana's HTTP API that the plugin's
// frontend calls, in Grafana's JSON shapes (plugin settings, data sources,
// /api/ds/query, health, resources), runs the built data source backend over
// go-plugin (tests/grafanahost) for queries, health, resources and streams,
// and serves Grafana Live over WebSocket with the centrifuge library Grafana
// uses, bridging subscriptions to the plugin's SubscribeStream and RunStream.
//
// It is a test and preview host: one organisation, one admin user, no
// authentication, state in memory. Pages say plainly that it is not Grafana.
package previewhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/netlens/netlens/tests/grafanahost"
)

// Config is what a Server serves.
type Config struct {
	// Dist is the built plugin (npm run build, mage -v).
	Dist string
	// Backend is the data source backend binary; "" finds
	// dist/datasource/gpx_netlens_<os>_<arch>.
	Backend string
	// DataSources are the data sources to start with (Grafana provisioning).
	DataSources []DataSource
	// AppEnabled is the app's enabled setting at start.
	AppEnabled bool
	// PluginLog receives the backend's log (nil: discarded).
	PluginLog io.Writer
	// Shell is the built browser shell (BuildShell); "" serves the API only.
	Shell string
}

// Server is a running preview host. Its Handler serves HTTP; Close stops
// the streams and the plugin process.
type Server struct {
	dist    string
	shell   string
	plugins []plugin
	backend *grafanahost.Host
	live    *live

	mu          sync.Mutex
	dataSources []*DataSource
	nextID      int64
	settings    map[string]*pluginSetting
}

type pluginSetting struct {
	Enabled  bool           `json:"enabled"`
	Pinned   bool           `json:"pinned"`
	JSONData map[string]any `json:"jsonData"`
	secure   map[string]string
}

// New starts the data source backend and returns the host.
func New(cfg Config) (*Server, error) {
	plugins, err := readPlugins(cfg.Dist)
	if err != nil {
		return nil, err
	}
	s := &Server{dist: cfg.Dist, shell: cfg.Shell, plugins: plugins, settings: map[string]*pluginSetting{}}
	for _, p := range plugins {
		s.settings[p.ID] = &pluginSetting{Enabled: p.Type != "app" || cfg.AppEnabled, Pinned: p.Type == "app" && cfg.AppEnabled, JSONData: map[string]any{}}
	}
	for _, ds := range cfg.DataSources {
		if _, err := s.addDataSource(ds); err != nil {
			return nil, err
		}
	}
	bin := cfg.Backend
	if bin == "" {
		if bin, err = BackendBinary(cfg.Dist); err != nil {
			return nil, err
		}
	}
	logs := cfg.PluginLog
	if logs == nil {
		logs = io.Discard
	}
	if s.backend, err = grafanahost.Launch(bin, logs); err != nil {
		return nil, err
	}
	s.live, err = newLive(s)
	if err != nil {
		s.backend.Kill()
		return nil, err
	}
	return s, nil
}

// Close ends the live streams and the plugin process.
func (s *Server) Close() {
	s.live.close()
	s.backend.Kill()
}

// BackendBinary is the data source backend that `mage -v` built into dist
// for this machine.
func BackendBinary(dist string) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(dist, "datasource", "gpx_*_linux_amd64"))
	if len(matches) != 1 {
		return "", fmt.Errorf("no data source backend in %s/datasource: build it (mage -v)", dist)
	}
	return matches[0], nil
}

// Handler serves the host.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public/plugins/{rest...}", s.serveFile)
	mux.HandleFunc("GET /api/plugins/{id}/settings", s.getPluginSettings)
	mux.HandleFunc("POST /api/plugins/{id}/settings", s.postPluginSettings)
	mux.HandleFunc("GET /api/datasources", s.listDataSources)
	mux.HandleFunc("POST /api/datasources", s.createDataSource)
	mux.HandleFunc("GET /api/datasources/uid/{uid}", s.getDataSource)
	mux.HandleFunc("PUT /api/datasources/uid/{uid}", s.updateDataSource)
	mux.HandleFunc("GET /api/datasources/uid/{uid}/health", s.health)
	mux.HandleFunc("/api/datasources/uid/{uid}/resources/{rest...}", s.resource)
	mux.HandleFunc("POST /api/ds/query", s.query)
	mux.HandleFunc("GET /api/dashboards/uid/{uid}", s.getDashboard)
	mux.Handle("/api/live/ws", s.live.handler())
	mux.HandleFunc("GET /api/frontend/settings", s.getFrontendSettings)
	mux.HandleFunc("GET /public/shell/{rest...}", s.serveShellFile)
	mux.HandleFunc("GET /public/build/img/{rest...}", s.serveShellDir("img"))
	mux.HandleFunc("GET /public/fonts/{rest...}", s.serveShellDir("fonts"))
	for _, route := range shellRoutes {
		mux.HandleFunc(route, s.serveShell)
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, message(fmt.Sprintf("the Netlens preview host does not serve %s %s", r.Method, r.URL.Path)))
	})
	return mux
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	f := s.file(r.PathValue("rest"))
	if f == "" {
		http.NotFound(w, r)
		return
	}
	if st, err := os.Stat(f); err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	// A backend binary is no asset.
	if strings.HasPrefix(filepath.Base(f), "gpx_") {
		http.NotFound(w, r)
		return
	}
	http.ServeFile(w, r, f)
}

// getPluginSettings answers as Grafana's GET /api/plugins/:id/settings.
func (s *Server) getPluginSettings(w http.ResponseWriter, r *http.Request) {
	p, ok := s.plugin(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, message("Plugin not found, no installed plugin with that id"))
		return
	}
	s.mu.Lock()
	st := *s.settings[p.ID]
	secureFields := map[string]bool{}
	for k, v := range st.secure {
		if v != "" {
			secureFields[k] = true
		}
	}
	s.mu.Unlock()
	out := map[string]any{
		"name":             p.Name,
		"type":             p.Type,
		"id":               p.ID,
		"enabled":          st.Enabled,
		"pinned":           st.Pinned,
		"autoEnabled":      false,
		"module":           p.module(),
		"baseUrl":          p.baseURL(),
		"info":             p.info(),
		"includes":         p.JSON["includes"],
		"dependencies":     p.JSON["dependencies"],
		"jsonData":         st.JSONData,
		"secureJsonFields": secureFields,
		"defaultNavUrl":    defaultNav(p),
		"latestVersion":    "",
		"hasUpdate":        false,
		"state":            p.JSON["state"],
		"signature":        "unsigned",
		"signatureType":    "",
		"signatureOrg":     "",
		"angularDetected":  false,
		"loadingStrategy":  "script",
		"extensions":       map[string]any{},
	}
	writeJSON(w, http.StatusOK, out)
}

// defaultNav is the app's page with defaultNav, as Grafana finds it.
func defaultNav(p plugin) string {
	incs, _ := p.JSON["includes"].([]any)
	for _, i := range incs {
		inc, _ := i.(map[string]any)
		if def, _ := inc["defaultNav"].(bool); def {
			if path, _ := inc["path"].(string); path != "" {
				return strings.ReplaceAll(path, "%PLUGIN_ID%", p.ID)
			}
		}
	}
	return "/plugins/" + p.ID
}

// postPluginSettings stores settings as Grafana's POST /api/plugins/:id/settings.
func (s *Server) postPluginSettings(w http.ResponseWriter, r *http.Request) {
	p, ok := s.plugin(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, message("Plugin not found, no installed plugin with that id"))
		return
	}
	var in struct {
		Enabled        *bool             `json:"enabled"`
		Pinned         *bool             `json:"pinned"`
		JSONData       map[string]any    `json:"jsonData"`
		SecureJSONData map[string]string `json:"secureJsonData"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, message("bad request data: "+err.Error()))
		return
	}
	s.mu.Lock()
	st := s.settings[p.ID]
	if in.Enabled != nil {
		st.Enabled = *in.Enabled
	}
	if in.Pinned != nil {
		st.Pinned = *in.Pinned
	}
	if in.JSONData != nil {
		st.JSONData = in.JSONData
	}
	for k, v := range in.SecureJSONData {
		if st.secure == nil {
			st.secure = map[string]string{}
		}
		st.secure[k] = v
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, message("Plugin settings updated"))
}

func message(m string) map[string]string { return map[string]string{"message": m} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody bounds request bodies.
const maxBody = 4 << 20

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}
