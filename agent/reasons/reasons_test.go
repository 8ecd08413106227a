package reasons

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		if e.Generic {
			t.Errorf("catalog entry %s is marked generic", e.Reason)
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

// Every reason of the recent kernels listed in testdata (where each list came
// from is written at its top) has an entry. The running kernel is checked
// against the real agent in tests/reasons.
func TestCatalogCoversRecentKernels(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want the reason lists of at least two kernels in testdata, found %v", files)
	}
	for _, f := range files {
		names := readNames(t, f)
		if len(names) < 100 {
			t.Errorf("%s: only %d names; is it a full enum skb_drop_reason?", f, len(names))
		}
		if missing := Uncatalogued(names); len(missing) > 0 {
			t.Errorf("%s: the catalog lacks %s", f, strings.Join(missing, ", "))
		}
	}
}

func readNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !validName(line) {
			t.Fatalf("%s: %q is not a reason name", path, line)
		}
		names = append(names, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// A reason the catalog lacks gets the generic explanation, marked generic and
// naming the reason where a command needs it; a known one its own entry.
func TestExplain(t *testing.T) {
	const synthetic = "NETLENS_TEST_NOT_A_KERNEL_REASON"
	e := Explain(synthetic)
	if !e.Generic || e.Reason != synthetic || e.Meaning == "" || e.Cause == "" || len(e.Check) < 3 {
		t.Fatalf("generic explanation: %+v", e)
	}
	if !strings.Contains(e.Meaning, "not in the catalog of this Netlens version") {
		t.Errorf("meaning does not say the catalog lacks the reason: %q", e.Meaning)
	}
	for _, want := range []string{`reason="` + synthetic + `"`, "SKB_DROP_REASON_" + synthetic, "--reason " + synthetic} {
		if !slices.ContainsFunc(e.Check, func(c string) bool { return strings.Contains(c, want) }) {
			t.Errorf("no check mentions %s: %q", want, e.Check)
		}
	}
	// Subsystem reasons are defined in their subsystems' headers, not the core's.
	for reason, header := range map[string]string{
		"OVS_DROP_NETLENS_TEST":   "net/openvswitch/drop.h",
		"RX_DROP_U_NETLENS_TEST":  "net/mac80211/drop.h",
		"SUBSYS_OPENVSWITCH_9999": "enum skb_drop_reason_subsys",
	} {
		g := Explain(reason)
		if !slices.ContainsFunc(g.Check, func(c string) bool { return strings.Contains(c, header) && !strings.Contains(c, "dropreason-core.h") }) {
			t.Errorf("%s: no check names %s (and not the core header): %q", reason, header, g.Check)
		}
	}
	b, err := json.Marshal(e)
	if err != nil || !strings.Contains(string(b), `"generic":true`) {
		t.Errorf("JSON of a generic entry: %s %v", b, err)
	}

	known := Explain("NO_SOCKET")
	want, _ := Lookup("NO_SOCKET")
	if known.Generic || known.Meaning != want.Meaning {
		t.Errorf("Explain(NO_SOCKET) = %+v, want the catalog's entry", known)
	}
	if b, _ := json.Marshal(known); strings.Contains(string(b), "generic") {
		t.Errorf("catalog entry JSON mentions generic: %s", b)
	}
}

func TestUncatalogued(t *testing.T) {
	got := Uncatalogued([]string{"NO_SOCKET", "ZZ_NEW", "TCP_CSUM", "AA_NEW", "ZZ_NEW"})
	if !slices.Equal(got, []string{"AA_NEW", "ZZ_NEW"}) {
		t.Errorf("Uncatalogued = %q", got)
	}
	if got := Uncatalogued([]string{"NO_SOCKET", "CONSUMED"}); got != nil {
		t.Errorf("Uncatalogued of known names = %q, want nil", got)
	}
}

func TestParseNames(t *testing.T) {
	got, err := ParseNames([]string{"NO_SOCKET, TCP_CSUM", "", "NO_SOCKET", "SUBSYS_OPENVSWITCH_3,UNKNOWN_200"})
	if err != nil || !slices.Equal(got, []string{"NO_SOCKET", "TCP_CSUM", "SUBSYS_OPENVSWITCH_3", "UNKNOWN_200"}) {
		t.Errorf("ParseNames = %q, %v", got, err)
	}
	if got, err := ParseNames(nil); err != nil || got != nil {
		t.Errorf("ParseNames(nil) = %q, %v", got, err)
	}
	for _, bad := range []string{"no_socket", "NO SOCKET", "NO-SOCKET", `"><script>`, strings.Repeat("A", 129)} {
		if _, err := ParseNames([]string{bad}); err == nil || !strings.Contains(err.Error(), "drop reason name") {
			t.Errorf("ParseNames(%q) error = %v", bad, err)
		}
	}
	many := make([]string, MaxNames+1)
	for i := range many {
		many[i] = "R" + strings.Repeat("X", i%100) + string(rune('A'+i/100))
	}
	if _, err := ParseNames([]string{strings.Join(many, ",")}); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ParseNames of %d names: %v", len(many), err)
	}
	if _, err := ParseNames(many[:MaxNames]); err != nil {
		t.Errorf("ParseNames of %d names: %v", MaxNames, err)
	}
}

func TestExplainAll(t *testing.T) {
	got := ExplainAll([]string{"TCP_CSUM", "BRAND_NEW"})
	if len(got) != 2 || got[0].Reason != "TCP_CSUM" || got[0].Generic || got[1].Reason != "BRAND_NEW" || !got[1].Generic {
		t.Errorf("ExplainAll = %+v", got)
	}
}
