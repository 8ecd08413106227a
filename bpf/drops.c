//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every packet drop the kernel reports through skb:kfree_skb with its drop
 * reason (kernels 5.17+ with BTF): counted in the kernel per reason, location,
 * protocol and addresses, and sampled to the event ring.
 */
#include "netlens.h"
#define SKB_DIRECT_ACCESS
#include "skb.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/* Placeholder values: bpf_core_enum_value relocates them against the kernel's BTF. */
enum skb_drop_reason {
	SKB_CONSUMED = 1,
};

SEC("tp_btf/kfree_skb")
int BPF_PROG(kfree_skb_reason, struct sk_buff *skb, void *location, u32 reason)
{
	/* Kernels that route freed-not-dropped skbs through kfree_skb mark them CONSUMED. */
	if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_CONSUMED) &&
	    reason == bpf_core_enum_value(enum skb_drop_reason, SKB_CONSUMED))
		return 0;
	record_skb_drop(skb, (u64)location, reason);
	return 0;
}
