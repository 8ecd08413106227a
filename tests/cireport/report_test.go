package main

import (
	"strings"
	"testing"
)

const knownGaps = "# Known gaps\n\n| check | why |\n|---|---|\n" +
	"| `fentry-attach` | this sandbox refuses fentry |\n" +
	"| `plugin-validator` | not installable |\n"

// A run of two packages: one test skipped with a NOT RUN line, one skipped
// without, one failed, one passed with a partial NOT RUN.
const goJSON = `{"Action":"run","Package":"a","Test":"TestFentry"}
{"Action":"output","Package":"a","Test":"TestFentry","Output":"=== RUN   TestFentry\n"}
{"Action":"output","Package":"a","Test":"TestFentry","Output":"    probe_test.go:9: NOT RUN fentry-attach: EPERM from BPF_PROG_LOAD\n"}
{"Action":"skip","Package":"a","Test":"TestFentry"}
{"Action":"output","Package":"a","Output":"ok  \ta\t1.0s\n"}
{"Action":"pass","Package":"a"}
{"Action":"run","Package":"b","Test":"TestQuiet"}
{"Action":"output","Package":"b","Test":"TestQuiet","Output":"    x_test.go:3: not today\n"}
{"Action":"skip","Package":"b","Test":"TestQuiet"}
{"Action":"run","Package":"b","Test":"TestBroken/sub"}
{"Action":"output","Package":"b","Test":"TestBroken/sub","Output":"    x_test.go:7: got 1, want 2\n"}
{"Action":"fail","Package":"b","Test":"TestBroken/sub"}
{"Action":"output","Package":"b","Test":"TestPartial","Output":"    y_test.go:1: NOT RUN softnet-backlog: no backlog drop\n"}
{"Action":"pass","Package":"b","Test":"TestPartial"}
{"Action":"output","Package":"b","Output":"FAIL\tb\t2.0s\n"}
{"Action":"fail","Package":"b"}
`

func TestReportFindsEveryKindOfSilentPass(t *testing.T) {
	gaps, err := parseKnownGaps(knownGaps)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := readGoTest(strings.NewReader(goJSON))
	if err != nil {
		t.Fatal(err)
	}
	var r report
	r.addGoTest(gt)
	r.addLog("==> Dashboard linter\nNOT RUN plugin-validator: module proxy refuses it\n", "scripts")
	if err := r.addJest([]byte(`{"numPendingTests":1,"testResults":[{"name":"q.test.tsx","assertionResults":[{"fullName":"editor saves","status":"passed"},{"fullName":"editor later","status":"pending"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(r.check(gaps, "gaps.md"), "\n")
	for _, want := range []string{
		"b TestQuiet was skipped without a NOT RUN line",
		"not today",
		"NOT RUN softnet-backlog (b TestPartial): no backlog drop; this is not a known gap",
		`Jest test "editor later" (q.test.tsx) is pending`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if strings.Contains(problems, "fentry-attach") || strings.Contains(problems, "plugin-validator") {
		t.Errorf("known gaps that did not run are reported as problems:\n%s", problems)
	}

	var out strings.Builder
	gt.print(&out)
	r.printNotRun(&out, gaps, "gaps.md")
	for _, want := range []string{"output of failed test b TestBroken/sub", "got 1, want 2", "ok  \ta\t1.0s", "FAIL\tb\t2.0s",
		"What did not run (3;", "fentry-attach: EPERM from BPF_PROG_LOAD [a TestFentry]", "plugin-validator: module proxy refuses it [scripts]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A known gap that ran is stale: the file must say exactly what does not run.
func TestReportFlagsStaleGaps(t *testing.T) {
	gaps, err := parseKnownGaps(knownGaps)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	r.addLog("NOT RUN plugin-validator: refused\n", "scripts")
	problems := r.check(gaps, "gaps.md")
	if len(problems) != 1 || !strings.Contains(problems[0], "known gap fentry-attach did not show up") {
		t.Fatalf("problems %q", problems)
	}
	if err := r.addJest([]byte(`{"testResults":[]}`)); err != nil {
		t.Fatal(err)
	}
	if p := r.check(gaps, "gaps.md"); !strings.Contains(strings.Join(p, "\n"), "Jest ran no test file") {
		t.Errorf("an empty Jest run passed: %q", p)
	}
}

func TestParseKnownGapsRejectsBadFiles(t *testing.T) {
	for name, text := range map[string]string{
		"empty":     "# nothing here\n",
		"no reason": "| `a` |  |\n",
		"twice":     "| `a` | x |\n| `a` | y |\n",
	} {
		if _, err := parseKnownGaps(text); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A NOT RUN earlier in a test does not excuse a later plain skip; a test that
// never ended, a misspelt id and a run with no package result are problems;
// a build failure's compiler output is printed.
func TestReportFindsSkipsBehindNotRunAndEmptyRuns(t *testing.T) {
	const run = `{"Action":"run","Package":"c","Test":"TestLater"}
{"Action":"output","Package":"c","Test":"TestLater","Output":"    z_test.go:1: NOT RUN fentry-attach: EPERM\n"}
{"Action":"output","Package":"c","Test":"TestLater","Output":"    z_test.go:2: flaky today\n"}
{"Action":"output","Package":"c","Test":"TestLater","Output":"--- SKIP: TestLater (0.00s)\n"}
{"Action":"skip","Package":"c","Test":"TestLater"}
{"Action":"run","Package":"c","Test":"TestHung"}
{"Action":"output","Package":"c","Test":"TestHung","Output":"    z_test.go:5: waiting\n"}
{"Action":"run","Package":"c","Test":"TestSpelt"}
{"Action":"output","Package":"c","Test":"TestSpelt","Output":"    z_test.go:9: NOT RUN Fentry_Attach: EPERM\n"}
{"Action":"skip","Package":"c","Test":"TestSpelt"}
{"ImportPath":"d [d.test]","Action":"build-output","Output":"d/x_test.go:3:2: undefined: frob\n"}
{"ImportPath":"d [d.test]","Action":"build-fail"}
`
	gaps, err := parseKnownGaps(knownGaps)
	if err != nil {
		t.Fatal(err)
	}
	gt, err := readGoTest(strings.NewReader(run))
	if err != nil {
		t.Fatal(err)
	}
	var r report
	r.addGoTest(gt)
	r.addLog("NOT RUN plugin-validator: refused\nNOT RUN Plugin_Validator: refused\n", "scripts")
	problems := strings.Join(r.check(gaps, "gaps.md"), "\n")
	for _, want := range []string{
		"c TestLater was skipped without a NOT RUN line",
		"c TestHung never ended",
		`c TestSpelt: a NOT RUN line not of the form`,
		"c TestSpelt was skipped without a NOT RUN line",
		`scripts: a NOT RUN line not of the form "NOT RUN <id>: <reason>" with a lower-case id: "NOT RUN Plugin_Validator: refused"`,
		"go test reported no package result",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	var out strings.Builder
	gt.print(&out)
	if !strings.Contains(out.String(), "--- build of d [d.test] failed\nd/x_test.go:3:2: undefined: frob") {
		t.Errorf("the compiler's output is not printed:\n%s", out.String())
	}
}
