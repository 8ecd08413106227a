// Package drops loads Netlens's drop programs into the kernel and reads what
// they count.
//
// Sources, tried in this order unless one is forced:
//
//   - tp_btf: tp_btf/kfree_skb, every drop with the kernel's drop reason,
//     addresses and protocol (kernels 5.17+ with BTF).
//   - tracepoint: the classic skb:kfree_skb tracepoint, for kernels without
//     BTF: reason (5.17+), location and protocol, no addresses or bytes.
//   - fexit: fentry/fexit on nf_hook_slow, netfilter drops only, with addresses.
//   - kprobe: the same through kprobe/kretprobe.
//
// Counts are aggregated in the kernel in one of two tables; Drain swaps in the
// other table and reads the previous one. With a pin path, programs, links and
// maps are pinned in bpffs, so the kernel keeps counting while the agent
// restarts and the next agent reads what happened meanwhile.
package drops
