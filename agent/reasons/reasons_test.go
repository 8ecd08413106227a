package reasons

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/netlens/netlens/tests/testenv"
)

// Every entry is complete: a meaning, a cause and something to check.
func TestCatalogEntriesAreComplete(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 100 {
		t.Fatalf("only %d entries", len(all))
	}
	for _, e := range all {
		if e.Reason == "" || strings.HasPrefix(e.Reason, "SKB_DROP_REASON_") || e.Meaning == "" || e.Cause == "" || len(e.Check) == 0 {
			t.Errorf("incomplete entry: %+v", e)
		}
	}
}

// The reasons Netlens itself reports are explained: the fallbacks' UNKNOWN
// and NETFILTER_DROP, and the Windows ACL_DROP and ENDPOINT_DROP.
func TestCatalogHasNetlensReasons(t *testing.T) {
	for _, r := range []string{"UNKNOWN", "NETFILTER_DROP", "ACL_DROP", "ENDPOINT_DROP", "NO_SOCKET"} {
		if _, ok := Lookup(r); !ok {
			t.Errorf("no entry for %s", r)
		}
	}
}

// Every reason of the running kernel's enum skb_drop_reason has an entry.
func TestCatalogCoversRunningKernel(t *testing.T) {
	testenv.RequireBTF(t)
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var e *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &e); err != nil {
		t.Fatalf("running kernel has no enum skb_drop_reason: %v", err)
	}
	n := 0
	for _, v := range e.Values {
		// SKB_DROP_REASON_SKB_CSUM is SKB_CSUM; SKB_CONSUMED is CONSUMED.
		name, ok := strings.CutPrefix(v.Name, "SKB_DROP_REASON_")
		if !ok {
			name = strings.TrimPrefix(v.Name, "SKB_")
		}
		if name == "MAX" || name == "SUBSYS_MASK" {
			continue
		}
		n++
		if _, ok := Lookup(name); !ok {
			t.Errorf("kernel reason %s (%d) has no catalog entry", name, v.Value)
		}
	}
	t.Logf("checked %d kernel reasons", n)
}
