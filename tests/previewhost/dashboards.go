package previewhost

import (
	"encoding/json"
	"net/http"
	"os"
	"path"
	"path/filepath"
)

// getDashboard answers GET /api/dashboards/uid/{uid} in Grafana's shape
// ({dashboard, meta}) for the dashboards the plugins include (plugin.json
// "includes" of type dashboard), as Grafana serves an app's dashboards once
// they are imported. Dashboards of other origins do not exist here.
func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("uid")
	for _, p := range s.plugins {
		includes, _ := p.JSON["includes"].([]any)
		for _, inc := range includes {
			m, _ := inc.(map[string]any)
			if m["type"] != "dashboard" || m["uid"] != uid {
				continue
			}
			rel, _ := m["path"].(string)
			clean := path.Clean("/" + rel)
			b, err := os.ReadFile(filepath.Join(s.dist, filepath.FromSlash(p.Dir), filepath.FromSlash(clean)))
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, message("reading the dashboard: "+err.Error()))
				return
			}
			var dash map[string]any
			if err := json.Unmarshal(b, &dash); err != nil {
				writeJSON(w, http.StatusInternalServerError, message("the dashboard is not JSON: "+err.Error()))
				return
			}
			dash["uid"] = uid
			writeJSON(w, http.StatusOK, map[string]any{
				"dashboard": dash,
				"meta": map[string]any{
					"type": "db", "slug": uid, "url": "/d/" + uid, "canSave": false, "canEdit": false,
					"provisioned": true, "pluginId": p.ID, "folderTitle": "General",
				},
			})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, message("Dashboard not found"))
}
