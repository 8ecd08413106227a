//go:build !linux && !windows

package sysinfo

import (
	"fmt"
	"runtime"
)

// BootID is not implemented here: the agent reports no boot id.
func BootID() (string, error) {
	return "", fmt.Errorf("boot id not implemented on %s", runtime.GOOS)
}
