package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// notRunLine is the one form every check that does not run prints; an id
// is lower case, digits, dots and dashes (validID). Any other text after
// "NOT RUN " is flagged, so that a misspelt id cannot slip through.
var (
	notRunLine = regexp.MustCompile(`NOT RUN (\S*?):? (.*)`)
	validID    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
)

// notRun is one check that did not run.
type notRun struct {
	id, where, reason string
}

type report struct {
	notRun []notRun
	// problems are skips that say nothing of why.
	problems []string
}

// addLine takes line if it is a NOT RUN line, and reports whether it was one
// with a valid id.
func (r *report) addLine(line, where string) bool {
	m := notRunLine.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	if !validID.MatchString(m[1]) || !strings.Contains(line, "NOT RUN "+m[1]+": ") {
		r.problems = append(r.problems, fmt.Sprintf("%s: a NOT RUN line not of the form \"NOT RUN <id>: <reason>\" with a lower-case id: %q", where, strings.TrimSpace(line)))
		return false
	}
	r.notRun = append(r.notRun, notRun{m[1], where, strings.TrimSpace(m[2])})
	return true
}

// addLog takes the NOT RUN lines of a script log.
func (r *report) addLog(text, where string) {
	for _, line := range strings.Split(text, "\n") {
		r.addLine(line, where)
	}
}

// addGoTest takes the NOT RUN lines of every test and flags skips whose
// message is not one (a NOT RUN earlier in the test does not excuse a later
// plain skip), tests that never ended, and a run in which no package
// reported a result.
func (r *report) addGoTest(gt *goTestRun) {
	for _, tr := range gt.tests {
		where := tr.pkg + " " + tr.name
		last := false // the test's last line of its own was a NOT RUN line
		for _, line := range strings.Split(tr.output.String(), "\n") {
			if l := strings.TrimSpace(line); l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
				continue
			}
			last = r.addLine(line, where)
		}
		switch {
		case tr.action == "skip" && !last:
			r.problems = append(r.problems, fmt.Sprintf("%s was skipped without a NOT RUN line (use testenv.NotRun): %s", where, lastLines(tr.output.String())))
		case tr.action == "":
			r.problems = append(r.problems, fmt.Sprintf("%s never ended (no pass, fail or skip reported): %s", where, lastLines(tr.output.String())))
		}
	}
	if gt.packages == 0 {
		r.problems = append(r.problems, "go test reported no package result: the Go tests did not run")
	}
}

// addJest flags Jest tests that were skipped or left as todo.
func (r *report) addJest(b []byte) error {
	var res struct {
		NumPendingTests int `json:"numPendingTests"`
		NumTodoTests    int `json:"numTodoTests"`
		TestResults     []struct {
			Name       string `json:"name"`
			Assertions []struct {
				FullName string `json:"fullName"`
				Status   string `json:"status"`
			} `json:"assertionResults"`
		} `json:"testResults"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return err
	}
	if len(res.TestResults) == 0 {
		r.problems = append(r.problems, "Jest ran no test file")
	}
	n := 0
	for _, f := range res.TestResults {
		for _, a := range f.Assertions {
			if a.Status != "passed" && a.Status != "failed" {
				r.problems = append(r.problems, fmt.Sprintf("Jest test %q (%s) is %s", a.FullName, f.Name, a.Status))
				n++
			}
		}
	}
	if n == 0 && res.NumPendingTests+res.NumTodoTests > 0 {
		r.problems = append(r.problems, fmt.Sprintf("Jest left %d tests pending and %d todo", res.NumPendingTests, res.NumTodoTests))
	}
	return nil
}

// check compares what did not run with the known gaps.
func (r *report) check(gaps []gap, file string) []string {
	problems := slices.Clone(r.problems)
	seen := map[string]bool{}
	for _, n := range r.notRun {
		seen[n.id] = true
		if !slices.ContainsFunc(gaps, func(g gap) bool { return g.id == n.id }) {
			problems = append(problems, fmt.Sprintf("NOT RUN %s (%s): %s; this is not a known gap in %s: make it run, or list it there with its reason", n.id, n.where, n.reason, file))
		}
	}
	for _, g := range gaps {
		if !seen[g.id] {
			problems = append(problems, fmt.Sprintf("known gap %s did not show up as NOT RUN in this run: if it runs now, remove it from %s", g.id, file))
		}
	}
	return problems
}

// printNotRun ends the log with what did not run, one line per gap id.
func (r *report) printNotRun(w io.Writer, gaps []gap, file string) {
	byID := map[string][]notRun{}
	for _, n := range r.notRun {
		byID[n.id] = append(byID[n.id], n)
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(w, "\nWhat did not run (%d; known gaps are listed with their reasons in %s):\n", len(ids), file)
	if len(ids) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, id := range ids {
		ns := byID[id]
		var wheres []string
		for _, n := range ns {
			if !slices.Contains(wheres, n.where) {
				wheres = append(wheres, n.where)
			}
		}
		fmt.Fprintf(w, "  - %s: %s [%s]\n", id, ns[0].reason, strings.Join(wheres, "; "))
	}
}

// gap is one entry of the known gaps file.
type gap struct{ id, reason string }

// knownGapRow is a table row whose first cell is a backquoted id.
var knownGapRow = regexp.MustCompile("^\\|\\s*`([a-z0-9][a-z0-9.-]*)`\\s*\\|(.*)\\|\\s*$")

// parseKnownGaps reads the table rows of the known gaps file.
func parseKnownGaps(text string) ([]gap, error) {
	var gaps []gap
	for i, line := range strings.Split(text, "\n") {
		m := knownGapRow.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		reason := strings.TrimSpace(m[2])
		if strings.Trim(reason, "| ") == "" {
			return nil, fmt.Errorf("line %d: gap %s has no reason", i+1, m[1])
		}
		if slices.ContainsFunc(gaps, func(g gap) bool { return g.id == m[1] }) {
			return nil, fmt.Errorf("line %d: gap %s is listed twice", i+1, m[1])
		}
		gaps = append(gaps, gap{m[1], reason})
	}
	if len(gaps) == 0 {
		return nil, errors.New("no gaps listed (a table row starting with a backquoted id)")
	}
	return gaps, nil
}

// goTestRun is what `go test -json` reported.
type goTestRun struct {
	tests []*testResult
	// summary holds the ok/FAIL line of each package, in order.
	summary []string
	// pkgOutput holds output outside any test (build failures, panics).
	pkgOutput map[string]*strings.Builder
	pkgFailed []string
	// packages counts the packages that reported pass, fail or skip.
	packages int
	// buildOutput holds the compiler's output by import path (build-output
	// events), for packages that failed to build.
	buildOutput map[string]*strings.Builder
	buildFailed []string
}

type testResult struct {
	pkg, name, action string
	output            strings.Builder
}

func readGoTest(rd io.Reader) (*goTestRun, error) {
	gt := &goTestRun{pkgOutput: map[string]*strings.Builder{}, buildOutput: map[string]*strings.Builder{}}
	byName := map[[2]string]*testResult{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev struct {
			Action, Package, Test, Output, ImportPath string
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			// go test prints build errors as plain text before the JSON.
			gt.summary = append(gt.summary, string(line))
			continue
		}
		switch ev.Action {
		case "build-output":
			out := gt.buildOutput[ev.ImportPath]
			if out == nil {
				out = &strings.Builder{}
				gt.buildOutput[ev.ImportPath] = out
			}
			out.WriteString(ev.Output)
			continue
		case "build-fail":
			gt.buildFailed = append(gt.buildFailed, ev.ImportPath)
			continue
		}
		if ev.Test == "" {
			if ev.Action == "output" {
				out := gt.pkgOutput[ev.Package]
				if out == nil {
					out = &strings.Builder{}
					gt.pkgOutput[ev.Package] = out
				}
				out.WriteString(ev.Output)
				if strings.HasPrefix(ev.Output, "ok  \t") || strings.HasPrefix(ev.Output, "FAIL\t") || strings.HasPrefix(ev.Output, "?   \t") {
					gt.summary = append(gt.summary, strings.TrimRight(ev.Output, "\n"))
				}
			}
			switch ev.Action {
			case "fail":
				gt.pkgFailed = append(gt.pkgFailed, ev.Package)
				gt.packages++
			case "pass", "skip":
				gt.packages++
			}
			continue
		}
		k := [2]string{ev.Package, ev.Test}
		tr := byName[k]
		if tr == nil {
			tr = &testResult{pkg: ev.Package, name: ev.Test}
			byName[k] = tr
			gt.tests = append(gt.tests, tr)
		}
		switch ev.Action {
		case "output":
			tr.output.WriteString(ev.Output)
		case "pass", "fail", "skip":
			tr.action = ev.Action
		}
	}
	return gt, sc.Err()
}

// print writes each package's result line and, for failures, the whole
// output of the failed tests (or of the package, when it failed outside one).
func (gt *goTestRun) print(w io.Writer) {
	for _, path := range gt.buildFailed {
		if out := gt.buildOutput[path]; out != nil {
			fmt.Fprintf(w, "\n--- build of %s failed\n%s", path, out.String())
		}
	}
	for _, tr := range gt.tests {
		if tr.action == "fail" {
			fmt.Fprintf(w, "\n--- output of failed test %s %s\n%s", tr.pkg, tr.name, tr.output.String())
		}
	}
	for _, pkg := range gt.pkgFailed {
		if !slices.ContainsFunc(gt.tests, func(tr *testResult) bool { return tr.pkg == pkg && tr.action == "fail" }) {
			if out := gt.pkgOutput[pkg]; out != nil {
				fmt.Fprintf(w, "\n--- output of failed package %s\n%s", pkg, out.String())
			}
		}
	}
	fmt.Fprintln(w)
	for _, s := range gt.summary {
		if !strings.HasPrefix(s, "?   \t") {
			fmt.Fprintln(w, s)
		}
	}
}

// lastLines is the end of a test's output, for a one-line problem.
func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var keep []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 2 {
		keep = keep[len(keep)-2:]
	}
	return strings.Join(keep, " / ")
}
