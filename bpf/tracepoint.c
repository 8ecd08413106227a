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

	/* The tracepoint stores the protocol in host order. */
	struct flow f = { .ethertype = protocol };
	/* The record has no length: bytes are not known on this path. */
	count_flow(&f, location, reason, 0);
	struct drop_event *e = reserve_event(&f, location, reason, 0);
	if (e)
		bpf_ringbuf_submit(e, 0);
	return 0;
}
