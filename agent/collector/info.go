package collector

import "github.com/prometheus/client_golang/prometheus"

var infoDesc = prometheus.NewDesc("netlens_agent_info",
	"Build and host facts of the agent; always 1.", []string{"version", "kernel", "drop_source"}, nil)

// Info exports netlens_agent_info. DropSource is asked at scrape time because
// the drop collector settles on its kernel hook after start-up.
type Info struct {
	Version    string
	Kernel     string
	DropSource func() string
}

func (i Info) Describe(ch chan<- *prometheus.Desc) { ch <- infoDesc }

func (i Info) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1, i.Version, i.Kernel, i.DropSource())
}
