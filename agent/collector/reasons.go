package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/reasons"
)

var (
	kernelReasonsDesc = prometheus.NewDesc("netlens_agent_kernel_drop_reasons",
		"Drop reasons the running kernel names (enum skb_drop_reason and built-in subsystem enums); absent when no drop source reads them.",
		nil, nil)
	uncataloguedReasonsDesc = prometheus.NewDesc("netlens_agent_uncatalogued_drop_reasons",
		"Drop reasons of the running kernel that this agent's reason catalog does not explain: the kernel is newer than the catalog. They are explained generically; GET /api/v1/status lists them by name. Absent when no drop source reads the kernel's reasons.",
		nil, nil)
)

// Reasons exports how many drop reasons the running kernel names and how many
// of them the reason catalog lacks. Counts, not a series per reason: one
// series each per node whatever the kernel, and the names are in the status.
type Reasons struct {
	// Kernel are the kernel's reason names, nil when unknown.
	Kernel []string
}

func (Reasons) Describe(ch chan<- *prometheus.Desc) {
	ch <- kernelReasonsDesc
	ch <- uncataloguedReasonsDesc
}

func (r Reasons) Collect(ch chan<- prometheus.Metric) {
	if r.Kernel == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(kernelReasonsDesc, prometheus.GaugeValue, float64(len(r.Kernel)))
	ch <- prometheus.MustNewConstMetric(uncataloguedReasonsDesc, prometheus.GaugeValue, float64(len(reasons.Uncatalogued(r.Kernel))))
}
