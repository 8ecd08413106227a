// Command netlens-preview runs the preview host (tests/previewhost): the
// built plugin's files, the part of Grafana's HTTP API and Live that the
// plugin's frontend uses, and the data source backend over go-plugin, on one
// port. It is not Grafana, and says so.
//
//	netlens-preview --dist dist --provisioning provisioning/datasources/netlens.yaml --listen :3000
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/netlens/netlens/tests/previewhost"
)

func main() {
	listen := flag.String("listen", ":3000", "address to serve on")
	dist := flag.String("dist", "dist", "the built plugin (npm run build, mage -v)")
	backendBin := flag.String("backend", "", "data source backend binary (default: dist/datasource/gpx_*_linux_amd64)")
	provisioning := flag.String("provisioning", "", "Grafana data source provisioning file to start with")
	shell := flag.String("shell", "", "the built browser shell (node tests/browser/shell/build.mjs <dir>); empty: API only")
	flag.Parse()

	cfg := previewhost.Config{Dist: *dist, Backend: *backendBin, AppEnabled: true, PluginLog: os.Stderr, Shell: *shell}
	if *provisioning != "" {
		ds, err := previewhost.LoadProvisioning(*provisioning)
		if err != nil {
			log.Fatal(err)
		}
		cfg.DataSources = ds
	}
	s, err := previewhost.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	srv := &http.Server{Addr: *listen, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("Netlens preview host (not Grafana) on %s, serving %s", *listen, *dist)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
		s.Close()
		os.Exit(1)
	}
}
