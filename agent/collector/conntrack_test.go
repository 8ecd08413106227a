package collector

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestParseConntrackStatFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]uint64
		cols int
	}{
		// 6.18 header: clashres and chainlength instead of searched and delete_list.
		{"netns-pressure-6.18/net/stat/nf_conntrack", map[string]uint64{
			"entries": 0x20, "clashres": 0, "drop": 0x4a, "early_drop": 0, "insert_failed": 0, "chainlength": 0, "search_restart": 0,
		}, 17},
		{"proc-4.19/net/stat/nf_conntrack", map[string]uint64{
			"searched": 0, "found": 0x1a2b3 + 0x188aa, "new": 0xc350 + 0xb3b0, "invalid": 0x31, "insert_failed": 1,
			"drop": 5, "early_drop": 2, "delete_list": 0xc2f0 + 0xb350, "search_restart": 1,
		}, 17},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseConntrackStat(bytes.NewReader(readFixture(t, tc.file)), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.cols {
				t.Errorf("%d columns, want %d", len(got), tc.cols)
			}
			m := map[string]uint64{}
			for _, c := range got {
				m[c.Name] = c.Value
			}
			for k, v := range tc.want {
				if gv, ok := m[k]; !ok || gv != v {
					t.Errorf("%s = %#x (present %v), want %#x", k, gv, ok, v)
				}
			}
		})
	}
}

func TestParseConntrackStatMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in, wantErr string }{
		{"empty", "\n\n", "f: no header line"},
		{"short row", "entries drop\n00000001\n", "f: line 2: 1 values but the header names 2 columns"},
		{"long row", "entries drop\n1 2 3\n", "3 values but the header names 2"},
		{"not hex", "entries drop\n1 xyz\n", `f: line 2 column drop: "xyz" is not hexadecimal`},
		{"bad name", "entries Drop!\n1 2\n", `column name "Drop!"`},
		{"duplicate name", "drop drop\n1 2\n", "column drop appears twice"},
		{"overflow", "drop\nffffffffffffffff\n1\n", "overflows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConntrackStat(strings.NewReader(tc.in), "f")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	// A header alone (no CPU rows) is zero everywhere, not an error; new columns are kept.
	got, err := ParseConntrackStat(strings.NewReader("entries future_col\n"), "f")
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]ConntrackCounter{{"entries", 0}, {"future_col", 0}}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestParseProcUint(t *testing.T) {
	for in, want := range map[string]uint64{"16\n": 16, "262144": 262144, " 0 \n": 0} {
		if got, err := ParseProcUint(strings.NewReader(in), "f"); err != nil || got != want {
			t.Errorf("%q: %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1 2", "abc", strings.Repeat("9", 200)} {
		if _, err := ParseProcUint(strings.NewReader(in), "f"); err == nil || !strings.HasPrefix(err.Error(), "f: ") {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

func TestConntrackCollector(t *testing.T) {
	series, types, err := collectSeries(t, NewConntrack("testdata/netns-pressure-6.18"))
	if err != nil {
		t.Fatal(err)
	}
	if types["netlens_conntrack_stat_total"] != dto.MetricType_COUNTER ||
		types["netlens_conntrack_entries"] != dto.MetricType_GAUGE || types["netlens_conntrack_limit"] != dto.MetricType_GAUGE {
		t.Fatalf("types: %v", types)
	}
	for k, v := range map[string]float64{
		`netlens_conntrack_stat_total{name="drop"}`:       0x4a,
		`netlens_conntrack_stat_total{name="early_drop"}`: 0,
		`netlens_conntrack_entries{}`:                     16,
		`netlens_conntrack_limit{}`:                       16,
	} {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := series[`netlens_conntrack_stat_total{name="entries"}`]; ok {
		t.Error("entries (a gauge) exported as a counter")
	}
	if n := countPrefix(series, "netlens_conntrack_stat_total"); n != 16 {
		t.Errorf("%d stat series, want the 16 counter columns", n)
	}

	// nf_conntrack not loaded: nothing, no error.
	series, _, err = collectSeries(t, NewConntrack(t.TempDir()))
	if err != nil || len(series) != 0 {
		t.Fatalf("without nf_conntrack: %v, %v; want no series and no error", series, err)
	}

	// Loaded but the sysctls are missing: the counters still come, the error names the file.
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "net/stat"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "net/stat/nf_conntrack"), readFixture(t, "proc-4.19/net/stat/nf_conntrack"), 0o644))
	series, _, err = collectSeries(t, NewConntrack(dir))
	if err == nil || !strings.Contains(err.Error(), "nf_conntrack_count") || !strings.Contains(err.Error(), "nf_conntrack_max") {
		t.Fatalf("err = %v", err)
	}
	if series[`netlens_conntrack_stat_total{name="drop"}`] != 5 {
		t.Errorf("counters lost: %v", series)
	}
}

// FuzzParseConntrackStat: never panics; accepted input re-parses to the same sums.
func FuzzParseConntrackStat(f *testing.F) {
	for _, p := range []string{"proc-6.18/net/stat/nf_conntrack", "netns-pressure-6.18/net/stat/nf_conntrack", "proc-4.19/net/stat/nf_conntrack"} {
		b, err := os.ReadFile("testdata/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseConntrackStat(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var names, values []string
		for _, c := range got {
			if !isColumnName(c.Name) {
				t.Fatalf("bad column name %q", c.Name)
			}
			names = append(names, c.Name)
			values = append(values, fmt.Sprintf("%x", c.Value))
		}
		again, err := ParseConntrackStat(strings.NewReader(strings.Join(names, " ")+"\n"+strings.Join(values, " ")+"\n"), "again")
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip: %v, %v -> %v", err, got, again)
		}
	})
}

// FuzzParseProcUint: never panics; accepted values print back the same.
func FuzzParseProcUint(f *testing.F) {
	f.Add([]byte("262144\n"))
	f.Add([]byte("0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := ParseProcUint(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		if again, err := ParseProcUint(strings.NewReader(fmt.Sprint(v)), "again"); err != nil || again != v {
			t.Fatalf("round trip %d: %d, %v", v, again, err)
		}
	})
}
