// Command gen writes every Netlens dashboard from its single definition
// (dashboards/dashgen): dashboards/*.json for the app (Netlens data source),
// dashboards/prometheus/*.json (Grafana's Prometheus data source) and
// dashboards/aks/*.json (the AKS Network Observability add-on's metrics).
//
//	go generate ./dashboards/...      # or: go run ./dashboards/gen
//	go run ./dashboards/gen -out DIR  # write elsewhere (tests/dashboards compares)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/netlens/netlens/dashboards/dashgen"
)

func main() {
	out := flag.String("out", "", "directory to write into (default: the repository's dashboards/)")
	flag.Parse()
	dir := *out
	if dir == "" {
		var err error
		if dir, err = dashgen.RepoDir(); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	files, err := dashgen.Write(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println("wrote", f)
	}
}
