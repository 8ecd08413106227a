//go:build linux

package controlplane

import (
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

// ForTest starts a control plane for t and stops it in t.Cleanup, showing
// the tail of its logs if t failed. It fails (or skips, outside CI and
// without NETLENS_REQUIRE_PRIVILEGED) when etcd is missing.
func ForTest(t testing.TB, extraAPIServerArgs ...string) *ControlPlane {
	t.Helper()
	testenv.RequireCommands(t, "etcd")
	bin, err := BinDir(testenv.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(Options{Dir: t.TempDir(), Bin: bin, ExtraAPIServerArgs: extraAPIServerArgs})
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(func() {
		t.Log(c.PeakMemory())
		if t.Failed() {
			t.Log(c.Logs())
		}
		c.Stop()
	})
	return c
}
