//go:build linux

package bench

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/browser"
	"github.com/netlens/netlens/tests/testenv"
)

// BenchmarkAppFirstData: in Chromium, from navigation to the first data
// painted on Overview and on Drops (a fresh browser context each run, so no
// HTTP cache), with the browser tests' world: the built plugin in the
// preview host, the real backend, agent and Prometheus on the network lab's
// drops. Reports the median in ms and the JavaScript the page loaded; fails
// when a page loads any script twice (the scenes chunk, say). Target: <= 1.5 s.
func BenchmarkAppFirstData(b *testing.B) {
	testenv.RequireCommands(b, browser.Chromium, "node")
	w := browser.Setup(b)
	script := filepath.Join(testenv.RepoRoot(b), "bench", "browser", "firstdata.mjs")
	for _, page := range []struct{ name, path string }{
		{"overview", "/a/" + w.AppID + "/overview"},
		{"drops", "/a/" + w.AppID + "/drops"},
	} {
		b.Run(page.name, func(b *testing.B) {
			out, err := exec.Command("node", script, w.Path, page.path, "7").Output()
			if err != nil {
				b.Fatalf("%s: %v\n%s", script, err, out)
			}
			var r struct {
				Times     []float64
				AfterBoot []float64
				Timeline  []string
				JS        struct {
					TotalBytes, PluginBytes, Files float64
					LoadedTwice                    []string
				}
			}
			if err := json.Unmarshal(out, &r); err != nil {
				b.Fatalf("%s: %v\n%s", script, err, out)
			}
			if len(r.JS.LoadedTwice) > 0 {
				b.Errorf("scripts loaded twice: %v", r.JS.LoadedTwice)
			}
			b.Logf("%s, the last run's requests (start-end ms from navigation):\n%s", page.name, strings.Join(r.Timeline, "\n"))
			slices.Sort(r.Times)
			b.ReportMetric(r.Times[len(r.Times)/2], "ms-to-first-data")
			slices.Sort(r.AfterBoot)
			b.ReportMetric(r.AfterBoot[len(r.AfterBoot)/2], "ms-after-boot")
			b.ReportMetric(r.Times[0], "ms-min")
			b.ReportMetric(r.Times[len(r.Times)-1], "ms-max")
			b.ReportMetric(r.JS.TotalBytes/1000, "kB-js")
			b.ReportMetric(r.JS.PluginBytes/1000, "kB-plugin-js")
			b.ReportMetric(r.JS.Files, "js-files")
			// The measurement is the page's, not b.N's: one round.
			b.ReportMetric(0, "ns/op")
		})
	}
}
