//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fallback for kernels whose kfree_skb carries no drop reason: netfilter drops
 * only, seen at nf_hook_slow, which returns a negative errno when a rule said
 * NF_DROP. The skb is parsed on entry (it is freed by the time the function
 * returns) and counted on exit. Two attachments of the same logic: fentry/fexit
 * (BTF, 5.5+) and kprobe/kretprobe (no BTF trampolines needed).
 */
#include "netlens.h"
#include "skb.h"

char __license[] SEC("license") = "Dual BSD/GPL";

struct pending {
	struct flow flow;
	u32 len;
	u32 ifindex;
	u32 netns;
	u32 _pad;
};

/* Entry state: keyed by skb address for fentry/fexit, by task for kprobes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, struct pending);
} nf_pending SEC(".maps");

static __always_inline void on_entry(u64 id, struct sk_buff *skb)
{
	struct pending p = {};
	parse_skb(skb, &p.flow);
	p.len = SKB_READ(skb, len);
	/* Every packet passing a hook comes here, not only drops: skb->dev alone
	 * (netfilter hooks see it, but at LOCAL_OUT, where there is none yet). */
	skb_dev(skb, &p.ifindex, &p.netns);
	bpf_map_update_elem(&nf_pending, &id, &p, BPF_ANY);
}

static __always_inline void on_exit(u64 id, int ret)
{
	struct pending *p = bpf_map_lookup_elem(&nf_pending, &id);
	if (!p)
		return;
	if (ret < 0) {
		count_flow(&p->flow, 0, NETLENS_REASON_NETFILTER, p->len);
		struct drop_event *e = reserve_event(&p->flow, 0, NETLENS_REASON_NETFILTER, p->len);
		if (e) {
			e->ifindex = p->ifindex;
			e->netns = p->netns;
			bpf_ringbuf_submit(e, 0);
		}
	}
	bpf_map_delete_elem(&nf_pending, &id);
}

SEC("fentry/nf_hook_slow")
int BPF_PROG(nf_hook_slow_entry, struct sk_buff *skb)
{
	on_entry((u64)skb, skb);
	return 0;
}

SEC("fexit/nf_hook_slow")
int BPF_PROG(nf_hook_slow_exit, struct sk_buff *skb, void *state, void *entries, unsigned int s, int ret)
{
	on_exit((u64)skb, ret);
	return 0;
}

SEC("kprobe/nf_hook_slow")
int BPF_KPROBE(nf_hook_slow_kprobe, struct sk_buff *skb)
{
	on_entry(bpf_get_current_pid_tgid(), skb);
	return 0;
}

SEC("kretprobe/nf_hook_slow")
int BPF_KRETPROBE(nf_hook_slow_kretprobe, int ret)
{
	on_exit(bpf_get_current_pid_tgid(), ret);
	return 0;
}
