package deploy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

// The alerting rules in deploy/rules are valid Prometheus rules, and their
// promtool unit tests pass: each alert fires on the series meant to fire it,
// with its labels and annotations, and stays quiet otherwise.
func TestAlertRules(t *testing.T) {
	testenv.RequireCommands(t, "promtool")
	dir := filepath.Join(testenv.RepoRoot(t), "deploy", "rules")
	for _, args := range [][]string{
		{"check", "rules", "netlens-alerts.yaml"},
		{"test", "rules", "netlens-alerts.test.yaml"},
	} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
