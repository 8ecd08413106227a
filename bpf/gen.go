// Package bpf holds Netlens's eBPF programs (C, compiled with clang into CO-RE
// objects) and the Go bindings bpf2go generates for them. The objects are
// committed so that `go build` needs no clang; `go generate ./bpf` rebuilds them
// and CI fails when the committed files differ from a fresh generation.
//
//   - Drops: tp_btf/kfree_skb, every drop with its reason (5.17+ with BTF).
//   - DropsTracepoint: the classic skb:kfree_skb tracepoint, no BTF needed.
//   - Nfhook: netfilter drops at nf_hook_slow via fentry/fexit or kprobes.
//
// All three share the maps of include/drops.h, so user space reads them alike.
package bpf

//go:generate go tool bpf2go -cc clang -cflags "-Wall -Werror -I./include" -target bpfel -type drop_key -type drop_counts -type drop_event -type event_window -type front_slot Drops drops.c
//go:generate go tool bpf2go -cc clang -cflags "-Wall -Werror -I./include" -target bpfel DropsTracepoint tracepoint.c
//go:generate go tool bpf2go -cc clang -cflags "-Wall -Werror -I./include" -target amd64,arm64 Nfhook nfhook.c
