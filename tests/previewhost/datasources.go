package previewhost

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/netlens/netlens/tests/grafanahost"
)

// DataSource is a data source as Grafana stores it: its secrets are kept
// and passed to the plugin, never answered.
type DataSource struct {
	ID             int64             `json:"id" yaml:"-"`
	UID            string            `json:"uid" yaml:"uid"`
	Name           string            `json:"name" yaml:"name"`
	Type           string            `json:"type" yaml:"type"`
	Access         string            `json:"access" yaml:"access"`
	URL            string            `json:"url" yaml:"url"`
	BasicAuth      bool              `json:"basicAuth" yaml:"basicAuth"`
	BasicAuthUser  string            `json:"basicAuthUser" yaml:"basicAuthUser"`
	IsDefault      bool              `json:"isDefault" yaml:"isDefault"`
	JSONData       map[string]any    `json:"jsonData" yaml:"jsonData"`
	SecureJSONData map[string]string `json:"secureJsonData,omitempty" yaml:"secureJsonData"`
	Version        int               `json:"version" yaml:"-"`
}

// LoadProvisioning reads data sources from a Grafana provisioning file
// (apiVersion 1, datasources: [...]), expanding $VAR and ${VAR} from the
// environment as Grafana does.
func LoadProvisioning(path string) ([]DataSource, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		APIVersion  int          `yaml:"apiVersion"`
		DataSources []DataSource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal([]byte(os.ExpandEnv(string(b))), &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.APIVersion != 1 {
		return nil, fmt.Errorf("%s: apiVersion %d, want 1", path, f.APIVersion)
	}
	return f.DataSources, nil
}

// dto is a data source as Grafana's API answers it: secrets only as the
// names of the fields that are set.
func (ds *DataSource) dto() map[string]any {
	secure := map[string]bool{}
	for k, v := range ds.SecureJSONData {
		if v != "" {
			secure[k] = true
		}
	}
	jd := ds.JSONData
	if jd == nil {
		jd = map[string]any{}
	}
	return map[string]any{
		"id": ds.ID, "uid": ds.UID, "orgId": 1, "name": ds.Name, "type": ds.Type,
		"typeLogoUrl": "", "access": ds.Access, "url": ds.URL, "user": "", "database": "",
		"basicAuth": ds.BasicAuth, "basicAuthUser": ds.BasicAuthUser, "withCredentials": false,
		"isDefault": ds.IsDefault, "jsonData": jd, "secureJsonFields": secure,
		"version": ds.Version, "readOnly": false,
	}
}

// pluginContext is the context Grafana sends the plugin for ds.
func (ds *DataSource) pluginContext() (grafanahost.DataSource, error) {
	js, err := json.Marshal(ds.JSONData)
	if err != nil {
		return grafanahost.DataSource{}, err
	}
	out := grafanahost.DataSource{UID: ds.UID, Name: ds.Name, URL: ds.URL, JSONData: string(js), Secure: ds.SecureJSONData}
	if ds.BasicAuth {
		out.BasicAuthUser = ds.BasicAuthUser
	}
	return out, nil
}

var validUID = regexp.MustCompile(`^[a-zA-Z0-9\-_]{1,40}$`)

// addDataSource stores ds with a new id (and uid when it has none).
func (s *Server) addDataSource(ds DataSource) (*DataSource, error) {
	if ds.Name == "" || ds.Type == "" {
		return nil, fmt.Errorf("data source %q: name and type are required", ds.Name)
	}
	if ds.UID == "" {
		b := make([]byte, 7)
		_, _ = rand.Read(b)
		ds.UID = hex.EncodeToString(b)
	}
	if !validUID.MatchString(ds.UID) {
		return nil, fmt.Errorf("data source %q: uid %q is not 1 to 40 letters, digits, - and _", ds.Name, ds.UID)
	}
	if ds.Access == "" {
		ds.Access = "proxy"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.dataSources {
		if o.UID == ds.UID || o.Name == ds.Name {
			return nil, fmt.Errorf("data source %q (uid %s): a data source with the same name or uid already exists", ds.Name, ds.UID)
		}
	}
	s.nextID++
	ds.ID, ds.Version = s.nextID, 1
	s.dataSources = append(s.dataSources, &ds)
	return &ds, nil
}

// dataSource is a copy of the data source uid, if there is one.
func (s *Server) dataSource(uid string) (DataSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ds := range s.dataSources {
		if ds.UID == uid {
			c := *ds
			return c, true
		}
	}
	return DataSource{}, false
}

// errUnknownDataSource is Grafana's answer for a uid it has no data source of.
var errUnknownDataSource = errors.New("Data source not found")

var errNoDataSource = message(errUnknownDataSource.Error())

func (s *Server) listDataSources(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]map[string]any, 0, len(s.dataSources))
	for _, ds := range s.dataSources {
		d := ds.dto()
		delete(d, "secureJsonFields")
		delete(d, "version")
		out = append(out, d)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDataSource(w http.ResponseWriter, r *http.Request) {
	ds, ok := s.dataSource(r.PathValue("uid"))
	if !ok {
		writeJSON(w, http.StatusNotFound, errNoDataSource)
		return
	}
	writeJSON(w, http.StatusOK, ds.dto())
}

// createDataSource answers as Grafana's POST /api/datasources.
func (s *Server) createDataSource(w http.ResponseWriter, r *http.Request) {
	var in DataSource
	if err := decodeBody(r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, message("bad request data: "+err.Error()))
		return
	}
	if _, ok := s.plugin(in.Type); !ok && in.Type != "prometheus" {
		writeJSON(w, http.StatusBadRequest, message(fmt.Sprintf("unknown data source plugin %q", in.Type)))
		return
	}
	ds, err := s.addDataSource(in)
	if err != nil {
		writeJSON(w, http.StatusConflict, message(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasource": ds.dto(), "id": ds.ID, "message": "Datasource added", "name": ds.Name})
}

// updateDataSource answers as Grafana's PUT /api/datasources/uid/:uid:
// secrets given replace those stored, the others are kept; a stale version
// is a conflict.
func (s *Server) updateDataSource(w http.ResponseWriter, r *http.Request) {
	var in DataSource
	if err := decodeBody(r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, message("bad request data: "+err.Error()))
		return
	}
	if in.Name == "" {
		writeJSON(w, http.StatusBadRequest, message("bad request data: name is required"))
		return
	}
	s.mu.Lock()
	i := slices.IndexFunc(s.dataSources, func(ds *DataSource) bool { return ds.UID == r.PathValue("uid") })
	if i < 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, errNoDataSource)
		return
	}
	cur := s.dataSources[i]
	if in.Version != 0 && in.Version != cur.Version {
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, message("Datasource has already been updated by someone else. Please reload and try again"))
		return
	}
	next := *cur
	next.Name, next.URL, next.Access = in.Name, in.URL, in.Access
	next.BasicAuth, next.BasicAuthUser, next.IsDefault = in.BasicAuth, in.BasicAuthUser, in.IsDefault
	next.JSONData = in.JSONData
	next.SecureJSONData = map[string]string{}
	for k, v := range cur.SecureJSONData {
		next.SecureJSONData[k] = v
	}
	for k, v := range in.SecureJSONData {
		next.SecureJSONData[k] = v
	}
	next.Version++
	s.dataSources[i] = &next
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"datasource": next.dto(), "id": next.ID, "message": "Datasource updated", "name": next.Name})
}
