// Package query is the seam between the data source plugin and its two
// modes: a Reader answers queries from Prometheus (pkg/prometheus) or from
// the agents directly (pkg/direct). The plugin parses and validates queries
// (pkg/models) and hands each Reader only well-formed ones.
package query

import (
	"context"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/models"
)

// Range is a query's time range and resolution, as Grafana sends them.
type Range struct {
	From, To time.Time
	// Interval is Grafana's suggested step (the panel's $__interval).
	Interval time.Duration
	// MaxDataPoints bounds the points per series.
	MaxDataPoints int64
}

// Label names the values the editors and template variables ask for.
type Label string

const (
	LabelNode      Label = "node"
	LabelNamespace Label = "namespace"
	LabelPod       Label = "pod"
	LabelReason    Label = "reason"
	LabelInterface Label = "interface"
)

// Labels are the labels Values answers for.
var Labels = []Label{LabelNode, LabelNamespace, LabelPod, LabelReason, LabelInterface}

// Reader answers queries in one mode.
type Reader interface {
	// Query answers one query. Problems that leave part of the answer
	// usable (an agent unreachable, a Prometheus warning) are notices on the
	// frames, not errors.
	Query(ctx context.Context, q models.Query, r Range) backend.DataResponse
	// Health contacts what the mode reads from and says exactly what works
	// and what does not.
	Health(ctx context.Context) *backend.CheckHealthResult
	// Values lists the values of label among the series matching f in r,
	// sorted, for editors and template variables.
	Values(ctx context.Context, label Label, f models.Filters, r Range) ([]string, error)
}
