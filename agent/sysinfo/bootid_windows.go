package sysinfo

import (
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// BootID identifies this boot of the machine. Windows has no boot id as
// such: the machine's MachineGuid with the boot counter that Windows keeps
// in the registry (BootId, incremented at every boot) stand in for it, both
// stable while the machine runs. Where either cannot be read, the boot time
// (now minus the time since boot, to the second) does; it can differ by a
// second between two reads, so it is read once per agent start.
func BootID() (string, error) {
	if id, err := registryBootID(); err == nil {
		return id, nil
	}
	boot := time.Now().Add(-windows.DurationSinceBoot())
	return "boot-time-" + boot.UTC().Truncate(time.Second).Format("20060102T150405Z"), nil
}

func registryBootID() (string, error) {
	crypto, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return "", err
	}
	defer crypto.Close()
	machine, _, err := crypto.GetStringValue("MachineGuid")
	if err != nil {
		return "", err
	}
	prefetch, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management\PrefetchParameters`, registry.QUERY_VALUE)
	if err != nil {
		return "", err
	}
	defer prefetch.Close()
	boot, _, err := prefetch.GetIntegerValue("BootId")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-boot-%d", machine, boot), nil
}
