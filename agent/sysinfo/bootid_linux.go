package sysinfo

import (
	"os"
	"strings"
)

// BootID identifies this boot of the machine: the kernel's random boot id,
// new at every boot and different on every machine. With the node name it
// tells apart agents that call themselves alike (docs/api.md).
func BootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
