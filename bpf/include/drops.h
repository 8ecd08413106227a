/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drop accounting shared by every drop program: the key user space turns into
 * metrics, the double-buffered count tables, the sampled event ring, and the
 * counters of what could not be recorded.
 *
 * Needs no kernel type: programs without CO-RE (the classic tracepoint) use it too.
 */
#pragma once

/* Pseudo reasons for kernel paths that carry no skb_drop_reason. Real reasons
 * are small numbers; user space names these. */
#define NETLENS_REASON_UNKNOWN 0xffffff00
#define NETLENS_REASON_NETFILTER 0xffffff01

#define DROP_TABLE_ENTRIES 16384

/* Address family as stored in keys and events. */
#define FAMILY_NONE 0
#define FAMILY_IPV4 4
#define FAMILY_IPV6 6

struct drop_key {
	u64 location;   /* kernel address of the dropping code (0 if unknown) */
	u32 reason;     /* enum skb_drop_reason value or NETLENS_REASON_* */
	u8 family;      /* FAMILY_* */
	u8 l4proto;     /* IPPROTO_* when family is set */
	u16 ethertype;  /* skb->protocol, host order */
	u8 saddr[16];   /* IPv4 in the first 4 bytes */
	u8 daddr[16];
};

/* What a program learned about a dropped packet (zero where it could not tell). */
struct flow {
	u16 ethertype;
	u8 family;
	u8 l4proto;
	u16 sport;
	u16 dport;
	u8 tcp_flags;
	u8 saddr[16];
	u8 daddr[16];
};

struct drop_counts {
	u64 packets;
	u64 bytes;
};

struct drop_event {
	u64 ktime_ns;   /* CLOCK_MONOTONIC */
	u64 location;
	u32 reason;
	u32 len;
	u32 ifindex;    /* the device's index in its namespace, 0 if unknown */
	u32 netns;      /* inode of the device's network namespace, 0 if unknown */
	u16 sport;      /* host order; ICMP type for ICMP */
	u16 dport;      /* host order; ICMP code for ICMP */
	u16 ethertype;
	u8 family;
	u8 l4proto;
	u8 saddr[16];
	u8 daddr[16];
	u8 tcp_flags;
	u8 _pad[7];
};

/* What could not be recorded, per CPU, indexed by enum drop_stat. */
enum drop_stat {
	STAT_TABLE_FULL = 0,   /* a drop's key did not fit in the count table */
	STAT_NO_TABLE = 1,     /* no front or count table installed (user space bug) */
	STAT_RING_FULL = 2,    /* a sampled event did not fit in the ring */
	STAT_MAX = 3,
};

struct drop_table {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DROP_TABLE_ENTRIES);
	__type(key, struct drop_key);
	__type(value, struct drop_counts);
};

/* The two count tables, at fixed indices; which one programs count into is
 * decided by the installed front (below). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct drop_table);
} drop_tables SEC(".maps");

/*
 * A per-CPU, direct-mapped cache in front of the count table: a drop whose key
 * is in its slot costs an array index and a compare instead of a hash table
 * update; a different key moves the slot's counts into the table first. Drop
 * floods come from few flows, so the table sees a fraction of the drops.
 *
 * Each front names its table in its last element (FRONT_PAIR_SLOT, in
 * .packets), so that installing a front switches front and table in one
 * step: user space installs the other front, then reads and clears the
 * previous one and its table. Replacing an element of a map-of-maps waits
 * for running programs (synchronize_rcu), so the read is exact, and every
 * count stays in the pair it was counted in, in exactly one slot or entry.
 */
#define FRONT_SLOTS_LOG2 8
#define FRONT_SLOTS (1 << FRONT_SLOTS_LOG2)
#define FRONT_PAIR_SLOT FRONT_SLOTS

struct front_slot {
	struct drop_key key;
	u64 packets;
	u64 bytes;
};

struct drop_front {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FRONT_SLOTS + 1);
	__type(key, u32);
	__type(value, struct front_slot);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, u32);
	__array(values, struct drop_front);
} drop_fronts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, u32);
	__type(value, u64);
} drop_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} drop_events SEC(".maps");

/*
 * Per-CPU event sampling: at most limit events per second and CPU. limit is
 * written by user space (per CPU, in this same value, so that a drop costs one
 * lookup); a program left attached across an agent restart follows the new
 * agent's setting.
 */
struct event_window {
	u64 start_ns;
	u32 sent;
	u32 limit;   /* 0: no events */
	u64 limited; /* drops not sampled because of the limit (by design, not lost) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct event_window);
} event_rate SEC(".maps");

/* Types used only inside inlined functions would reach BTF as forward
 * declarations; these globals emit them whole (maps and bpf2go need them). */
const struct drop_key *unused_drop_key __attribute__((unused));
const struct drop_counts *unused_drop_counts __attribute__((unused));
const struct drop_event *unused_drop_event __attribute__((unused));
const struct front_slot *unused_front_slot __attribute__((unused));

static __always_inline void add_stat(u32 stat, u64 n)
{
	u64 *v = bpf_map_lookup_elem(&drop_stats, &stat);
	if (v)
		*v += n;
}

/* Adds packets and bytes to key's entry in table. */
static __always_inline void count_in_table(void *table, const struct drop_key *key, u64 packets, u64 bytes)
{
	if (!table) {
		add_stat(STAT_NO_TABLE, packets);
		return;
	}
	struct drop_counts *c = bpf_map_lookup_elem(table, key);
	if (!c) {
		struct drop_counts init = {};
		/* EEXIST from a racing CPU is fine: the lookup below finds the entry. */
		bpf_map_update_elem(table, key, &init, BPF_NOEXIST);
		c = bpf_map_lookup_elem(table, key);
		if (!c) {
			add_stat(STAT_TABLE_FULL, packets);
			return;
		}
	}
	/* Per-CPU value, and the program cannot nest on a CPU: no atomics needed. */
	c->packets += packets;
	c->bytes += bytes;
}

/* The count table front is paired with (NULL if none). */
static __always_inline void *paired_table(void *front)
{
	u32 k = FRONT_PAIR_SLOT;
	struct front_slot *pair = bpf_map_lookup_elem(front, &k);
	if (!pair)
		return 0;
	u32 index = pair->packets;
	return bpf_map_lookup_elem(&drop_tables, &index);
}

/* Multiplicative hashing of the key's six words into a front slot. */
static __always_inline u32 front_slot_of(const struct drop_key *key)
{
	const u64 *w = (const u64 *)key;
	u64 h = 0;
#pragma unroll
	for (int i = 0; i < sizeof(*key) / 8; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
	return h >> (64 - FRONT_SLOTS_LOG2);
}

static __always_inline int same_key(const struct drop_key *a, const struct drop_key *b)
{
	const u64 *x = (const u64 *)a, *y = (const u64 *)b;
	u64 diff = 0;
#pragma unroll
	for (int i = 0; i < sizeof(*a) / 8; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

static __always_inline void count_drop(const struct drop_key *key, u32 len)
{
	u32 zero = 0;
	void *front = bpf_map_lookup_elem(&drop_fronts, &zero);
	if (!front) {
		add_stat(STAT_NO_TABLE, 1);
		return;
	}
	u32 slot = front_slot_of(key);
	struct front_slot *s = bpf_map_lookup_elem(front, &slot);
	if (!s) {
		count_in_table(paired_table(front), key, 1, len);
		return;
	}
	/* Another key's slot: move its counts to the table and take it over. */
	if (!same_key(&s->key, key)) {
		if (s->packets)
			count_in_table(paired_table(front), &s->key, s->packets, s->bytes);
		s->key = *key;
		s->packets = 0;
		s->bytes = 0;
	}
	s->packets++;
	s->bytes += len;
}

/* Returns whether an event may be sent now, per CPU and second. */
static __always_inline int event_allowed(void)
{
	u32 zero = 0;
	struct event_window *w = bpf_map_lookup_elem(&event_rate, &zero);
	if (!w || w->limit == 0)
		return 0;
	if (w->sent < w->limit) {
		w->sent++;
		return 1;
	}
	/* At the limit a new second may have begun. Looking at the clock on every
	 * 32nd refusal only keeps it off the hot path at high drop rates. */
	if ((w->limited++ & 31) == 0) {
		u64 now = bpf_ktime_get_ns();
		if (now - w->start_ns >= 1000000000ULL) {
			w->start_ns = now;
			w->sent = 1;
			w->limited--;
			return 1;
		}
	}
	return 0;
}

/* Counts a drop of flow f in the installed table. */
static __always_inline void count_flow(const struct flow *f, u64 location, u32 reason, u32 len)
{
	struct drop_key key = {
		.location = location,
		.reason = reason,
		.family = f->family,
		.l4proto = f->l4proto,
		.ethertype = f->ethertype,
	};
	__builtin_memcpy(key.saddr, f->saddr, 16);
	__builtin_memcpy(key.daddr, f->daddr, 16);
	count_drop(&key, len);
}

/*
 * Samples a drop of flow f: returns an event filled from f, for the caller
 * to complete (ifindex, netns) and submit, or NULL when the rate limit
 * refuses it or the ring is full (counted).
 */
static __always_inline struct drop_event *reserve_event(const struct flow *f, u64 location, u32 reason, u32 len)
{
	if (!event_allowed())
		return 0;
	struct drop_event *e = bpf_ringbuf_reserve(&drop_events, sizeof(*e), 0);
	if (!e) {
		add_stat(STAT_RING_FULL, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ktime_ns = bpf_ktime_get_ns();
	e->location = location;
	e->reason = reason;
	e->len = len;
	e->sport = f->sport;
	e->dport = f->dport;
	e->ethertype = f->ethertype;
	e->family = f->family;
	e->l4proto = f->l4proto;
	e->tcp_flags = f->tcp_flags;
	__builtin_memcpy(e->saddr, f->saddr, 16);
	__builtin_memcpy(e->daddr, f->daddr, 16);
	return e;
}
