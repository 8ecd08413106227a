//go:build linux && !amd64 && !arm64

package drops

import (
	"fmt"
	"runtime"

	"github.com/cilium/ebpf"
)

func loadNfhook() (*ebpf.CollectionSpec, error) {
	return nil, fmt.Errorf("the nf_hook_slow programs are not built for %s", runtime.GOARCH)
}
