//go:build linux && amd64

package drops

import (
	"github.com/cilium/ebpf"

	"github.com/netlens/netlens/bpf"
)

func loadNfhook() (*ebpf.CollectionSpec, error) { return bpf.LoadNfhook() }
