//go:build linux && arm64

package drops

import (
	"github.com/cilium/ebpf"

	"github.com/netlens/netlens/bpf"
)

func loadNfhook() (*ebpf.CollectionSpec, error) { return bpf.LoadNfhook() }
