package sysinfo

import (
	"time"

	"golang.org/x/sys/windows"
)

// BootID identifies this boot of the machine. Windows has no boot id: the
// boot time (now minus the milliseconds since boot), to the second, stands
// in for it; the agent reads it once, so it does not change while it runs.
func BootID() (string, error) {
	boot := time.Now().Add(-windows.DurationSinceBoot())
	return "boot-time-" + boot.UTC().Truncate(time.Second).Format("20060102T150405Z"), nil
}
