//go:build linux

package browser

import "testing"

// The app and data source, built and served by the preview host, work in
// Chromium against a real agent and Prometheus: the Jest tests of this
// directory, each a subtest.
func TestAppInTheBrowser(t *testing.T) {
	w := Setup(t)
	w.RunJest(t)
}
