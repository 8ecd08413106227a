//go:build linux

// Package reasons checks the drop reason catalog against the running kernel
// through the real agent: every reason the kernel names is explained on
// /api/v1/reasons, from the catalog or with the generic entry, and the
// agent's status and metrics name exactly the reasons its catalog lacks. The
// unit tests of agent/reasons check the catalog against recorded lists of
// recent kernels; this is where the machine's own kernel is checked.
package reasons

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

// agentFlags run an agent counting drops with tp_btf, which reads the
// kernel's reasons from BTF, and nothing kept between runs.
var agentFlags = []string{"--drop-source", "tp_btf", "--metadata", "none", "--state-dir", "", "--bpffs-path", ""}

// The agent built from this tree explains every reason of the running
// kernel; the reasons the catalog lacks are logged by name.
func TestAgentExplainsEveryReasonOfTheRunningKernel(t *testing.T) {
	testenv.RequireBTF(t)
	kernel := kernelReasons(t)
	lacks := slices.DeleteFunc(slices.Clone(kernel), func(n string) bool { _, ok := reasons.Lookup(n); return ok })
	if len(lacks) == 0 {
		t.Logf("catalog lacks: nothing (all %d reasons of the running kernel are in agent/reasons/catalog.yaml)", len(kernel))
	} else {
		t.Logf("catalog lacks: %s (reasons of the running kernel; add them to agent/reasons/catalog.yaml and its testdata)", strings.Join(lacks, ", "))
	}

	ag := agentproc.Start(t, agentFlags...)
	checkAgent(t, ag, kernel, lacks)

	// A reason no kernel has yet, asked for by name, is explained generically.
	const synthetic = "NETLENS_TEST_REASON_OF_A_FUTURE_KERNEL"
	got := getReasons(t, ag, "?reason=NO_SOCKET,"+synthetic)
	if len(got) != 2 || got[0].Reason != "NO_SOCKET" || got[0].Generic || !sameEntry(got[1], reasons.Generic(synthetic)) {
		t.Errorf("?reason=NO_SOCKET,%s: %+v", synthetic, got)
	}
}

// An agent whose catalog lacks some of the running kernel's reasons (built
// with the catalog file replaced) explains them with the generic entry and
// names exactly them in its status and metric: the path a kernel newer than
// the catalog takes, with the kernel's real reasons.
func TestAgentExplainsKernelReasonsItsCatalogLacks(t *testing.T) {
	testenv.RequireBTF(t)
	kernel := kernelReasons(t)
	// The newest and the oldest of the kernel's catalogued reasons and a
	// common one: which ones does not matter.
	catalogued := slices.DeleteFunc(slices.Clone(kernel), func(n string) bool { _, ok := reasons.Lookup(n); return !ok })
	removed := []string{catalogued[len(catalogued)-1], catalogued[0]}
	if slices.Contains(catalogued, "TCP_CSUM") && !slices.Contains(removed, "TCP_CSUM") {
		removed = append(removed, "TCP_CSUM")
	}
	bin := testenv.GoBuild(t, "./agent/cmd/netlens-agent", "netlens-agent", "-overlay", catalogWithout(t, removed...))
	ag := agentproc.StartWith(t, agentproc.Options{Binary: bin}, agentFlags...)

	lacks := slices.DeleteFunc(slices.Clone(kernel), func(n string) bool {
		_, ok := reasons.Lookup(n)
		return ok && !slices.Contains(removed, n)
	})
	t.Logf("agent built without %s; it should lack %s", strings.Join(removed, ", "), strings.Join(lacks, ", "))
	checkAgent(t, ag, kernel, lacks)
}

// checkAgent asserts that the agent explains every kernel reason on
// /api/v1/reasons (generically exactly those in lacks) and names exactly the
// lacking reasons in its status and counts them in its metrics.
func checkAgent(t *testing.T, ag *agentproc.Agent, kernel, lacks []string) {
	t.Helper()
	lacks = slices.Sorted(slices.Values(lacks))

	st := ag.Status(t)
	if st.DropSource != "tp_btf" {
		t.Fatalf("drop source %q, want tp_btf (attempts %+v)", st.DropSource, st.DropSourceAttempts)
	}
	if st.KernelReasons != len(kernel) {
		t.Errorf("status kernelReasons = %d, want the %d of the kernel's BTF", st.KernelReasons, len(kernel))
	}
	if st.UncataloguedReasons == nil || !slices.Equal(st.UncataloguedReasons, lacks) {
		t.Errorf("status uncataloguedReasons = %#v, want %#v", st.UncataloguedReasons, lacks)
	}

	all := getReasons(t, ag, "")
	byName := map[string]reasons.Entry{}
	var generic []string
	for _, e := range all {
		if _, dup := byName[e.Reason]; dup {
			t.Errorf("/api/v1/reasons explains %s twice", e.Reason)
		}
		byName[e.Reason] = e
		if e.Generic {
			generic = append(generic, e.Reason)
		}
	}
	for _, n := range kernel {
		e, ok := byName[n]
		switch {
		case !ok:
			t.Errorf("/api/v1/reasons does not explain the kernel's reason %s", n)
		case slices.Contains(lacks, n):
			if !sameEntry(e, reasons.Generic(n)) {
				t.Errorf("%s: %+v, want the generic explanation", n, e)
			}
		case e.Generic || e.Meaning == "" || e.Cause == "" || len(e.Check) == 0:
			t.Errorf("%s: %+v, want its catalog entry", n, e)
		}
	}
	slices.Sort(generic)
	if !slices.Equal(generic, lacks) {
		t.Errorf("generic entries for %q, want exactly %q", generic, lacks)
	}

	m := ag.Metrics(t)
	for name, want := range map[string]int{
		"netlens_agent_kernel_drop_reasons":       len(kernel),
		"netlens_agent_uncatalogued_drop_reasons": len(lacks),
	} {
		if s := m.Series(name, nil); len(s) != 1 || s[0].Value != float64(want) {
			t.Errorf("%s = %+v, want one series of %d", name, s, want)
		}
	}
}

func getReasons(t *testing.T, ag *agentproc.Agent, query string) []reasons.Entry {
	t.Helper()
	code, body := testenv.HTTPGet(t, "http://"+ag.Addr+"/api/v1/reasons"+query)
	var entries []reasons.Entry
	if code != 200 || json.Unmarshal([]byte(body), &entries) != nil {
		t.Fatalf("GET /api/v1/reasons%s: %d %.300s", query, code, body)
	}
	return entries
}

func sameEntry(a, b reasons.Entry) bool {
	return a.Reason == b.Reason && a.Generic == b.Generic && a.Meaning == b.Meaning && a.Cause == b.Cause && slices.Equal(a.Check, b.Check)
}

// kernelReasons reads the running kernel's reason names from its BTF, as
// Netlens reports them, independently of the agent's code: enum
// skb_drop_reason without SKB_DROP_REASON_ (SKB_ for NOT_DROPPED_YET and
// CONSUMED), MAX and SUBSYS_MASK left out, plus the values of the subsystem
// enums (openvswitch, mac80211) that carry a subsystem in their upper 16 bits,
// under their own names. In enum order.
func kernelReasons(t *testing.T) []string {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var core *btf.Enum
	if err := spec.TypeByName("skb_drop_reason", &core); err != nil {
		testenv.NotRun(t, "kernel-drop-reasons", "the running kernel has no enum skb_drop_reason (drop reasons, kernel 5.17+)")
	}
	var names []string
	for _, v := range core.Values {
		n, ok := strings.CutPrefix(v.Name, "SKB_DROP_REASON_")
		if !ok {
			n = strings.TrimPrefix(v.Name, "SKB_")
		}
		if n != "MAX" && n != "SUBSYS_MASK" {
			names = append(names, n)
		}
	}
	for _, sub := range []string{"ovs_drop_reason", "mac80211_drop_reason"} {
		var e *btf.Enum
		if spec.TypeByName(sub, &e) != nil {
			continue
		}
		for _, v := range e.Values {
			if v.Value>>16 != 0 && !slices.Contains(names, v.Name) {
				names = append(names, v.Name)
			}
		}
	}
	if len(names) < 50 {
		t.Fatalf("only %d reasons in the kernel's enum skb_drop_reason: %q", len(names), names)
	}
	return names
}

// catalogWithout writes a copy of the catalog without the named entries and
// a go build overlay that uses it in place of agent/reasons/catalog.yaml.
func catalogWithout(t *testing.T, names ...string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "agent", "reasons", "catalog.yaml")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, n := range names {
		start := strings.Index(text, "\n  - reason: "+n+"\n")
		if start < 0 {
			t.Fatalf("no entry %s in %s", n, src)
		}
		end := strings.Index(text[start+1:], "\n  - reason: ")
		if end < 0 {
			text = text[:start+1]
		} else {
			text = text[:start] + text[start+1+end:]
		}
	}
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.yaml")
	overlay := filepath.Join(dir, "overlay.json")
	o, _ := json.Marshal(map[string]map[string]string{"Replace": {src: catalog}})
	if err := os.WriteFile(catalog, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overlay, o, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(text, "reason: "+n+"\n") {
			t.Fatalf("catalog copy still has %s", n)
		}
	}
	return overlay
}
