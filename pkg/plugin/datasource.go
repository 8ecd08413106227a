// Package plugin implements the netlens-network-datasource backend: health
// checks, queries, resources and streams for Grafana. It parses and
// validates what Grafana sends and hands it to the mode's query.Reader:
// Prometheus (pkg/prometheus) or the agents directly (pkg/direct).
package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/prometheus"
	"github.com/netlens/netlens/pkg/query"
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
	// CheckHealth and every query can tell the user what is wrong instead of
	// failing the call.
	settingsErr error
	reader      query.Reader
	// direct is the reader in direct mode, which also serves the live stream.
	direct    *direct.Reader
	close     func()
	resources backend.CallResourceHandler
}

// NewDatasource builds an instance from Grafana's instance settings.
func NewDatasource(_ context.Context, is backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	d := &Datasource{close: func() {}}
	d.settings, d.settingsErr = models.LoadSettings(is)
	if d.settingsErr == nil {
		switch d.settings.Mode {
		case models.ModePrometheus:
			r, err := prometheus.New(d.settings, prometheus.Options{})
			if err == nil {
				d.reader = r
			}
			d.settingsErr = err
		case models.ModeDirect:
			r, err := direct.New(d.settings, direct.WithDataSourceUID(is.UID), direct.WithLogger(log.DefaultLogger))
			if err == nil {
				d.reader, d.direct, d.close = r, r, r.Close
			}
			d.settingsErr = err
		default:
			d.settingsErr = fmt.Errorf("unknown mode %q", d.settings.Mode)
		}
	}
	d.resources = httpadapter.New(d.resourceRoutes())
	return d, nil
}

// Dispose releases the instance when its settings change or it is deleted.
func (d *Datasource) Dispose() { d.close() }

// CheckHealth contacts what the mode reads from and says what works and what not.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{
			Status:  backend.HealthStatusError,
			Message: "Settings are invalid: " + d.settingsErr.Error(),
		}, nil
	}
	return d.reader.Health(ctx), nil
}

// QueryData answers each query on its own: one bad query never fails the others.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		resp.Responses[q.RefID] = d.query(ctx, q)
	}
	return resp, nil
}

// maxRange bounds a query's time range: beyond it a typo (a year instead of
// an hour) would make Prometheus or the agents do useless work.
const maxRange = 400 * 24 * time.Hour

func (d *Datasource) query(ctx context.Context, q backend.DataQuery) backend.DataResponse {
	if d.settingsErr != nil {
		return backend.ErrDataResponse(backend.StatusValidationFailed, "data source settings are invalid: "+d.settingsErr.Error())
	}
	parsed, err := models.ParseQuery(q.JSON)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	rg, err := rangeOf(q)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	return d.reader.Query(ctx, parsed, rg)
}

func rangeOf(q backend.DataQuery) (query.Range, error) {
	rg := query.Range{From: q.TimeRange.From, To: q.TimeRange.To, Interval: q.Interval, MaxDataPoints: q.MaxDataPoints}
	switch {
	case rg.From.Unix() <= 0 || rg.To.Unix() <= 0: // unset arrives as the epoch
		return rg, fmt.Errorf("the query has no time range")
	case rg.To.Before(rg.From):
		return rg, fmt.Errorf("the time range ends (%s) before it starts (%s)", rg.To.Format(time.RFC3339), rg.From.Format(time.RFC3339))
	case rg.To.Sub(rg.From) > maxRange:
		return rg, fmt.Errorf("the time range of %s is longer than the %d days this data source answers", rg.To.Sub(rg.From).Round(time.Hour), int(maxRange.Hours()/24))
	}
	if rg.MaxDataPoints <= 0 {
		rg.MaxDataPoints = 11000 // Prometheus's own limit of points per series
	}
	return rg, nil
}

// CallResource serves the editors' and template variables' resources.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

// SubscribeStream accepts the live drop event channels of direct mode.
func (d *Datasource) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if d.direct == nil {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return d.direct.SubscribeStream(ctx, req)
}

// RunStream merges the agents' event streams into the channel until the
// last subscriber leaves (ctx ends).
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	if d.direct == nil {
		return fmt.Errorf("live drop events need direct mode; this data source reads Prometheus")
	}
	return d.direct.Stream(ctx, req.Path, sender)
}

// PublishStream is refused: clients never write to Netlens channels.
func (d *Datasource) PublishStream(_ context.Context, _ *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}
