// Package dashgen generates every Netlens dashboard from one definition
// (definitions.go) in three flavours that cannot drift apart:
//
//   - app (dashboards/*.json): queries in the Netlens data source's own model
//     (src/datasource/types.ts NetlensQuery), included by the app
//     (src/plugin.json);
//   - prometheus (dashboards/prometheus/*.json): the same panels for Grafana's
//     own Prometheus data source, for Grafanas without the app (Azure Managed
//     Grafana, ...). The PromQL is pkg/prometheus's translation of the same
//     queries (prometheus.TemplateExprs), so the dashboards and the data source
//     backend run the same expressions;
//   - aks (dashboards/aks/*.json): the same again for the AKS Network
//     Observability add-on's networkobservability_* metrics (pkg/prometheus's
//     retina schema). Panels the add-on has no metrics for are left out, and
//     the dashboard says which and why.
//
// Run `go generate ./dashboards/...` (or `go run ./dashboards/gen`) after
// changing a definition; tests/dashboards fails when the committed files are
// not what the generator writes.
package dashgen

import (
	"github.com/netlens/netlens/pkg/models"
)

// Dashboard is one dashboard, in every flavour.
type Dashboard struct {
	// File is the file name in each flavour's directory.
	File string
	// UID is the app flavour's uid; the other flavours add a suffix.
	UID         string
	Title       string
	Description string
	Tags        []string
	// Variables are the filter variables after the data source variable,
	// in order: cluster, node, namespace, pod, reason, interface.
	Variables []string
	// Refresh is the auto-refresh interval.
	Refresh string
	Panels  []Panel
}

// Kind is how a panel shows its queries.
type Kind int

const (
	// TimeSeries draws each series over time.
	TimeSeries Kind = iota
	// Stat shows each series' latest value, with a sparkline.
	Stat
	// Ranking is a table of series: mean and peak over the time range, the
	// highest peak first, at most Limit rows, one column per label.
	Ranking
	// Reasons is a ranking of drop reasons with each reason explained (from
	// the reason catalog, agent/reasons).
	Reasons
	// Agents is the table of agents (the nodes query).
	Agents
	// AgentCount is the number of agents reporting (the nodes query, counted).
	AgentCount
)

// Panel is one panel. IDs are stable across flavours: a panel left out of a
// flavour leaves its id unused.
type Panel struct {
	ID          int
	Kind        Kind
	Title       string
	Description string
	// W and H are the grid size (24 columns); panels flow left to right.
	W, H    int
	Queries []Query
	// Unit overrides the unit of the targets (for a panel mixing units on
	// purpose, such as drops overlaid on NIC pressure).
	Unit string
	// Stack stacks the series (time series).
	Stack bool
	// Limit is the number of rows of a ranking (default 20).
	Limit int
	// Drill is what a click on a series or row opens.
	Drill *Drill
	// DashedPrefix draws the series whose name starts with it dashed (a
	// reference line such as the drop rate on a NIC panel).
	DashedPrefix string
}

// Query is one query of a panel: the Netlens data source's query model,
// filters holding template variables ("$node").
type Query struct {
	Q models.Query
	// Keys select the targets shown when the query type reads several metrics
	// (query.NetlensTargets / pkg/prometheus's retina targets); a key missing
	// from a schema is ignored there. Empty: all targets.
	Keys []string
	// Legend names the series ({{label}}); only for query types with one target.
	Legend string
}

// Drill is a drill-down from a panel: the labels of the clicked series (or
// row, or reason cell) filter this dashboard, or the app's page.
type Drill struct {
	// Page is the app page (route under /a/netlens-network-app/).
	Page string
	// Labels are set from the clicked series or row.
	Labels []string
}

// Flavour is one form of the dashboards.
type Flavour struct {
	Name string
	// Dir is the directory under dashboards/ ("" for the app flavour).
	Dir    string
	Schema models.Schema
	// Netlens: queries in the Netlens data source's model; otherwise PromQL
	// for Grafana's Prometheus data source.
	Netlens     bool
	UIDSuffix   string
	TitleSuffix string
	// Tag is the flavour's dashboard tag, which the dashboards' links list.
	Tag string
	// About says what this flavour is, in every dashboard's description.
	About string
}

// Flavours are the three forms every dashboard is written in.
var Flavours = []Flavour{
	{
		Name: "app", Dir: "", Schema: models.SchemaNetlens, Netlens: true, Tag: "netlens-app",
		About: "Queries go through the Netlens data source (prometheus or direct mode).",
	},
	{
		Name: "prometheus", Dir: "prometheus", Schema: models.SchemaNetlens, UIDSuffix: "-prometheus", TitleSuffix: " (Prometheus)", Tag: "netlens-prometheus",
		About: "Plain Prometheus version, for Grafanas without the Netlens app: PromQL over the agents' netlens_* metrics.",
	},
	{
		Name: "aks", Dir: "aks", Schema: models.SchemaRetina, UIDSuffix: "-aks", TitleSuffix: " (AKS add-on)", Tag: "netlens-aks",
		About: "Version for the AKS Network Observability add-on (Retina): PromQL over its networkobservability_* metrics, no Netlens agent needed.",
	},
}

// Variable names.
const (
	// DatasourceVar is the data source variable every dashboard has.
	DatasourceVar = "datasource"
	// AllNetlens is the Netlens data source's custom All value: a filter at it
	// is left out (src/datasource/types.ts ALL_VALUES).
	AllNetlens = "__all__"
	// AllRegex is the Prometheus variables' All value: it also matches series
	// without the label (single-cluster setups have no cluster label).
	AllRegex = ".*"
	// RateWindow is the rate() window of the PromQL flavours.
	RateWindow = "$__rate_interval"
)

// Plugin ids.
const (
	AppID        = "netlens-network-app"
	DatasourceID = "netlens-network-datasource"
)
