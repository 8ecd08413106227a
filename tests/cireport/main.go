// Command cireport ends a run of scripts/test.sh: it prints the outcome of
// the Go tests from `go test -json`, then checks that everything that did not
// run is a known gap and prints what did not run.
//
// A check that does not run says so with a line "NOT RUN <id>: <reason>": Go
// tests through testenv.NotRun (a skip with that message), scripts through
// not_run in scripts/env.sh. Any other skipped Go test, a skipped or todo Jest
// test, a NOT RUN id that docs/known-gaps.md does not list, and a listed gap
// that did run are failures: nothing passes silently.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	known := flag.String("known", "docs/known-gaps.md", "the file of known gaps")
	goJSON := flag.String("gotest", "", "output of go test -json")
	goStatus := flag.Int("gotest-status", 0, "exit status of go test")
	jestJSON := flag.String("jest", "", "output of jest --json")
	logFile := flag.String("log", "", "a log scanned for NOT RUN lines (scripts/test.sh's not_run)")
	flag.Parse()

	var r report
	failed := false
	if *goJSON != "" {
		f, err := os.Open(*goJSON)
		if err != nil {
			fail(err)
		}
		gt, err := readGoTest(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", *goJSON, err))
		}
		gt.print(os.Stdout)
		r.addGoTest(gt)
		if *goStatus != 0 {
			fmt.Printf("\nGo tests failed (go test exited with %d).\n", *goStatus)
			failed = true
		}
	}
	if *jestJSON != "" {
		b, err := os.ReadFile(*jestJSON)
		if err != nil {
			fail(err)
		}
		if err := r.addJest(b); err != nil {
			fail(fmt.Errorf("%s: %w", *jestJSON, err))
		}
	}
	if *logFile != "" {
		b, err := os.ReadFile(*logFile)
		if err != nil {
			fail(err)
		}
		r.addLog(string(b), "scripts")
	}
	b, err := os.ReadFile(*known)
	if err != nil {
		fail(err)
	}
	gaps, err := parseKnownGaps(string(b))
	if err != nil {
		fail(fmt.Errorf("%s: %w", *known, err))
	}
	if problems := r.check(gaps, *known); len(problems) > 0 {
		fmt.Println("\nChecks that did not run and are not known gaps, skips that say nothing, or known gaps that ran:")
		for _, p := range problems {
			fmt.Println("  - " + p)
		}
		failed = true
	}
	if failed {
		fmt.Println("\nFAILED.")
	} else {
		fmt.Println("\nAll checks passed.")
	}
	// The log ends with what did not run.
	r.printNotRun(os.Stdout, gaps, *known)
	if failed {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cireport:", strings.TrimSpace(err.Error()))
	os.Exit(2)
}
