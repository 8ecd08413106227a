package kallsyms

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/netlens/netlens/tests/testenv"
)

const sample = `ffffffff81000000 T _stext
ffffffff81200000 t nf_hook_slow
ffffffff81100000 T __udp4_lib_rcv
ffffffff81100800 D some_data
ffffffffc0a00000 t br_handle_frame	[bridge]
ffffffff81300000 T last_text
`

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kallsyms")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each address gets the closest text symbol at or below it, whatever the
// file's order; data symbols and 0 are not functions.
func TestResolveNearestTextSymbol(t *testing.T) {
	r := New(write(t, sample))
	got, err := r.Resolve([]uint64{0xffffffff81200010, 0xffffffff81100900, 0xffffffffc0a00044, 0xffffffff81000000, 0x1000, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]string{
		0xffffffff81200010: "nf_hook_slow",
		0xffffffff81100900: "__udp4_lib_rcv", // the data symbol in between does not count
		0xffffffffc0a00044: "br_handle_frame",
		0xffffffff81000000: "_stext",
		0x1000:             Unknown,
		0:                  Unknown,
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%#x: got %q, want %q", a, got[a], w)
		}
	}
}

// A kernel that hides addresses (kptr_restrict) lists every symbol at 0: nothing resolves.
func TestResolveHiddenAddresses(t *testing.T) {
	r := New(write(t, "0000000000000000 T _stext\n0000000000000000 t nf_hook_slow\n"))
	got, err := r.Resolve([]uint64{0xffffffff81200010})
	if err != nil {
		t.Fatal(err)
	}
	if got[0xffffffff81200010] != Unknown {
		t.Fatalf("got %q", got[0xffffffff81200010])
	}
}

// Resolved and unresolvable addresses are cached: the file is read once.
func TestResolveCaches(t *testing.T) {
	p := write(t, sample)
	r := New(p)
	if _, err := r.Resolve([]uint64{0xffffffff81200010, 0x1000}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve([]uint64{0xffffffff81200010, 0x1000})
	if err != nil {
		t.Fatalf("cached addresses re-read the file: %v", err)
	}
	if got[0xffffffff81200010] != "nf_hook_slow" || got[0x1000] != Unknown {
		t.Fatalf("got %v", got)
	}
	if _, err := r.Resolve([]uint64{0xffffffff81100900}); err == nil {
		t.Fatal("a new address with the file gone should report the read error")
	}
}

// Against the running kernel: an address inside a known function resolves to it.
func TestResolveLiveKernel(t *testing.T) {
	testenv.RequireRoot(t) // kallsyms shows addresses to root only
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var addr uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[2] == "kfree_skb_reason" || len(fields) >= 3 && fields[2] == "sk_skb_reason_drop" {
			addr, _ = strconv.ParseUint(fields[0], 16, 64)
			break
		}
	}
	if addr == 0 {
		t.Fatal("neither kfree_skb_reason nor sk_skb_reason_drop has an address in /proc/kallsyms")
	}
	got, err := New("/proc/kallsyms").Resolve([]uint64{addr + 4})
	if err != nil {
		t.Fatal(err)
	}
	if n := got[addr+4]; n != "kfree_skb_reason" && n != "sk_skb_reason_drop" {
		t.Fatalf("address %#x+4 resolved to %q", addr, n)
	}
}
