//go:build linux

package drops

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Errors as the loaders return them, wrapped as Open wraps them, classify by
// errno and by what the BTF checks found: a refusal of something the kernel
// has is "not permitted", a missing feature "not supported".
func TestRefusalOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Refusal
	}{
		{fmt.Errorf("loading programs: program nf_hook_slow_entry: load program: %w", unix.EPERM), NotPermitted},
		{fmt.Errorf("attaching: %w", unix.EACCES), NotPermitted},
		{fmt.Errorf("attaching nf_hook_slow_exit: %w", enotsupp), NotSupported},
		{fmt.Errorf("attach: %w", unix.EOPNOTSUPP), NotSupported},
		{fmt.Errorf("creating probe entry on tracefs: open /sys/kernel/tracing/kprobe_events: %w", fs.ErrNotExist), NotSupported},
		{fmt.Errorf("tracing: %w", ebpf.ErrNotSupported), NotSupported},
		{fmt.Errorf("%w: no such file", errNoKernelBTF), NotSupported},
		{fmt.Errorf("%w: %w", errNoKernelBTF, fs.ErrNotExist), NotSupported},
		// BTF that is there but may not be read is a refusal, not a lack.
		{fmt.Errorf("%w: %w", errNoKernelBTF, unix.EACCES), NotPermitted},
		{errNoTarget, NotSupported},
		{fmt.Errorf("%w: kfree_skb has no reason argument", errNoReasonArgument), NotSupported},
		{fmt.Errorf("%w: x", ErrNoReasonEnum), NotSupported},
		// A missing target decides before any errno: the kernel lacks it.
		{fmt.Errorf("%w (after %w)", errNoTarget, unix.EPERM), NotSupported},
		{fmt.Errorf("loading programs: %w", unix.EINVAL), Failed},
		{nil, ""},
	} {
		if got := refusalOf(c.err); got != c.want {
			t.Errorf("refusalOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
