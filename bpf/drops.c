//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet drops seen by the kernel's skb:kfree_skb tracepoint, counted in the
 * kernel per drop reason, so that user space reads a handful of map entries per
 * scrape whatever the drop rate.
 */
#include "netlens.h"

char __license[] SEC("license") = "Dual BSD/GPL";

struct drop_counts {
	u64 packets;
	u64 bytes;
};

/* Keyed by the kernel's enum skb_drop_reason value; names come from BTF in Go. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct drop_counts);
} drops_by_reason SEC(".maps");

/* Index 0: drops that could not be counted because drops_by_reason was full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

/*
 * Values are placeholders: bpf_core_enum_value relocates them against the running
 * kernel's BTF, because the numbering differs between kernels.
 */
enum skb_drop_reason {
	SKB_CONSUMED = 1,
};

/* Kernels that route consumed (freed, not dropped) skbs through kfree_skb say so with SKB_CONSUMED. */
static __always_inline int is_drop(u32 reason)
{
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	return 1;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(count_drop, struct sk_buff *skb, void *location, u32 reason)
{
	if (!is_drop(reason))
		return 0;

	u64 len = BPF_CORE_READ(skb, len);
	struct drop_counts *c = bpf_map_lookup_elem(&drops_by_reason, &reason);
	if (c) {
		c->packets++;
		c->bytes += len;
		return 0;
	}

	struct drop_counts init = { .packets = 1, .bytes = len };
	if (bpf_map_update_elem(&drops_by_reason, &reason, &init, BPF_NOEXIST) == 0)
		return 0;
	/* Another CPU may have inserted the key meanwhile (per-CPU value: ours is still zero). */
	c = bpf_map_lookup_elem(&drops_by_reason, &reason);
	if (c) {
		c->packets++;
		c->bytes += len;
		return 0;
	}
	u32 zero = 0;
	u64 *l = bpf_map_lookup_elem(&lost, &zero);
	if (l)
		(*l)++;
	return 0;
}
