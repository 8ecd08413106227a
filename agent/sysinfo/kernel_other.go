//go:build !linux

package sysinfo

import (
	"fmt"
	"runtime"
)

// KernelRelease is only implemented on Linux so far; Windows builds report their OS.
func KernelRelease() (string, error) {
	return "", fmt.Errorf("kernel release not implemented on %s", runtime.GOOS)
}
