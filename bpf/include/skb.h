/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading a dropped skb's addresses and ports (CO-RE). */
#pragma once

#include "drops.h"

/*
 * Programs whose skb is a BTF-typed argument (tp_btf, fentry) read its fields
 * directly: the verifier turns those loads into fault-safe loads, far cheaper
 * than a helper call per field. Others (kprobes) go through
 * bpf_probe_read_kernel. Define SKB_DIRECT_ACCESS before including this file
 * to choose the former.
 */
#ifdef SKB_DIRECT_ACCESS
#define SKB_READ(skb, field) ((skb)->field)
#define DEV_NETNS(dev) ((dev)->nd_net.net->ns.inum)
#define SK_NETNS(sk) ((sk)->__sk_common.skc_net.net->ns.inum)
#else
#define SKB_READ(skb, field) BPF_CORE_READ(skb, field)
#define DEV_NETNS(dev) BPF_CORE_READ(dev, nd_net.net, ns.inum)
#define SK_NETNS(sk) BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum)
#endif

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58
#define IPPROTO_SCTP 132

/* Packet layouts are ABI: plain structs, not relocated. */
struct nl_iphdr {
	u8 version_ihl;
	u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	u8 ttl;
	u8 protocol;
	u16 check;
	u8 saddr[4];
	u8 daddr[4];
};

struct nl_ipv6hdr {
	u8 version_prio;
	u8 flow_lbl[3];
	__be16 payload_len;
	u8 nexthdr;
	u8 hop_limit;
	u8 saddr[16];
	u8 daddr[16];
};

/* Ports (or ICMP type and code) and TCP flags from the transport header at l4. */
static __always_inline void parse_l4(const u8 *l4, struct flow *f)
{
	switch (f->l4proto) {
	case IPPROTO_TCP:
		f->tcp_flags = l4[13];
		/* fall through */
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		f->sport = ((u16)l4[0] << 8) | l4[1];
		f->dport = ((u16)l4[2] << 8) | l4[3];
		return;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		f->sport = l4[0]; /* type */
		f->dport = l4[1]; /* code */
		return;
	}
}

#define L4_BYTES 14 /* enough for ports and the TCP flags */

/*
 * Fills f from the skb's network header, trusted only when skb->protocol says
 * IP. One read covers the IP header and the start of the transport header in
 * the common case (no IPv4 options, no IPv6 extension headers).
 */
static __always_inline void parse_skb(struct sk_buff *skb, struct flow *f)
{
	unsigned char *head = SKB_READ(skb, head);
	u16 nh = SKB_READ(skb, network_header);
	f->ethertype = bpf_ntohs(SKB_READ(skb, protocol));
	if (!head)
		return;

	if (f->ethertype == ETH_P_IP) {
		struct {
			struct nl_iphdr ip;
			u8 l4[L4_BYTES];
		} h;
		if (bpf_probe_read_kernel(&h, sizeof(h), head + nh) || (h.ip.version_ihl >> 4) != 4)
			return;
		f->family = FAMILY_IPV4;
		f->l4proto = h.ip.protocol;
		__builtin_memcpy(f->saddr, h.ip.saddr, 4);
		__builtin_memcpy(f->daddr, h.ip.daddr, 4);
		/* Later fragments carry no transport header. */
		if (bpf_ntohs(h.ip.frag_off) & 0x1fff)
			return;
		u32 ihl = (h.ip.version_ihl & 0xf) * 4;
		if (ihl == sizeof(h.ip)) {
			parse_l4(h.l4, f);
		} else {
			u8 l4[L4_BYTES];
			if (!bpf_probe_read_kernel(l4, sizeof(l4), head + nh + ihl))
				parse_l4(l4, f);
		}
		return;
	}
	if (f->ethertype == ETH_P_IPV6) {
		struct {
			struct nl_ipv6hdr ip6;
			u8 l4[L4_BYTES];
		} h;
		if (bpf_probe_read_kernel(&h, sizeof(h), head + nh) || (h.ip6.version_prio >> 4) != 6)
			return;
		f->family = FAMILY_IPV6;
		__builtin_memcpy(f->saddr, h.ip6.saddr, 16);
		__builtin_memcpy(f->daddr, h.ip6.daddr, 16);
		u8 next = h.ip6.nexthdr;
		if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60) {
			f->l4proto = next;
			parse_l4(h.l4, f);
			return;
		}
		u32 off = nh + sizeof(h.ip6);
#pragma unroll
		for (int i = 0; i < 6; i++) {
			u8 ext[4];
			if (next == 0 || next == 43 || next == 60) { /* hop-by-hop, routing, destination */
				if (bpf_probe_read_kernel(ext, 2, head + off))
					return;
				next = ext[0];
				off += (ext[1] + 1) * 8;
			} else if (next == 51) { /* AH */
				if (bpf_probe_read_kernel(ext, 2, head + off))
					return;
				next = ext[0];
				off += (ext[1] + 2) * 4;
			} else if (next == 44) { /* fragment */
				if (bpf_probe_read_kernel(ext, 4, head + off))
					return;
				next = ext[0];
				off += 8;
				if ((((u16)ext[2] << 8) | ext[3]) & 0xfff8) {
					f->l4proto = next;
					return;
				}
			} else {
				break;
			}
		}
		f->l4proto = next;
		u8 l4[L4_BYTES];
		if (!bpf_probe_read_kernel(l4, sizeof(l4), head + off))
			parse_l4(l4, f);
	}
}

/*
 * skb->dev of an skb: its index and the inode of its network namespace (an
 * index means nothing without its namespace, so both or neither).
 */
static __always_inline int skb_dev(struct sk_buff *skb, u32 *ifindex, u32 *netns)
{
	struct net_device *dev = SKB_READ(skb, dev);
	if (dev) {
		*ifindex = SKB_READ(dev, ifindex);
		*netns = DEV_NETNS(dev);
		if (*ifindex && *netns)
			return 1;
	}
	*ifindex = 0;
	*netns = 0;
	return 0;
}

/*
 * The device of a dropped skb: skb->dev (skb_dev), or when the skb has none
 * (queued to a socket, the kernel clears the field or reuses it, as UDP does
 * for its scratch data) the device it arrived on, skb_iif, in its socket's
 * namespace. For sampled drops only: the fallback costs reads that packets
 * passing a hook need not pay.
 */
static __always_inline void skb_device(struct sk_buff *skb, u32 *ifindex, u32 *netns)
{
	if (skb_dev(skb, ifindex, netns))
		return;
	struct sock *sk = SKB_READ(skb, sk);
	u32 iif = SKB_READ(skb, skb_iif);
	if (!sk || !iif)
		return;
	u32 ns = SK_NETNS(sk);
	if (ns) {
		*ifindex = iif;
		*netns = ns;
	}
}

/* Counts a drop of skb and samples it to the event ring. */
static __always_inline void record_skb_drop(struct sk_buff *skb, u64 location, u32 reason)
{
	struct flow f = {};
	parse_skb(skb, &f);
	u32 len = SKB_READ(skb, len);
	count_flow(&f, location, reason, len);

	struct drop_event *e = reserve_event(&f, location, reason, len);
	if (!e)
		return;
	/* Read only for sampled drops: off the hot path. */
	skb_device(skb, &e->ifindex, &e->netns);
	bpf_ringbuf_submit(e, 0);
}
