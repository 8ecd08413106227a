package windows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/testenv"
)

// needSh makes sure a POSIX sh can stand in for vfpctrl.
func needSh(t *testing.T) {
	t.Helper()
	testenv.RequireCommands(t, "sh")
}

// A command's whole output is returned when within the bound.
func TestRunBoundedOutput(t *testing.T) {
	needSh(t)
	out, err := runBounded(context.Background(), 100, "sh", "-c", "printf 'Port name : X\\r\\n'")
	if err != nil || string(out) != "Port name : X\r\n" {
		t.Fatalf("out %q err %v", out, err)
	}
}

// returns runs f and fails the test if it has not returned within
// testenv.Patience: the failure it looks for is a call that never returns.
func returns(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(testenv.Patience):
		t.Fatalf("%s: still running after %v", what, testenv.Patience)
		return nil
	}
}

// Output past the bound fails with ErrOutputTooLarge and kills the command
// instead of reading it all.
func TestRunBoundedTooLarge(t *testing.T) {
	needSh(t)
	err := returns(t, "endless output not cut short", func() error {
		_, err := runBounded(context.Background(), 1000, "sh", "-c", "while :; do echo 0123456789; done")
		return err
	})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err = %v, want ErrOutputTooLarge", err)
	}
}

// A failing command's error carries its standard error, or its output when
// standard error is empty (vfpctrl prints "ERROR: ..." to its output).
func TestRunBoundedFailure(t *testing.T) {
	needSh(t)
	_, err := runBounded(context.Background(), 1000, "sh", "-c", "echo 'access denied' >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("err = %v", err)
	}
	_, err = runBounded(context.Background(), 1000, "sh", "-c", "echo 'ERROR: port not found'; exit 1")
	if err == nil || !strings.Contains(err.Error(), "ERROR: port not found") {
		t.Fatalf("err = %v", err)
	}
}

// The scrape's deadline ends a hanging command promptly.
func TestRunBoundedHonoursContext(t *testing.T) {
	needSh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// The command would outlast the wait by far: only the deadline ends it.
	hang := fmt.Sprintf("exec sleep %d", int(10*testenv.Patience.Seconds()))
	err := returns(t, "hanging command not ended by the deadline", func() error {
		_, err := runBounded(ctx, 1000, "sh", "-c", hang)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// Without vfpctrl on the PATH the error is ErrNoVfpctrl, which says where
// vfpctrl comes from.
func TestRunVfpctrlMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := RunVfpctrl(context.Background(), 100, "/list-vmswitch-port")
	if !errors.Is(err, ErrNoVfpctrl) || !strings.Contains(err.Error(), "HostProcess") {
		t.Fatalf("err = %v, want ErrNoVfpctrl", err)
	}
}
