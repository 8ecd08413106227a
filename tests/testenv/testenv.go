// Package testenv holds what Netlens's Go tests share about their environment:
// where the repository and its build outputs are, and whether the machine
// grants what a privileged test needs.
//
// Privileged tests (root, eBPF, network namespaces) must never pass silently on
// a machine that cannot run them. When NETLENS_REQUIRE_PRIVILEGED=1 (set by the
// project's test command) or CI=true, a missing capability fails the test;
// otherwise the test is skipped with a message that says what is missing.
//
// A check that cannot run on machines of the project's kind for a reason no
// setup can fix calls NotRun with an id that docs/known-gaps.md lists:
// scripts/test.sh fails on any other skip (tests/cireport).
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// RequirePrivilegedEnv names the variable that turns a missing capability from
// a skip into a failure.
const RequirePrivilegedEnv = "NETLENS_REQUIRE_PRIVILEGED"

// privilegedRequired reports whether missing capabilities must fail tests.
func privilegedRequired() bool {
	return os.Getenv(RequirePrivilegedEnv) == "1" || os.Getenv("CI") == "true"
}

// missing fails or skips t, loudly, because the machine lacks what the test needs.
func missing(t testing.TB, what string) {
	t.Helper()
	if privilegedRequired() {
		t.Fatalf("PRIVILEGED TEST CANNOT RUN: %s (%s=1 requires it)", what, RequirePrivilegedEnv)
	}
	t.Skipf("SKIPPED, NOT RUN: %s (set %s=1 to make this a failure)", what, RequirePrivilegedEnv)
}

// NotRun skips a check that cannot run here, with the line "NOT RUN <id>:
// <reason>" that tests/cireport collects. id names the gap in
// docs/known-gaps.md; a NotRun whose id is not listed there fails CI. A test
// that runs but leaves part of its check undone says so with NotRunPart.
func NotRun(t testing.TB, id, reason string) {
	t.Helper()
	checkGapID(t, id)
	t.Skipf("NOT RUN %s: %s", id, reason)
}

// NotRunPart records that part of a test did not run (see NotRun); the test
// goes on.
func NotRunPart(t testing.TB, id, reason string) {
	t.Helper()
	checkGapID(t, id)
	t.Logf("NOT RUN %s: %s", id, reason)
}

// gapID is the form of a known gap's id (docs/known-gaps.md, tests/cireport).
var gapID = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

func checkGapID(t testing.TB, id string) {
	t.Helper()
	if !gapID.MatchString(id) {
		t.Fatalf("NotRun: id %q is not a known gap's id (lower case, digits, dots and dashes)", id)
	}
}

// RequireRoot makes sure the test runs as root on Linux.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		missing(t, "test needs Linux, this is "+runtime.GOOS)
		return
	}
	if os.Geteuid() != 0 {
		missing(t, "test needs root (network namespaces, eBPF)")
	}
}

// RequireCommands makes sure each command is on PATH.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing(t, fmt.Sprintf("command %q not found on PATH", n))
			return
		}
	}
}

// RequireBTF makes sure the test runs as root on a kernel that exposes BTF,
// which Netlens's CO-RE programs need. Whether a given attach type works is the
// test's own question: it loads and attaches the real program and fails if that
// is refused.
func RequireBTF(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if _, err := btf.LoadKernelSpec(); err != nil {
		missing(t, fmt.Sprintf("kernel BTF not available: %v", err))
	}
}

// RepoRoot returns the repository's top directory (where go.mod lives).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (no go.mod above the test's directory)")
		}
		dir = parent
	}
}

// DatasourceBinary returns the path of the data source backend built by
// `mage -v` for this machine, or fails the test saying how to build it.
// NETLENS_DATASOURCE_BINARY overrides the path.
func DatasourceBinary(t testing.TB) string {
	t.Helper()
	p := os.Getenv("NETLENS_DATASOURCE_BINARY")
	if p == "" {
		name := fmt.Sprintf("gpx_netlens_%s_%s", runtime.GOOS, runtime.GOARCH)
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		p = filepath.Join(RepoRoot(t), "dist", "datasource", name)
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data source binary %s not found: build it first with `mage -v` (or set NETLENS_DATASOURCE_BINARY)", p)
		}
		t.Fatal(err)
	}
	return p
}

// GoBuild compiles the main package pkg (relative to the repository root, e.g.
// "./agent/cmd/netlens-agent") into a temporary directory and returns the binary's
// path. flags go to go build (e.g. -overlay to build with a changed file).
func GoBuild(t testing.TB, pkg, name string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, pkg)...)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// HTTPGet fetches url and returns the status code and body, failing the test
// if the request cannot be made.
func HTTPGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for a child
// process's output read while it runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
