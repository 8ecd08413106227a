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

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func counterMap(cs []NetstatCounter) map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range cs {
		m[c.Group+"/"+c.Name] = c.Value
	}
	return m
}

// Every field of the recorded 6.18 files is parsed, with the values the file shows.
func TestParseNetstatFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]uint64
	}{
		{"proc-6.18/net/snmp", map[string]uint64{
			"Ip/InReceives": 141190, "Ip/OutTransmits": 118646, "Tcp/ActiveOpens": 570, "Tcp/AttemptFails": 9,
			"Tcp/RetransSegs": 1, "Tcp/OutRsts": 288, "Udp/InDatagrams": 341, "Icmp/InMsgs": 2, "IcmpMsg/InType3": 2,
			"Tcp/CurrEstab": 0, "Ip/Forwarding": 2,
		}},
		{"netns-pressure-6.18/net/netstat", map[string]uint64{
			"TcpExt/ListenOverflows": 28, "TcpExt/ListenDrops": 28, "TcpExt/TCPRetransFail": 4, "TcpExt/TCPTimeouts": 18,
			"TcpExt/TCPAODroppedIcmps": 0, "MPTcpExt/WinProbe": 0, "IpExt/ReasmOverlaps": 0,
		}},
		{"proc-4.19/net/snmp", map[string]uint64{"Tcp/InErrs": 41, "Udp/RcvbufErrors": 27, "Ip/InDiscards": 17, "Icmp/InErrors": 12}},
		{"proc-4.19/net/netstat", map[string]uint64{"TcpExt/ListenOverflows": 1021, "TcpExt/TCPOFODrop": 55, "TcpExt/IPReversePathFilter": 14}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := ParseNetstat(bytes.NewReader(readFixture(t, tc.file)), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			m := counterMap(got)
			if _, ok := m["Tcp/MaxConn"]; ok {
				t.Error("Tcp MaxConn (-1, a signed gauge) was returned as a counter")
			}
			for k, v := range tc.want {
				if gv, ok := m[k]; !ok || gv != v {
					t.Errorf("%s = %d (present %v), want %d", k, gv, ok, v)
				}
			}
		})
	}
}

func TestParseNetstatEveryRecordedField(t *testing.T) {
	// An independent count: header words minus the group tokens and MaxConn.
	for _, f := range []string{"proc-6.18/net/snmp", "proc-6.18/net/netstat", "netns-pressure-6.18/net/netstat"} {
		b := readFixture(t, f)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		want := 0
		for i := 0; i < len(lines); i += 2 {
			want += len(strings.Fields(lines[i])) - 1
		}
		if strings.Contains(string(b), "MaxConn") {
			want--
		}
		got, err := ParseNetstat(bytes.NewReader(b), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Errorf("%s: %d counters, want %d", f, len(got), want)
		}
	}
}

func TestParseSnmp6Fixture(t *testing.T) {
	got, err := ParseSnmp6(bytes.NewReader(readFixture(t, "proc-6.18/net/snmp6")), "snmp6")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 90 {
		t.Errorf("%d counters, want the file's 90 lines", len(got))
	}
	m := counterMap(got)
	for k, v := range map[string]uint64{"Ip6/InReceives": 2, "Icmp6/InErrors": 1, "Udp6/NoPorts": 0, "UdpLite6/InErrors": 0, "Ip6/InDiscards": 0} {
		if gv, ok := m[k]; !ok || gv != v {
			t.Errorf("%s = %d (present %v), want %d", k, gv, ok, v)
		}
	}
	for k := range m {
		if strings.HasPrefix(k, "Snmp6/") {
			t.Errorf("recorded counter %s has no known group", k)
		}
	}
}

func TestParseNetstatMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in, wantErr string }{
		{"count mismatch", "Tcp: A B C\nTcp: 1 2\n", "f: group Tcp: 3 names in the header line but 2 values"},
		{"no value line", "Tcp: A B\nTcp: 1 2\nUdp: X\n", "f: group Udp: header line has no value line"},
		{"group mismatch", "Tcp: A\nUdp: 1\n", "f: group Tcp: header line followed by a value line of group Udp"},
		{"not a number", "Tcp: A B\nTcp: 1 x\n", `f: group Tcp: counter B: value "x" is not an unsigned integer`},
		{"no colon", "garbage\nTcp: 1\n", "f: line 1"},
		{"duplicate group", "Tcp: A\nTcp: 1\nTcp: B\nTcp: 2\n", "group Tcp appears twice"},
		{"duplicate name", "Tcp: A A\nTcp: 1 2\n", "counter A appears twice"},
		{"overflow", "Tcp: A\nTcp: 18446744073709551616\n", "not an unsigned integer"},
		{"float", "Tcp: A\nTcp: 1.5\n", "not an unsigned integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNetstat(strings.NewReader(tc.in), "f")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
	for _, tc := range []struct{ name, in, wantErr string }{
		{"three fields", "Ip6InReceives 1 2\n", "line 1"},
		{"not a number", "Ip6InReceives -1\n", "counter Ip6InReceives"},
		{"duplicate", "Udp6NoPorts 1\nUdp6NoPorts 2\n", "appears twice"},
	} {
		t.Run("snmp6 "+tc.name, func(t *testing.T) {
			_, err := ParseSnmp6(strings.NewReader(tc.in), "f")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// New groups and fields are parsed like known ones; empty groups are fine.
func TestParseNetstatUnknownFields(t *testing.T) {
	in := "FutureExt: NewThing OtherThing\nFutureExt: 5 6\n\nIcmpMsg:\nIcmpMsg:\nTcp: MaxConn X\nTcp: -1 3\n"
	got, err := ParseNetstat(strings.NewReader(in), "f")
	if err != nil {
		t.Fatal(err)
	}
	want := []NetstatCounter{{"FutureExt", "NewThing", 5}, {"FutureExt", "OtherThing", 6}, {"Tcp", "X", 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	s6, err := ParseSnmp6(strings.NewReader("Ip6Brand 1\nMystery 2\n"), "f")
	if err != nil || fmt.Sprint(s6) != fmt.Sprint([]NetstatCounter{{"Ip6", "Brand", 1}, {"Snmp6", "Mystery", 2}}) {
		t.Fatalf("got %v, %v", s6, err)
	}
}

// The collector exports exactly the allow-listed counters the kernel has, with the file's values.
func TestNetstatCollector(t *testing.T) {
	series, types, err := collectSeries(t, NewNetstat("testdata/netns-pressure-6.18"))
	if err != nil {
		t.Fatalf("Update: %v (a missing snmp6 must not be an error)", err)
	}
	if types["netlens_netstat_total"] != dto.MetricType_COUNTER {
		t.Fatalf("netlens_netstat_total is %v, want a counter", types["netlens_netstat_total"])
	}
	for k, v := range map[string]float64{
		`netlens_netstat_total{group="TcpExt",name="ListenOverflows"}`: 28,
		`netlens_netstat_total{group="TcpExt",name="ListenDrops"}`:     28,
		`netlens_netstat_total{group="TcpExt",name="TCPRetransFail"}`:  4,
		`netlens_netstat_total{group="Tcp",name="AttemptFails"}`:       0,
	} {
		if got, ok := series[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for k := range series {
		for _, bad := range []string{"CurrEstab", "MaxConn", "InReceives", "TCPHPHits", `group="IcmpMsg"`, `group="MPTcpExt"`} {
			if strings.Contains(k, bad) {
				t.Errorf("%s exported; not in the allow list", k)
			}
		}
	}

	// On the recorded host, every allow-listed counter the files name is exported.
	series, _, err = collectSeries(t, NewNetstat("testdata/proc-6.18"))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, f := range []string{"snmp", "netstat", "snmp6"} {
		text += string(readFixture(t, "proc-6.18/net/"+f))
	}
	present := 0
	for g, names := range NetstatAllowList {
		for _, n := range names {
			key := fmt.Sprintf(`netlens_netstat_total{group=%q,name=%q}`, g, n)
			inFile := containsCounter(text, g, n)
			if _, ok := series[key]; ok != inFile {
				t.Errorf("%s exported=%v, in the recorded files=%v", key, ok, inFile)
			}
			if inFile {
				present++
			}
		}
	}
	if len(series) != present {
		t.Errorf("%d series, want %d", len(series), present)
	}
	if series[`netlens_netstat_total{group="Icmp6",name="InErrors"}`] != 1 {
		t.Errorf("Icmp6 InErrors from snmp6 not exported as 1")
	}

	// A kernel without TcpExt fields it never had: those are just absent.
	series, _, err = collectSeries(t, NewNetstat("testdata/proc-4.19"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := series[`netlens_netstat_total{group="TcpExt",name="TCPRcvQDrop"}`]; ok {
		t.Error("TCPRcvQDrop exported though 4.19 fixture lacks it")
	}
	if series[`netlens_netstat_total{group="Udp",name="RcvbufErrors"}`] != 27 {
		t.Error("Udp RcvbufErrors from 4.19 fixture is not 27")
	}
}

// containsCounter: whether group's header line (snmp/netstat) or a snmp6 line names the counter.
func containsCounter(text, group, name string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == group+name {
			return true
		}
		if f[0] == group+":" {
			for _, x := range f[1:] {
				if x == name {
					return true
				}
			}
		}
	}
	return false
}

func TestNetstatCollectorErrors(t *testing.T) {
	_, _, err := collectSeries(t, NewNetstat(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "net/snmp") || !strings.Contains(err.Error(), "net/netstat") {
		t.Fatalf("err = %v, want it to name both missing files", err)
	}
	// A malformed netstat leaves snmp's series and reports the file and group.
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "net"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "net/snmp"), readFixture(t, "proc-6.18/net/snmp"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "net/netstat"), []byte("TcpExt: ListenDrops ListenOverflows\nTcpExt: 1\n"), 0o644))
	series, _, err := collectSeries(t, NewNetstat(dir))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "net/netstat")+": group TcpExt: 2 names in the header line but 1 values") {
		t.Fatalf("err = %v", err)
	}
	if _, ok := series[`netlens_netstat_total{group="Tcp",name="InErrs"}`]; !ok {
		t.Error("snmp's series lost because netstat was malformed")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Every allow-list entry is unique, and no gauge slipped in.
func TestNetstatAllowList(t *testing.T) {
	n := 0
	for g, names := range NetstatAllowList {
		seen := map[string]bool{}
		for _, name := range names {
			if seen[name] {
				t.Errorf("%s %s listed twice", g, name)
			}
			seen[name] = true
			n++
			if !NetstatAllowed(g, name) {
				t.Errorf("NetstatAllowed(%s, %s) = false", g, name)
			}
		}
	}
	for _, gauge := range [][2]string{{"Tcp", "CurrEstab"}, {"Tcp", "MaxConn"}, {"Ip", "Forwarding"}, {"Ip", "DefaultTTL"}, {"Tcp", "RtoMin"}} {
		if NetstatAllowed(gauge[0], gauge[1]) {
			t.Errorf("gauge %v is allow-listed", gauge)
		}
	}
	if n > 120 {
		t.Errorf("allow list has %d entries; keep netlens_netstat_total's cardinality small", n)
	}
}

func formatNetstat(cs []NetstatCounter) string {
	var b strings.Builder
	var group string
	var names, values []string
	flush := func() {
		if group != "" {
			fmt.Fprintf(&b, "%s: %s\n%s: %s\n", group, strings.Join(names, " "), group, strings.Join(values, " "))
		}
	}
	for _, c := range cs {
		if c.Group != group {
			flush()
			group, names, values = c.Group, nil, nil
		}
		names = append(names, c.Name)
		values = append(values, fmt.Sprint(c.Value))
	}
	flush()
	return b.String()
}

// FuzzParseNetstat: never panics; what it accepts has sane names and
// survives a format and re-parse unchanged.
func FuzzParseNetstat(f *testing.F) {
	for _, p := range []string{"proc-6.18/net/snmp", "proc-6.18/net/netstat", "proc-4.19/net/snmp", "proc-4.19/net/netstat"} {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Tcp: A B\nTcp: 1 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseNetstat(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, c := range got {
			if c.Group == "" || c.Name == "" || strings.ContainsAny(c.Group, " \t\n:") || strings.ContainsAny(c.Name, " \t\n") {
				t.Fatalf("bad counter %+v", c)
			}
		}
		again, err := ParseNetstat(strings.NewReader(formatNetstat(got)), "again")
		if err != nil {
			t.Fatalf("re-parse of %q: %v", formatNetstat(got), err)
		}
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip changed %v into %v", got, again)
		}
	})
}

// FuzzParseSnmp6: never panics; accepted input round-trips.
func FuzzParseSnmp6(f *testing.F) {
	b, err := os.ReadFile("testdata/proc-6.18/net/snmp6")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("Ip6InDiscards 3\nMystery 1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseSnmp6(bytes.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, c := range got {
			if c.Name == "" {
				t.Fatalf("empty name in %+v", c)
			}
			prefix := c.Group
			if prefix == "Snmp6" {
				prefix = ""
			}
			fmt.Fprintf(&b, "%s%s %d\n", prefix, c.Name, c.Value)
		}
		again, err := ParseSnmp6(strings.NewReader(b.String()), "again")
		if err != nil || fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("round trip: %v, %v -> %v", err, got, again)
		}
	})
}
