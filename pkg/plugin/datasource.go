// Package plugin implements the netlens-network-datasource backend: health
// checks, queries, resources and streams for Grafana.
package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/netlens/netlens/pkg/models"
)

// ID is the data source's plugin id (src/datasource/plugin.json).
const ID = "netlens-network-datasource"

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured data source instance.
type Datasource struct {
	settings *models.Settings
	// settingsErr is kept rather than returned by the factory, so that
	// CheckHealth can tell the user what is wrong instead of failing the call.
	settingsErr error
	resources   backend.CallResourceHandler
}

// NewDatasource builds an instance from Grafana's instance settings.
func NewDatasource(_ context.Context, is backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	s, err := models.LoadSettings(is)
	d := &Datasource{settings: s, settingsErr: err}
	d.resources = httpadapter.New(d.resourceRoutes())
	return d, nil
}

// Dispose releases the instance when its settings change or it is deleted.
func (d *Datasource) Dispose() {}

// CheckHealth reports whether the settings are usable. It says exactly what it
// checked: this version validates the settings and does not contact
// Prometheus or the agents yet.
func (d *Datasource) CheckHealth(_ context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{
			Status:  backend.HealthStatusError,
			Message: "Settings are invalid: " + d.settingsErr.Error(),
		}, nil
	}
	s := d.settings
	var where string
	switch s.Mode {
	case models.ModePrometheus:
		where = fmt.Sprintf("Prometheus at %s, %s auth", s.PrometheusURL, s.PrometheusAuth)
	case models.ModeDirect:
		where = fmt.Sprintf("%d agent URL(s)", len(s.AgentURLs))
		if s.AgentDNSName != "" {
			where += ", agents from DNS name " + s.AgentDNSName
		}
	}
	return &backend.CheckHealthResult{
		Status: backend.HealthStatusOk,
		Message: fmt.Sprintf("Settings are valid (mode %s, schema %s: %s). Connectivity was not tested: this version does not contact Prometheus or the agents yet.",
			s.Mode, s.Schema, where),
	}, nil
}

// QueryData answers each query on its own: one bad query never fails the others.
func (d *Datasource) QueryData(_ context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(q)
	}
	return resp, nil
}

func (d *Datasource) query(q backend.DataQuery) backend.DataResponse {
	if d.settingsErr != nil {
		return backend.ErrDataResponse(backend.StatusValidationFailed, "data source settings are invalid: "+d.settingsErr.Error())
	}
	parsed, err := models.ParseQuery(q.JSON)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	return backend.ErrDataResponse(backend.StatusNotImplemented,
		fmt.Sprintf("query type %q is not implemented yet in %s mode", parsed.QueryType, d.settings.Mode))
}

// CallResource serves the editors' and template variables' resources.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

func (d *Datasource) resourceRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown resource %q", r.URL.Path)})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// SubscribeStream accepts no channel yet: the live drop stream comes with direct mode.
func (d *Datasource) SubscribeStream(_ context.Context, _ *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
}

// RunStream is only called for subscribed channels, and none are accepted.
func (d *Datasource) RunStream(_ context.Context, req *backend.RunStreamRequest, _ *backend.StreamSender) error {
	return fmt.Errorf("unknown stream %q", req.Path)
}

// PublishStream is refused: clients never write to Netlens channels.
func (d *Datasource) PublishStream(_ context.Context, _ *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}
