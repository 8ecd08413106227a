package main

import (
	"strings"
	"testing"
)

// A called module vulnerability fails; a called standard library one warns
// with the fixing Go release; an uncalled one is only counted.
func TestReport(t *testing.T) {
	in := `{"config":{"go_version":"go1.26.8","db":"file:///db","scan_level":"symbol"}}
{"osv":{"id":"GO-1","summary":"bad parse"}}
{"osv":{"id":"GO-2","summary":"net/http leak"}}
{"osv":{"id":"GO-4","summary":"older fix"}}
{"finding":{"osv":"GO-1","fixed_version":"v1.2.3","trace":[{"module":"example.com/m","version":"v1.2.0","package":"example.com/m/p","function":"Parse"},{"module":"github.com/netlens/netlens","package":"x","function":"y"}]}}
{"finding":{"osv":"GO-2","fixed_version":"v1.26.10","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Get"}]}}
{"finding":{"osv":"GO-4","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"html/template","receiver":"*Template","function":"Execute"}]}}
{"finding":{"osv":"GO-3","fixed_version":"v0.9.0","trace":[{"module":"example.com/n","version":"v0.1.0","package":"example.com/n"}]}}
`
	res, err := read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if n := res.report(&out); n != 1 {
		t.Errorf("%d failing findings, want 1", n)
	}
	for _, want := range []string{
		"1 vulnerabilities called in required modules, 2 in the Go standard library, 1 more not called",
		"ERROR: GO-1 in example.com/m@v1.2.0, fixed in v1.2.3: bad parse (called: example.com/m/p.Parse)",
		"WARNING: GO-4 in the standard library of go1.26.8, fixed in v1.26.9: older fix (called: html/template.Template.Execute)",
		"build releases with Go 1.26.10 or newer",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := read(strings.NewReader(`{"osv":{"id":"GO-1"}}`)); err == nil {
		t.Error("input without a config message accepted")
	}
	if _, err := read(strings.NewReader(`{"config":{"scan_level":"module"}}`)); err == nil {
		t.Error("a module-level scan accepted: it cannot tell called code")
	}
}
