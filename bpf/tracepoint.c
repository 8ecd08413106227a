//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fallback for kernels without BTF: the classic skb:kfree_skb tracepoint. No
 * CO-RE, so no skb fields: only what the tracepoint record carries (location,
 * protocol and, on 5.17+, the reason), at offsets the loader reads from the
 * tracepoint's format file.
 */
#include "netlens.h"
#include "drops.h"

char __license[] SEC("license") = "Dual BSD/GPL";

volatile const u32 off_location = 16;
volatile const u32 off_protocol = 24;
/* 0: the record has no reason field. */
volatile const u32 off_reason = 0;
/* Reason value to ignore (SKB_CONSUMED), or 0xffffffff. */
volatile const u32 consumed_reason = 0xffffffff;

SEC("tracepoint/skb/kfree_skb")
int kfree_skb_tracepoint(void *ctx)
{
	u64 location = 0;
	u16 protocol = 0;
	u32 reason = NETLENS_REASON_UNKNOWN;

	bpf_probe_read_kernel(&location, sizeof(location), ctx + off_location);
	bpf_probe_read_kernel(&protocol, sizeof(protocol), ctx + off_protocol);
	if (off_reason)
		bpf_probe_read_kernel(&reason, sizeof(reason), ctx + off_reason);
	if (reason == consumed_reason)
		return 0;

	struct drop_key key = {
		.location = location,
		.reason = reason,
		.ethertype = protocol, /* the tracepoint stores it in host order */
	};
	/* The record has no length: bytes are not known on this path. */
	count_drop(&key, 0);

	if (!event_allowed())
		return 0;
	struct drop_event *e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	if (!e) {
		add_stat(STAT_RING_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ktime_ns = bpf_ktime_get_ns();
	e->location = location;
	e->reason = reason;
	e->ethertype = key.ethertype;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
