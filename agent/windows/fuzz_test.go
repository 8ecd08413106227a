package windows

import (
	"regexp"
	"testing"
)

var macForm = regexp.MustCompile(`^[0-9A-F]{2}(-[0-9A-F]{2}){5}$`)

// ParseVFPText never panics, and what it accepts has an ACL drop counter and
// only the two directions.
func FuzzParseVFPText(f *testing.F) {
	f.Add(readFixture(f, "vfp_port_counter.txt"))
	f.Add([]byte("Direction - OUT\r\nDropped ACL packets : 1\r\nDirection - IN\r\nDropped ACL packets : 2\r\n"))
	f.Add([]byte("ERROR: failed to find port\r\n"))
	f.Add([]byte("Direction - IN\nDropped ACL packets : 18446744073709551615\nDropped ACL bytes : 9\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pc, err := ParseVFPText(in)
		if err != nil {
			return
		}
		if !pc.hasACL() || pc.Out == nil || pc.In == nil {
			t.Fatalf("accepted output without ACL counter: %+v", pc)
		}
	})
}

// ParseVFPJSON never panics, and what it accepts has an ACL drop counter.
func FuzzParseVFPJSON(f *testing.F) {
	f.Add(readFixture(f, "vfp_port_counter.json"))
	f.Add([]byte(`{"InformationArray":{"PortCounters":{"Direction":"In","DroppedAcl":1}}}`))
	f.Add([]byte(`{"InformationArray":[{"PortCounters":[{"Direction":0,"DroppedAcl":-1}]}]}`))
	f.Add([]byte(`{"InformationArray":[{"PortCounters":[{"Direction":1,"DroppedAcl":1e3}]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		pc, err := ParseVFPJSON(in)
		if err != nil {
			return
		}
		if !pc.hasACL() {
			t.Fatalf("accepted output without ACL counter: %+v", pc)
		}
	})
}

// ParseVMSwitchPorts and ParseVMSwitchPortsJSON never panic; every port they
// return has a name, and a MAC in HNS's form or none.
func FuzzParseVMSwitchPorts(f *testing.F) {
	f.Add(readFixture(f, "list_vmswitch_port.txt"))
	f.Add(readFixture(f, "list_vmswitch_port.json"))
	f.Add([]byte("Port name : A\r\nMAC address : 00:15:5d:00:00:01\r\nPort name : B\r\nMAC address : 00155D000001\r\n"))
	f.Add([]byte(`{"Ports":{"Name":"A","MacAddress":7}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, parse := range []func([]byte) ([]VMSwitchPort, error){ParseVMSwitchPorts, ParseVMSwitchPortsJSON} {
			ports, err := parse(in)
			if err != nil {
				continue
			}
			for _, p := range ports {
				if p.Name == "" {
					t.Fatalf("port without name: %+v", ports)
				}
				if p.MAC != "" && !macForm.MatchString(p.MAC) {
					t.Fatalf("MAC %q not in HNS form", p.MAC)
				}
			}
			byMAC, _ := PortsByMAC(ports)
			for mac := range byMAC {
				if mac == "" {
					t.Fatal("empty MAC mapped")
				}
			}
		}
	})
}
