package windows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Output bounds of vfpctrl: a port list has a few KiB per port; a port's
// counters a few KiB.
const (
	maxListOutput     = 8 << 20
	maxCountersOutput = 1 << 20
	maxStderr         = 4 << 10
)

// ErrOutputTooLarge is returned when a command prints more than its bound.
var ErrOutputTooLarge = errors.New("output exceeds its bound")

// runBounded runs name with args under ctx and returns its standard output,
// failing with ErrOutputTooLarge (and killing the command) past limit bytes.
// A failing command's error carries the start of its standard error, or of
// its output (vfpctrl reports errors there).
func runBounded(ctx context.Context, limit int64, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	// Do not wait forever for pipes held open by a child after a kill.
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr limitedBuffer
	stderr.max = maxStderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, limit+1))
	tooLarge := int64(len(out)) > limit
	if tooLarge {
		_ = cmd.Process.Kill()
	}
	// ReadAll stopped at the end of the output or, when too large, at the
	// bound (the command is killed); Wait closes the pipe either way.
	waitErr := cmd.Wait()
	cmdline := strings.Join(append([]string{name}, args...), " ")
	switch {
	case tooLarge:
		return nil, fmt.Errorf("%s: %w (%d bytes)", cmdline, ErrOutputTooLarge, limit)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: %w", cmdline, ctx.Err())
	case waitErr != nil:
		detail := strings.TrimSpace(stderr.String())
		if detail == "" {
			detail = strings.TrimSpace(string(out[:min(len(out), 300)]))
		}
		if detail != "" {
			return nil, fmt.Errorf("%s: %w: %s", cmdline, waitErr, detail)
		}
		return nil, fmt.Errorf("%s: %w", cmdline, waitErr)
	case readErr != nil:
		return nil, fmt.Errorf("%s: reading output: %w", cmdline, readErr)
	}
	return out, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
