// Command vulnreport reads `govulncheck -format json` on standard input and
// decides what fails the build. A vulnerable function of a required module
// that the code calls fails: go.mod can move to the fixed version. One of the
// Go standard library is printed as a warning with the Go release that fixes
// it: only the build machine's Go can fix it (the plugin validator reports
// govulncheck's findings as warnings too). Findings in code that is not
// called are counted, as govulncheck's own summary does.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

type message struct {
	Config *struct {
		GoVersion  string `json:"go_version"`
		DB         string `json:"db"`
		ScanLevel  string `json:"scan_level"`
		ScannerVer string `json:"scanner_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
			Receiver string `json:"receiver"`
		} `json:"trace"`
	} `json:"finding"`
}

// finding is one vulnerability the scanned code calls.
type finding struct {
	id, summary, module, version, fixed string
	symbols                             []string
}

type result struct {
	goVersion, db string
	called        map[string]*finding
	uncalled      map[string]bool
}

func read(r io.Reader) (*result, error) {
	res := &result{called: map[string]*finding{}, uncalled: map[string]bool{}}
	summaries := map[string]string{}
	dec := json.NewDecoder(r)
	sawConfig := false
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		switch {
		case m.Config != nil:
			sawConfig = true
			res.goVersion, res.db = m.Config.GoVersion, m.Config.DB
			if m.Config.ScanLevel != "symbol" {
				return nil, fmt.Errorf("scan level %q: want symbol, so that only called code counts", m.Config.ScanLevel)
			}
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			f, top := m.Finding, m.Finding.Trace[0]
			if top.Function == "" {
				res.uncalled[f.OSV] = true
				continue
			}
			c := res.called[f.OSV]
			if c == nil {
				c = &finding{id: f.OSV, module: top.Module, version: top.Version, fixed: f.FixedVersion}
				res.called[f.OSV] = c
			}
			sym := top.Package + "." + top.Function
			if top.Receiver != "" {
				sym = top.Package + "." + strings.TrimPrefix(top.Receiver, "*") + "." + top.Function
			}
			if len(c.symbols) < 3 && !contains(c.symbols, sym) {
				c.symbols = append(c.symbols, sym)
			}
		}
	}
	if !sawConfig {
		return nil, errors.New("no govulncheck config message: is this govulncheck -format json output?")
	}
	for id, f := range res.called {
		f.summary = summaries[id]
		delete(res.uncalled, id)
	}
	return res, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// report prints the findings and returns how many fail the build.
func (res *result) report(w io.Writer) int {
	var stdlib, modules []*finding
	for _, f := range res.called {
		if f.module == "stdlib" || f.module == "toolchain" {
			stdlib = append(stdlib, f)
		} else {
			modules = append(modules, f)
		}
	}
	byID := func(fs []*finding) {
		sort.Slice(fs, func(i, j int) bool { return fs[i].id < fs[j].id })
	}
	byID(stdlib)
	byID(modules)
	fmt.Fprintf(w, "govulncheck with %s, database %s: %d vulnerabilities called in required modules, %d in the Go standard library, %d more not called\n",
		res.goVersion, res.db, len(modules), len(stdlib), len(res.uncalled))
	for _, f := range modules {
		fmt.Fprintf(w, "ERROR: %s in %s@%s, fixed in %s: %s (called: %s)\n", f.id, f.module, f.version, f.fixed, f.summary, strings.Join(f.symbols, ", "))
	}
	newest := ""
	for _, f := range stdlib {
		fmt.Fprintf(w, "WARNING: %s in the standard library of %s, fixed in %s: %s (called: %s)\n", f.id, res.goVersion, f.fixed, f.summary, strings.Join(f.symbols, ", "))
		if newerGo(f.fixed, newest) {
			newest = f.fixed
		}
	}
	if newest != "" {
		fmt.Fprintf(w, "WARNING: build releases with Go %s or newer: the standard library of %s has the %d vulnerabilities above\n", strings.TrimPrefix(newest, "v"), res.goVersion, len(stdlib))
	}
	return len(modules)
}

// newerGo reports whether Go version a (v1.26.10) is newer than b ("" is oldest).
func newerGo(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

func main() {
	res, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulnreport:", err)
		os.Exit(2)
	}
	if n := res.report(os.Stdout); n > 0 {
		fmt.Printf("%d vulnerabilities in required modules are called: move go.mod to the fixed versions\n", n)
		os.Exit(1)
	}
}
