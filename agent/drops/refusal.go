//go:build linux

package drops

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// Refusal says why a drop source could not be used, so that operators know
// whether another kernel or more permissions would help.
type Refusal string

const (
	// NotSupported: the kernel lacks what the source needs (no BTF, no drop
	// reason, no kprobe events, an untraceable nf_hook_slow).
	NotSupported Refusal = "not supported"
	// NotPermitted: the kernel has it, but loading or attaching was refused
	// with EPERM or EACCES: missing capabilities, an LSM, lockdown or a
	// sandbox's policy.
	NotPermitted Refusal = "not permitted"
	// Failed: any other error.
	Failed Refusal = "failed"
)

// enotsupp is the kernel's internal ENOTSUPP (524), which BPF attach paths
// return to user space for a missing trampoline or ftrace feature.
const enotsupp = syscall.Errno(524)

// errNoTarget means nf_hook_slow is not in the kernel's BTF: the fexit and
// kprobe sources have nothing to attach to.
var errNoTarget = errors.New("nf_hook_slow is not a traceable function of this kernel (absent from its BTF)")

// refusalOf classifies err, the reason src failed. What the BTF checks found
// missing decides first (the fexit source checks its target in BTF, so a
// kernel without it is "not supported" before any syscall); then errnos:
// EPERM and EACCES are refusals of something the kernel has (also of reading
// its BTF: a masked /sys/kernel/btf/vmlinux is no missing feature); missing
// kernel features are ENOTSUPP, EOPNOTSUPP, ENOENT (no BTF file, no tracefs
// kprobe_events, no tracepoint, no such kernel symbol) or the library's
// ErrNotSupported.
func refusalOf(err error) Refusal {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errNoTarget), errors.Is(err, ErrNoReasonEnum), errors.Is(err, errNoReasonArgument):
		return NotSupported
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return NotPermitted
	case errors.Is(err, errNoKernelBTF), errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, enotsupp),
		errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, os.ErrNotExist):
		return NotSupported
	}
	return Failed
}

// errNoKernelBTF wraps a failure to read the kernel's BTF.
var errNoKernelBTF = errors.New("kernel BTF")

// checkNfhookTarget makes sure nf_hook_slow is a function in the kernel's
// BTF, which fentry/fexit need. (Kprobes need only the symbol: pahole leaves
// some functions out of BTF, so the kprobe source asks the kernel instead.)
func checkNfhookTarget(kernel *btf.Spec) error {
	var fn *btf.Func
	if err := kernel.TypeByName("nf_hook_slow", &fn); err != nil {
		return errNoTarget
	}
	return nil
}

// permissionHint explains a NotPermitted refusal from the agent's effective
// capabilities: without CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) the agent
// needs them; with them, something else (an LSM, lockdown, the sandbox)
// refuses what the kernel supports.
func permissionHint() string {
	caps, err := effectiveCaps()
	if err != nil {
		return "effective capabilities unknown: " + err.Error()
	}
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	if last, err := capLastCap(); err == nil && last < unix.CAP_BPF {
		// Before 5.8 the kernel has no CAP_BPF or CAP_PERFMON to grant.
		if has(unix.CAP_SYS_ADMIN) {
			return "the agent has CAP_SYS_ADMIN, which this kernel (before 5.8: no CAP_BPF) needs: an LSM, lockdown or the sandbox refuses what the kernel supports"
		}
		return "the agent lacks CAP_SYS_ADMIN, which this kernel (before 5.8: no CAP_BPF or CAP_PERFMON) needs for eBPF"
	}
	if has(unix.CAP_SYS_ADMIN) || (has(unix.CAP_BPF) && has(unix.CAP_PERFMON)) {
		return "the agent has CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): the kernel supports this but an LSM, lockdown or the sandbox refuses it"
	}
	return "the agent lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"
}

// capLastCap is the highest capability the running kernel knows.
func capLastCap() (uint, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	return uint(n), err
}

// effectiveCaps reads CapEff of /proc/self/status.
func effectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}
