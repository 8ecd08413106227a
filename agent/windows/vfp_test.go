package windows

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The recorded text output of /get-port-counter parses into its OUT and IN
// sections: the ACL drop counter and the other counters of each direction.
func TestParseVFPTextRecorded(t *testing.T) {
	pc, err := ParseVFPText(readFixture(t, "vfp_port_counter.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pc.ACLDrops(Out); got != (Drop{Packets: 17}) {
		t.Errorf("OUT ACL drops = %+v, want 17 packets and no bytes", got)
	}
	if got := pc.ACLDrops(In); got != (Drop{Packets: 2388}) {
		t.Errorf("IN ACL drops = %+v, want 2388 packets and no bytes", got)
	}
	for key, want := range map[string]uint64{"totalpackets": 184467, "totalbytes": 98143322, "synackpackets": 1198,
		"tcpconnectionsresetbysyn": 1, "tcpconnectionsexpiredtotimewait": 1101, "droppedpackets": 31} {
		if pc.Out[key] != want {
			t.Errorf("OUT %s = %d, want %d", key, pc.Out[key], want)
		}
	}
	if pc.In["totalpackets"] != 210933 || pc.In["droppedpackets"] != 2402 {
		t.Errorf("IN counters wrong: %v", pc.In)
	}
	if len(pc.Out) != 16 || len(pc.In) != 16 {
		t.Errorf("want 16 counters per direction, got OUT %d IN %d", len(pc.Out), len(pc.In))
	}
}

// Line endings do not matter: the recorded CRLF output and the same with LF
// parse alike.
func TestParseVFPTextLineEndings(t *testing.T) {
	crlf := readFixture(t, "vfp_port_counter.txt")
	a, err := ParseVFPText(crlf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseVFPText(bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("CRLF and LF differ:\n%v\n%v", a, b)
	}
}

// Counters before any direction header are OUT's, as Retina reads the
// format (OUT comes first, only "Direction - IN" separates the two).
func TestParseVFPTextOutBeforeHeader(t *testing.T) {
	pc, err := ParseVFPText([]byte("Dropped ACL packets : 4\r\nDirection - IN\r\nDropped ACL packets : 9\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pc.ACLDrops(Out).Packets != 4 || pc.ACLDrops(In).Packets != 9 {
		t.Fatalf("got OUT %d IN %d, want 4 and 9", pc.ACLDrops(Out).Packets, pc.ACLDrops(In).Packets)
	}
}

// A dropped-ACL-bytes counter, which no recorded format has, is read when
// present, and bytes are reported as counted only then.
func TestParseVFPACLBytesWhenPresent(t *testing.T) {
	pc, err := ParseVFPText([]byte("Direction - IN\nDropped ACL packets : 3\nDropped ACL bytes : 180\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pc.ACLDrops(In); got != (Drop{Packets: 3, Bytes: 180, HasBytes: true}) {
		t.Fatalf("IN = %+v, want 3 packets, 180 bytes", got)
	}
	if pc.ACLDrops(Out).HasBytes {
		t.Fatal("OUT has no bytes counter but reports bytes")
	}
}

// The recorded JSON output (/format 1) gives the same ACL drops and totals as
// the text output of the same port.
func TestParseVFPJSONRecorded(t *testing.T) {
	pc, err := ParseVFPJSON(readFixture(t, "vfp_port_counter.json"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := ParseVFPText(readFixture(t, "vfp_port_counter.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Direction{Out, In} {
		if pc.ACLDrops(d) != text.ACLDrops(d) {
			t.Errorf("%s: JSON %+v, text %+v", d, pc.ACLDrops(d), text.ACLDrops(d))
		}
		for _, k := range []string{"totalpackets", "totalbytes", "droppedpackets", "tcphalfopentimeouts"} {
			if pc.dir(d)[k] != text.dir(d)[k] {
				t.Errorf("%s %s: JSON %d, text %d", d, k, pc.dir(d)[k], text.dir(d)[k])
			}
		}
	}
	if _, ok := pc.Out["direction"]; ok {
		t.Error("Direction is a counter")
	}
}

// JSON shapes PowerShell would read the same way are accepted: a single
// object instead of a list, Direction as a name, member names in another
// case, and non-numeric members such as "$type" are skipped.
func TestParseVFPJSONVariants(t *testing.T) {
	in := `{"informationArray": {"$type": "PortCounterInfo", "PortCounters": [
	  {"$type": "Counters", "Direction": "Out", "DroppedAcl": 5, "Name": "x"},
	  {"direction": 1, "droppedACL": 6, "TotalPackets": 10}]}}`
	pc, err := ParseVFPJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if pc.ACLDrops(Out).Packets != 5 || pc.ACLDrops(In).Packets != 6 || pc.In["totalpackets"] != 10 {
		t.Fatalf("got %+v", pc)
	}
	if _, ok := pc.Out["$type"]; ok {
		t.Fatal("$type kept as a counter")
	}
}

// Malformed or foreign output yields an error that says what is wrong,
// never a panic or made-up numbers.
func TestParseVFPMalformed(t *testing.T) {
	text := []struct{ name, in, want string }{
		{"empty", "", "empty output"},
		{"blank", " \r\n\r\n", "empty output"},
		{"vfpctrl error", "ERROR: failed to find port 1234\r\n", "failed to find port 1234"},
		{"no ACL counter", "Direction - OUT\r\nTotal packets : 3\r\nDirection - IN\r\nTotal packets : 4\r\n", "no dropped-ACL-packets counter"},
		{"ACL not a number", "Direction - IN\r\nDropped ACL packets : many\r\n", `value "many" is not a counter`},
		{"ACL negative", "Direction - IN\r\nDropped ACL packets : -1\r\n", "is not a counter"},
		{"ACL twice", "Direction - IN\r\nDropped ACL packets : 1\r\nDropped ACL packets : 2\r\n", "appears twice in direction IN"},
		{"binary", "\x00\x01\x02:\xff\xfe", "no dropped-ACL-packets counter"},
		{"port list instead", string(readFixture(t, "list_vmswitch_port.txt")), "no dropped-ACL-packets counter"},
	}
	for _, tc := range text {
		t.Run("text/"+tc.name, func(t *testing.T) {
			_, err := ParseVFPText([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	js := []struct{ name, in, want string }{
		{"empty", "", "empty output"},
		{"vfpctrl error", "ERROR: failed to find port\r\n", "failed to find port"},
		{"not JSON", "Direction - IN\r\nDropped ACL packets : 1\r\n", "invalid character"},
		{"truncated", `{"InformationArray":[{"PortCounters":[{"Direction":0,`, "unexpected end of JSON"},
		{"no InformationArray", `{"Ports":[]}`, "no InformationArray"},
		{"no PortCounters", `{"InformationArray":[{}]}`, "no PortCounters"},
		{"PortCounters not objects", `{"InformationArray":[{"PortCounters":[1,2]}]}`, "neither an object nor a list"},
		{"no Direction", `{"InformationArray":[{"PortCounters":[{"DroppedAcl":1}]}]}`, "no Direction"},
		{"bad Direction", `{"InformationArray":[{"PortCounters":[{"Direction":2,"DroppedAcl":1}]}]}`, "unknown Direction 2"},
		{"Direction twice", `{"InformationArray":[{"PortCounters":[{"Direction":0,"DroppedAcl":1},{"Direction":0,"DroppedAcl":2}]}]}`, "direction OUT appears twice"},
		{"ACL negative", `{"InformationArray":[{"PortCounters":[{"Direction":1,"DroppedAcl":-4}]}]}`, "is not a counter"},
		{"ACL string", `{"InformationArray":[{"PortCounters":[{"Direction":1,"DroppedAcl":"4"}]}]}`, "is not a number"},
		{"no ACL", `{"InformationArray":[{"PortCounters":[{"Direction":1,"TotalPackets":4}]}]}`, "no dropped-ACL-packets counter"},
		{"array top", `[1]`, "cannot unmarshal array"},
	}
	for _, tc := range js {
		t.Run("json/"+tc.name, func(t *testing.T) {
			_, err := ParseVFPJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// recordedPorts: four pod ports (friendly name a GUID), the
// host vNIC's port and the external port (no MAC).
var recordedPorts = []VMSwitchPort{
	{Name: "6C4A7F3E-1B2D-4E5F-8A9B-0C1D2E3F4A5B", FriendlyName: "3F6C1A2E-0B4D-4C8E-9A1F-2D3E4F5A6B7C", MAC: "00-15-5D-3A-8F-21"},
	{Name: "9D1E2F3A-4B5C-4D6E-8F7A-1B2C3D4E5F60", FriendlyName: "4A7D2B3F-1C5E-4D9F-8B2A-3E4F5A6B7C8D", MAC: "00-15-5D-3A-8F-22"},
	{Name: "2B3C4D5E-6F7A-4B8C-9D0E-1F2A3B4C5D6E", FriendlyName: "5B8E3C4A-2D6F-4E0A-9C3B-4F5A6B7C8D9E", MAC: "00-15-5D-3A-8F-23"},
	{Name: "7E8F9A0B-1C2D-4E3F-8A5B-6C7D8E9F0A1B", FriendlyName: "6C9F4D5B-3E7A-4F1B-8D4C-5A6B7C8D9E0F", MAC: "00-15-5D-3A-8F-24"},
	{Name: "4FD72AB0-2C35-4AE7-AC9A-F893495BD5EF", FriendlyName: "Container NIC 8453379c", MAC: "00-15-5D-3A-80-01"},
	{Name: "A1B2C3D4-E5F6-4A7B-8C9D-0E1F2A3B4C5D", FriendlyName: "ExternalPort"},
}

// The recorded /list-vmswitch-port text gives every port's name (GUID),
// friendly name and MAC (none for the external port); status lines and
// two-colon drop-reason lines are skipped.
func TestParseVMSwitchPortsRecorded(t *testing.T) {
	ports, err := ParseVMSwitchPorts(readFixture(t, "list_vmswitch_port.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ports, recordedPorts) {
		t.Fatalf("got %+v\nwant %+v", ports, recordedPorts)
	}
}

// The recorded /list-vmswitch-port /format 1 JSON gives the same ports as the
// text, its separator-less MAC addresses in HNS's form.
func TestParseVMSwitchPortsJSONRecorded(t *testing.T) {
	ports, err := ParseVMSwitchPortsJSON(readFixture(t, "list_vmswitch_port.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ports, recordedPorts) {
		t.Fatalf("got %+v\nwant %+v", ports, recordedPorts)
	}
}

// Port lists that are not vfpctrl's yield a clear error, never a panic.
func TestParseVMSwitchPortsMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty output"},
		{"vfpctrl error", "ERROR: VFP is not enabled on any switch\r\n", "VFP is not enabled"},
		{"no ports", "ITEM LIST\r\n===========\r\nCommand list-vmswitch-port succeeded!\r\n", `no "Port name" line`},
		{"MAC first", "MAC address : 00-15-5D-00-00-01\r\nPort name : X\r\n", "MAC address before any Port name"},
		{"empty port name", "Port name :   \r\n", "empty Port name"},
		{"counters instead", string(readFixture(t, "vfp_port_counter.txt")), `no "Port name" line`},
	} {
		t.Run("text/"+tc.name, func(t *testing.T) {
			_, err := ParseVMSwitchPorts([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty output"},
		{"not JSON", "Port name : X\r\n", "invalid character"},
		{"no Ports", `{"InformationArray":[]}`, "no Ports"},
		{"port without name", `{"Ports":[{"Id":"Container NIC 1","MacAddress":"00155D000001"}]}`, "Ports[0] has no Name"},
		{"ports not objects", `{"Ports":"x"}`, "neither an object nor a list"},
	} {
		t.Run("json/"+tc.name, func(t *testing.T) {
			_, err := ParseVMSwitchPortsJSON([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// MAC addresses in HNS's, vfpctrl's JSON and colon forms compare equal after
// NormalizeMAC; anything else is no MAC.
func TestNormalizeMAC(t *testing.T) {
	for in, want := range map[string]string{
		"00-15-5D-3A-8F-21": "00-15-5D-3A-8F-21", "00-15-5d-3a-8f-21": "00-15-5D-3A-8F-21",
		"00155D3A8F21": "00-15-5D-3A-8F-21", "00:15:5d:3a:8f:21": "00-15-5D-3A-8F-21",
		"": "", "00-15-5D-3A-8F": "", "00-15-5D-3A-8F-21-22": "", "zz-15-5D-3A-8F-21": "", "Container NIC": "",
	} {
		if got := NormalizeMAC(in); got != want {
			t.Errorf("NormalizeMAC(%q) = %q, want %q", in, got, want)
		}
	}
}

// Ports without a MAC are not mapped, and a MAC two ports share maps to
// neither (their counters could not be told apart).
func TestPortsByMAC(t *testing.T) {
	ports := append([]VMSwitchPort{}, recordedPorts...)
	ports = append(ports, VMSwitchPort{Name: "DUP", MAC: "00-15-5D-3A-8F-24"})
	byMAC, ambiguous := PortsByMAC(ports)
	if len(byMAC) != 4 || byMAC["00-15-5D-3A-8F-21"] != recordedPorts[0].Name {
		t.Fatalf("byMAC = %v", byMAC)
	}
	if _, ok := byMAC[""]; ok {
		t.Fatal("port without MAC mapped")
	}
	if !reflect.DeepEqual(ambiguous, []string{"00-15-5D-3A-8F-24"}) {
		t.Fatalf("ambiguous = %v", ambiguous)
	}
}

// ErrNoACLCounter can be told apart with errors.Is.
func TestErrNoACLCounterIs(t *testing.T) {
	_, err := ParseVFPText([]byte("Total packets : 1\n"))
	if !errors.Is(err, ErrNoACLCounter) {
		t.Fatalf("err = %v, want ErrNoACLCounter", err)
	}
}
