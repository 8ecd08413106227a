// Package bpf holds Netlens's eBPF programs (C, compiled with clang into CO-RE
// objects) and the Go bindings bpf2go generates for them. The objects are
// committed so that `go build` needs no clang; `go generate ./bpf` rebuilds them
// and CI fails when the committed files differ from a fresh generation.
package bpf

//go:generate go tool bpf2go -cc clang -cflags "-Wall -Werror -I./include" -target bpfel Drops drops.c
