package collector

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestParseSoftnetFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []SoftnetCPU
	}{
		// Recorded: 15 columns, index column present.
		{"proc-6.18/net/softnet_stat", []SoftnetCPU{
			{CPU: 0, Processed: 0x0487b289, Dropped: 0, TimeSqueeze: 3, HasFlowLimit: true},
			{CPU: 1, Processed: 0x03aca375, Dropped: 0, TimeSqueeze: 1, HasFlowLimit: true},
		}},
		// 4.19: 11 columns, no index: CPU is the row.
		{"proc-4.19/net/softnet_stat", []SoftnetCPU{
			{CPU: 0, Processed: 0x2f3a1c04, TimeSqueeze: 0x12c, HasFlowLimit: true},
			{CPU: 1, Processed: 0x1b22f0a1, Dropped: 0x1e, TimeSqueeze: 0xc8, FlowLimitCount: 3, HasFlowLimit: true},
			{CPU: 2, Processed: 0x0a9e3b77, TimeSqueeze: 7, HasFlowLimit: true},
			{CPU: 3, Processed: 0x0c01d2e5, Dropped: 2, TimeSqueeze: 0x11, HasFlowLimit: true},
		}},
		// CPU 1 offline: rows are CPUs 0, 2, 3 by the index column.
		{"softnet_stat-cpu1-offline", []SoftnetCPU{
			{CPU: 0, Processed: 0x0487b289, TimeSqueeze: 3, HasFlowLimit: true},
			{CPU: 2, Processed: 0x01a2b3c4, Dropped: 5, TimeSqueeze: 2, FlowLimitCount: 1, HasFlowLimit: true},
			{CPU: 3, Processed: 0xfff, HasFlowLimit: true},
		}},
		// 10 columns: no flow_limit_count.
		{"softnet_stat-2.6", []SoftnetCPU{
			{CPU: 0, Processed: 0xa1b2c3, TimeSqueeze: 1},
			{CPU: 1, Processed: 0xc0ffee, Dropped: 4},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseSoftnet(bytes.NewReader(readFixture(t, tc.file)), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseSoftnetMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in, wantErr string }{
		{"empty", "", "f: no CPU rows"},
		{"two columns", "00000001 00000002\n", "f: line 1: 2 columns"},
		{"ragged", "1 2 3 4\n1 2 3\n", "f: line 2: 3 columns, the rows before have 4"},
		{"not hex", "1 2 zz\n", `f: line 1 column 3: "zz" is not hexadecimal`},
		{"duplicate cpu", strings.Repeat("1 2 3 0 0 0 0 0 0 0 0 0 00000001\n", 2), "CPU 1 appears twice"},
		{"huge cpu", "1 2 3 0 0 0 0 0 0 0 0 0 ffffffffff\n", "out of range"},
		{"too wide", strings.Repeat("0 ", 65) + "\n", "65 columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSoftnet(strings.NewReader(tc.in), "f")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestSoftnetCollector(t *testing.T) {
	series, types, err := collectSeries(t, NewSoftnet("testdata/proc-4.19"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"netlens_softnet_processed_total", "netlens_softnet_dropped_total", "netlens_softnet_time_squeeze_total", "netlens_softnet_flow_limit_total"} {
		if types[n] != dto.MetricType_COUNTER {
			t.Errorf("%s is %v, want a counter", n, types[n])
		}
		if c := countPrefix(series, n); c != 4 {
			t.Errorf("%s has %d series, want one per CPU (4)", n, c)
		}
	}
	for k, v := range map[string]float64{
		`netlens_softnet_dropped_total{cpu="1"}`:      30,
		`netlens_softnet_time_squeeze_total{cpu="0"}`: 300,
		`netlens_softnet_flow_limit_total{cpu="1"}`:   3,
		`netlens_softnet_processed_total{cpu="3"}`:    0x0c01d2e5,
	} {
		if series[k] != v {
			t.Errorf("%s = %v, want %v", k, series[k], v)
		}
	}
	if _, _, err := collectSeries(t, NewSoftnet(t.TempDir())); err == nil || !strings.Contains(err.Error(), "softnet_stat") {
		t.Errorf("missing file: err = %v", err)
	}
}

// FuzzParseSoftnet: never panics; accepted input has unique CPUs and re-parses the same.
func FuzzParseSoftnet(f *testing.F) {
	for _, p := range []string{"proc-6.18/net/softnet_stat", "proc-4.19/net/softnet_stat", "softnet_stat-cpu1-offline", "softnet_stat-2.6"} {
		b, err := os.ReadFile("testdata/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseSoftnet(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[int]bool{}
		for _, c := range got {
			if c.CPU < 0 || seen[c.CPU] {
				t.Fatalf("bad or repeated CPU %d", c.CPU)
			}
			seen[c.CPU] = true
		}
		// Re-encode in the modern 13-column form: same rows come back.
		var b strings.Builder
		for _, c := range got {
			fmt.Fprintf(&b, "%x %x %x 0 0 0 0 0 0 0 %x 0 %x\n", c.Processed, c.Dropped, c.TimeSqueeze, c.FlowLimitCount, c.CPU)
		}
		again, err := ParseSoftnet(strings.NewReader(b.String()), "again")
		if err != nil {
			t.Fatal(err)
		}
		for i := range again {
			again[i].HasFlowLimit = got[i].HasFlowLimit
		}
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip: %v -> %v", got, again)
		}
	})
}
