package drops

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Pseudo reasons of the kernel paths that carry no skb_drop_reason; they
// match NETLENS_REASON_* in bpf/include/drops.h.
const (
	ReasonUnknown   uint32 = 0xffffff00
	ReasonNetfilter uint32 = 0xffffff01
)

// Reasons names the numeric drop reasons of one kernel.
type Reasons struct {
	names map[uint32]string
	// subsysShift and subsystems decode reasons of subsystems (mac80211,
	// openvswitch) that kernels 6.4+ place above the core reasons.
	subsysShift uint32
	subsystems  map[uint32]string
}

// Name returns the kernel's name for reason v without the SKB_DROP_REASON_
// prefix, e.g. NO_SOCKET; numbers the kernel does not name become UNKNOWN_<n>.
func (r Reasons) Name(v uint32) string {
	switch v {
	case ReasonUnknown:
		return "UNKNOWN"
	case ReasonNetfilter:
		return "NETFILTER_DROP"
	}
	if n, ok := r.names[v]; ok {
		return n
	}
	if r.subsysShift > 0 {
		if sub, ok := r.subsystems[v>>r.subsysShift]; ok && v>>r.subsysShift != 0 {
			return fmt.Sprintf("%s_%d", sub, v&(1<<r.subsysShift-1))
		}
	}
	return "UNKNOWN_" + strconv.FormatUint(uint64(v), 10)
}

// Value returns the number of the reason called name on this kernel.
func (r Reasons) Value(name string) (uint32, bool) {
	for v, n := range r.names {
		if n == name {
			return v, true
		}
	}
	return 0, false
}

// Len is how many reasons the kernel names.
func (r Reasons) Len() int { return len(r.names) }

// Names lists the reasons the kernel names (core and subsystem enums), sorted.
func (r Reasons) Names() []string {
	out := make([]string, 0, len(r.names))
	for _, n := range r.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ErrNoReasonEnum means the kernel's BTF has no enum skb_drop_reason (before 5.17).
var ErrNoReasonEnum = errors.New("kernel BTF has no enum skb_drop_reason")

// ReasonsFromBTF reads the reason names from a kernel's BTF: the enum
// skb_drop_reason and, where present, the subsystem enums whose values carry
// the subsystem in their upper bits.
func ReasonsFromBTF(spec *btf.Spec) (Reasons, error) {
	var e *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &e); err != nil {
		return Reasons{}, fmt.Errorf("%w: %v", ErrNoReasonEnum, err)
	}
	r := reasonsFromEnum(e)

	var subsys *btf.Enum
	if spec.TypeByName("skb_drop_reason_subsys", &subsys) == nil {
		r.subsystems = map[uint32]string{}
		for _, v := range subsys.Values {
			name := strings.TrimPrefix(v.Name, "SKB_DROP_REASON_SUBSYS_")
			if name != "NUM" {
				r.subsystems[uint32(v.Value)] = "SUBSYS_" + name
			}
		}
		// SKB_DROP_REASON_SUBSYS_SHIFT is a #define, not in BTF; it has been 16
		// since subsystems appeared (6.4), matching SUBSYS_MASK 0xffff0000.
		r.subsysShift = 16
		// Subsystems name their own reasons in enums such as ovs_drop_reason,
		// present when the subsystem is built in.
		for _, enumName := range []string{"mac80211_drop_reason", "ovs_drop_reason"} {
			var se *btf.Enum
			if spec.TypeByName(enumName, &se) != nil {
				continue
			}
			for _, v := range se.Values {
				if uint32(v.Value)>>16 != 0 {
					r.names[uint32(v.Value)] = v.Name
				}
			}
		}
	}
	return r, nil
}

func reasonsFromEnum(e *btf.Enum) Reasons {
	r := Reasons{names: map[uint32]string{}}
	for _, v := range e.Values {
		name := v.Name
		switch {
		case strings.HasPrefix(name, "SKB_DROP_REASON_"):
			name = strings.TrimPrefix(name, "SKB_DROP_REASON_")
		case strings.HasPrefix(name, "SKB_"):
			// SKB_NOT_DROPPED_YET, SKB_CONSUMED
			name = strings.TrimPrefix(name, "SKB_")
		}
		if name == "MAX" || name == "SUBSYS_MASK" {
			continue
		}
		r.names[uint32(v.Value)] = name
	}
	return r
}

var symbolicPair = regexp.MustCompile(`\{\s*(\d+)\s*,\s*"([A-Z0-9_]+)"\s*\}`)

// ReasonsFromTracepointFormat reads reason names from the print format of the
// skb:kfree_skb tracepoint (its __print_symbolic table), for kernels whose
// BTF is missing.
func ReasonsFromTracepointFormat(format string) Reasons {
	r := Reasons{names: map[uint32]string{}}
	_, printFmt, ok := strings.Cut(format, "print fmt:")
	if !ok {
		return r
	}
	for _, m := range symbolicPair.FindAllStringSubmatch(printFmt, -1) {
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil || m[2] == "MAX" {
			continue
		}
		r.names[uint32(v)] = m[2]
	}
	return r
}
