package previewhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// callTimeout bounds one call to the plugin, as Grafana's data proxy timeout does.
const callTimeout = 30 * time.Second

// errNoBackend is a data source of a type this host runs no backend for
// (the provisioned Prometheus).
var errNoBackend = errors.New("no backend for this data source type")

// pluginContextOf is the plugin context Grafana sends the backend for the
// data source uid.
func (s *Server) pluginContextOf(uid string) (backend.PluginContext, error) {
	ds, ok := s.dataSource(uid)
	if !ok {
		return backend.PluginContext{}, errUnknownDataSource
	}
	if p, ok := s.plugin(ds.Type); !ok || p.Type != "datasource" {
		return backend.PluginContext{}, fmt.Errorf("data source %s is of type %s: %w", ds.Name, ds.Type, errNoBackend)
	}
	pds, err := ds.pluginContext()
	if err != nil {
		return backend.PluginContext{}, err
	}
	return pds.PluginContext(ds.Type), nil
}

// backendContext is the plugin context of the data source uid, or an
// answer saying why there is none.
func (s *Server) backendContext(w http.ResponseWriter, uid string) (backend.PluginContext, bool) {
	pCtx, err := s.pluginContextOf(uid)
	switch {
	case errors.Is(err, errUnknownDataSource):
		writeJSON(w, http.StatusNotFound, message(err.Error()))
	case errors.Is(err, errNoBackend):
		writeJSON(w, http.StatusBadRequest, message(err.Error()))
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, message(err.Error()))
	}
	return pCtx, err == nil
}

// health answers as Grafana's GET /api/datasources/uid/:uid/health: 200
// when the check says OK, 400 otherwise, with the check's message.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	pCtx, ok := s.backendContext(w, r.PathValue("uid"))
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	res, err := s.backend.CheckHealth(ctx, pCtx)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "ERROR", "message": "Plugin health check failed: " + err.Error()})
		return
	}
	out := map[string]any{"status": res.Status.String(), "message": res.Message}
	if len(res.JSONDetails) > 0 {
		var details any
		if json.Unmarshal(res.JSONDetails, &details) == nil {
			out["details"] = details
		}
	}
	status := http.StatusOK
	if res.Status != backend.HealthStatusOk {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, out)
}

// resource forwards /api/datasources/uid/:uid/resources/* to CallResource.
func (s *Server) resource(w http.ResponseWriter, r *http.Request) {
	pCtx, ok := s.backendContext(w, r.PathValue("uid"))
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, message("bad request body: "+err.Error()))
		return
	}
	rest := r.PathValue("rest")
	u := rest
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	headers := map[string][]string{}
	for _, h := range []string{"Accept", "Content-Type"} {
		if v := r.Header.Values(h); len(v) > 0 {
			headers[h] = v
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	res, err := s.backend.CallResource(ctx, &backend.CallResourceRequest{PluginContext: pCtx, Path: rest, Method: r.Method, URL: u, Headers: headers, Body: body})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, message("Failed to call resource: "+err.Error()))
		return
	}
	for k, vs := range res.Headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
}

// query answers as Grafana's POST /api/ds/query: the queries of each data
// source go to its backend in one request; the results of all, by refId, in
// one response, 200 when none failed and 400 otherwise (Grafana's default).
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Queries []json.RawMessage `json:"queries"`
		From    string            `json:"from"`
		To      string            `json:"to"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, message("bad request data: "+err.Error()))
		return
	}
	if len(in.Queries) == 0 {
		writeJSON(w, http.StatusBadRequest, message("No queries found"))
		return
	}
	now := time.Now()
	from, err := parseTime(in.From, now)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, message("from: "+err.Error()))
		return
	}
	to, err := parseTime(in.To, now)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, message("to: "+err.Error()))
		return
	}
	byUID := map[string][]backend.DataQuery{}
	var order []string
	for _, raw := range in.Queries {
		var q struct {
			RefID         string `json:"refId"`
			QueryType     string `json:"queryType"`
			IntervalMs    int64  `json:"intervalMs"`
			MaxDataPoints int64  `json:"maxDataPoints"`
			Datasource    *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		}
		if err := json.Unmarshal(raw, &q); err != nil {
			writeJSON(w, http.StatusBadRequest, message("bad query: "+err.Error()))
			return
		}
		if q.Datasource == nil || q.Datasource.UID == "" {
			writeJSON(w, http.StatusBadRequest, message(fmt.Sprintf("query %s names no data source uid", q.RefID)))
			return
		}
		uid := q.Datasource.UID
		if _, seen := byUID[uid]; !seen {
			order = append(order, uid)
		}
		byUID[uid] = append(byUID[uid], backend.DataQuery{
			RefID: q.RefID, QueryType: q.QueryType, MaxDataPoints: q.MaxDataPoints,
			Interval: time.Duration(q.IntervalMs) * time.Millisecond, TimeRange: backend.TimeRange{From: from, To: to}, JSON: raw,
		})
	}
	out := backend.NewQueryDataResponse()
	for _, uid := range order {
		pCtx, ok := s.backendContext(w, uid)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		res, err := s.backend.QueryData(ctx, &backend.QueryDataRequest{PluginContext: pCtx, Queries: byUID[uid]})
		cancel()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, message("Query data error: "+err.Error()))
			return
		}
		for ref, dr := range res.Responses {
			out.Responses[ref] = dr
		}
	}
	status := http.StatusOK
	for _, dr := range out.Responses {
		if dr.Error != nil {
			status = http.StatusBadRequest
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, message(err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var relative = regexp.MustCompile(`^now(?:-(\d+)([smhdw]))?$`)

// parseTime reads a time as Grafana's query API does: epoch milliseconds,
// "now" or "now-<n><unit>" (s, m, h, d, w), or RFC 3339.
func parseTime(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	if m := relative.FindStringSubmatch(v); m != nil {
		if m[1] == "" {
			return now, nil
		}
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not epoch milliseconds, now, now-<n><unit> or RFC 3339", v)
}
