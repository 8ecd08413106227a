// Command gpx_netlens is the backend of the netlens-network-datasource Grafana
// data source. Grafana starts it and talks to it over gRPC (hashicorp/go-plugin).
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/plugin"
)

func main() {
	// Manage serves until Grafana stops the process, creating one Datasource per
	// data source instance (and a new one whenever its settings change).
	if err := datasource.Manage(plugin.ID, plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error(err.Error())
		os.Exit(1)
	}
}
