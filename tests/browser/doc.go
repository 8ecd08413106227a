// Package browser tests the built Netlens plugin in a real browser. Its Go
// side builds a world (world.go): a network lab whose iptables rule drops
// packets between two pods, the real agent counting those drops, Prometheus
// scraping the agent, and the preview host (tests/previewhost) serving the
// built plugin (dist/) and its browser shell with data sources for
// Prometheus mode, direct mode and an agent that cannot be reached, plus a
// control server through which tests cause more drops and read the rule's
// counter, the ground truth the pages must show. It describes the world in
// world.json and runs the Jest tests of this directory (*.ts, with
// playwright-core driving Chromium) against it, reporting each Jest test as a
// Go subtest.
//
// The world needs root, kernel BTF, Prometheus, Chromium, node_modules (npm
// ci) and the built plugin (npm run build, mage -v).
package browser
