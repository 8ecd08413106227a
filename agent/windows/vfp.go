package windows

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Direction is a VFP port direction. VFP numbers them Out = 0 and In = 1 (the
// Direction field of the JSON counters; the text form lists OUT first).
// In is toward the port's VM or container (the pod's ingress), Out is from it
// (the pod's egress).
type Direction uint8

const (
	Out Direction = 0
	In  Direction = 1
)

func (d Direction) String() string {
	if d == In {
		return "IN"
	}
	return "OUT"
}

// Counter names as keys: the name with spaces, dashes, underscores and case
// removed, so the text form's "Dropped ACL packets" and the JSON form's
// "DroppedAcl" can be looked up alike.
const (
	keyACLDropPacketsText = "droppedaclpackets" // text: "Dropped ACL packets"
	keyACLDropPacketsJSON = "droppedacl"        // JSON (/format 1): "DroppedAcl"
	keyACLDropBytes       = "droppedaclbytes"   // not seen in any recorded format; used if a vfpctrl version has it
)

// aclKeys are the keys a packet count of ACL drops may have.
var aclKeys = []string{keyACLDropPacketsText, keyACLDropPacketsJSON}

// ErrNoACLCounter is returned when vfpctrl's output parsed but holds no ACL
// drop counter in either direction.
var ErrNoACLCounter = errors.New("no dropped-ACL-packets counter (\"Dropped ACL packets\" / \"DroppedAcl\") in either direction")

// PortCounters are one VFP port's counters, per direction, keyed by the
// counter's normalized name (see normKey): "droppedaclpackets",
// "totalpackets", "synpackets", ...
type PortCounters struct {
	Out map[string]uint64
	In  map[string]uint64
}

func (p PortCounters) dir(d Direction) map[string]uint64 {
	if d == In {
		return p.In
	}
	return p.Out
}

// ACLDrops returns the packets (and, when the format has such a counter,
// bytes) that VFP ACL rules dropped in direction d.
func (p PortCounters) ACLDrops(d Direction) Drop {
	m := p.dir(d)
	var out Drop
	for _, k := range aclKeys {
		if v, ok := m[k]; ok {
			out.Packets = v
			break
		}
	}
	if v, ok := m[keyACLDropBytes]; ok {
		out.Bytes, out.HasBytes = v, true
	}
	return out
}

func (p PortCounters) hasACL() bool {
	for _, m := range []map[string]uint64{p.Out, p.In} {
		for _, k := range aclKeys {
			if _, ok := m[k]; ok {
				return true
			}
		}
	}
	return false
}

// normKey folds a counter or field name: "Dropped ACL packets" ->
// "droppedaclpackets", "SYN-ACK packets" -> "synackpackets".
func normKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t' || r == '-' || r == '_' || r == '\r':
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isACLKey(k string) bool {
	return k == keyACLDropPacketsText || k == keyACLDropPacketsJSON || k == keyACLDropBytes
}

// vfpctrlError returns the message of vfpctrl's "ERROR: ..." first line, if any.
func vfpctrlError(out []byte) (string, bool) {
	first, _, _ := bytes.Cut(bytes.TrimLeft(out, "\ufeff \t\r\n"), []byte("\n"))
	first = bytes.TrimSpace(first)
	if len(first) >= 6 && strings.EqualFold(string(first[:6]), "ERROR:") {
		return strings.TrimSpace(string(first[6:])), true
	}
	return "", false
}

// ParseVFPText parses the text output of `vfpctrl /port <port>
// /get-port-counter`: "name : value" lines in a "Direction - OUT" section and
// a "Direction - IN" section. As Retina's parser does, counters before any
// direction header are OUT's (OUT comes first). Lines without exactly one
// colon, and counters whose value is not a number, are skipped, except the
// ACL drop counters, which must be numbers. It fails on vfpctrl's "ERROR:"
// output, on a repeated ACL counter in one direction and when no ACL drop
// counter is found.
func ParseVFPText(out []byte) (PortCounters, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return PortCounters{}, errors.New("vfpctrl get-port-counter: empty output")
	}
	if msg, ok := vfpctrlError(out); ok {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter: %s", msg)
	}
	pc := PortCounters{Out: map[string]uint64{}, In: map[string]uint64{}}
	dir := Out
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), len(out)+1)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		switch strings.TrimRight(normKey(text), ":") {
		case "directionout":
			dir = Out
			continue
		case "directionin":
			dir = In
			continue
		}
		if strings.Count(text, ":") != 1 {
			continue
		}
		name, value, _ := strings.Cut(text, ":")
		key := normKey(name)
		if key == "" {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			if isACLKey(key) {
				return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter line %d: counter %q: value %q is not a counter", line, strings.TrimSpace(name), strings.TrimSpace(value))
			}
			continue
		}
		m := pc.dir(dir)
		if _, dup := m[key]; dup {
			if isACLKey(key) {
				return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter line %d: counter %q appears twice in direction %s", line, strings.TrimSpace(name), dir)
			}
			continue
		}
		m[key] = v
	}
	if err := sc.Err(); err != nil {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter: %w", err)
	}
	if !pc.hasACL() {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter: %w", ErrNoACLCounter)
	}
	return pc, nil
}

// ParseVFPJSON parses the output of `vfpctrl /port <port> /get-port-counter
// /format 1`: an object whose InformationArray holds PortCounters, one object
// per direction with a numeric Direction (0 OUT, 1 IN) and numeric counters
// (TotalPackets, TotalBytes, DroppedPackets, DroppedAcl, ...). A single object
// where a list is expected is accepted too. Non-numeric fields are skipped.
func ParseVFPJSON(out []byte) (PortCounters, error) {
	if msg, ok := vfpctrlError(out); ok {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter: %s", msg)
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(out, &top); err != nil {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: %w", err)
	}
	infos, err := objects(field(top, "InformationArray"), "InformationArray")
	if err != nil {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: %w", err)
	}
	pc := PortCounters{Out: map[string]uint64{}, In: map[string]uint64{}}
	seen := map[Direction]bool{}
	for _, info := range infos {
		raw := field(info, "PortCounters")
		if raw == nil {
			continue
		}
		counters, err := objects(raw, "PortCounters")
		if err != nil {
			return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: %w", err)
		}
		for i, c := range counters {
			dir, err := jsonDirection(field(c, "Direction"))
			if err != nil {
				return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: PortCounters[%d]: %w", i, err)
			}
			if seen[dir] {
				return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: direction %s appears twice", dir)
			}
			seen[dir] = true
			m := pc.dir(dir)
			for name, rv := range c {
				key := normKey(name)
				if key == "direction" || key == "" {
					continue
				}
				var n json.Number
				if err := unmarshalNumber(rv, &n); err != nil {
					if isACLKey(key) {
						return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: direction %s: %q is not a number", dir, name)
					}
					continue
				}
				v, err := strconv.ParseUint(n.String(), 10, 64)
				if err != nil {
					if isACLKey(key) {
						return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: direction %s: %q = %s is not a counter", dir, name, n)
					}
					continue
				}
				m[key] = v
			}
		}
	}
	if len(seen) == 0 {
		return PortCounters{}, errors.New("vfpctrl get-port-counter JSON: no PortCounters in InformationArray")
	}
	if !pc.hasACL() {
		return PortCounters{}, fmt.Errorf("vfpctrl get-port-counter JSON: %w", ErrNoACLCounter)
	}
	return pc, nil
}

// unmarshalNumber decodes a JSON number literal (json.Number alone would also
// take a string holding a number).
func unmarshalNumber(raw json.RawMessage, n *json.Number) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '"' {
		return errors.New("not a number")
	}
	return json.Unmarshal(raw, n)
}

func decodeJSON(out []byte, v any) error {
	out = bytes.TrimLeft(out, "\ufeff \t\r\n")
	if len(out) == 0 {
		return errors.New("empty output")
	}
	return json.Unmarshal(out, v)
}

// field returns obj's member name, matched case-insensitively as PowerShell does.
func field(obj map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := obj[name]; ok {
		return v
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// objects decodes raw as a list of objects, or one object.
func objects(raw json.RawMessage, what string) ([]map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("no %s", what)
	}
	if raw[0] == '{' {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return []map[string]json.RawMessage{one}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s is neither an object nor a list of objects: %w", what, err)
	}
	return list, nil
}

// jsonDirection reads a Direction field: 0/1, or a name (Out/In, Egress/Ingress).
func jsonDirection(raw json.RawMessage) (Direction, error) {
	if raw == nil {
		return 0, errors.New("no Direction")
	}
	var n json.Number
	if err := unmarshalNumber(raw, &n); err == nil {
		switch n.String() {
		case "0":
			return Out, nil
		case "1":
			return In, nil
		}
		return 0, fmt.Errorf("unknown Direction %s (want 0 or 1)", n)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "out", "egress":
			return Out, nil
		case "in", "ingress":
			return In, nil
		}
		return 0, fmt.Errorf("unknown Direction %q", s)
	}
	return 0, fmt.Errorf("Direction %s is neither a number nor a name", truncate(string(raw), 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// VMSwitchPort is one port of `vfpctrl /list-vmswitch-port`.
type VMSwitchPort struct {
	// Name is the port's GUID, what `vfpctrl /port` takes.
	Name string
	// FriendlyName is a GUID for a pod's port, "Container NIC <id>" for the
	// host's vNIC port, "ExternalPort" for the uplink.
	FriendlyName string
	// MAC is the port's MAC address in HNS's form (00-15-5D-3A-8F-21), "" when
	// the port has none or it is not a MAC address.
	MAC string
}

// ParseVMSwitchPorts parses the text output of `vfpctrl /list-vmswitch-port`:
// one block of "name : value" lines per port, each block starting with its
// "Port name" line; "MAC address" is the port's MAC. Lines of other shapes
// ("Port is Enabled.", "ITEM LIST", drop reasons with two colons) are skipped.
func ParseVMSwitchPorts(out []byte) ([]VMSwitchPort, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, errors.New("vfpctrl list-vmswitch-port: empty output")
	}
	if msg, ok := vfpctrlError(out); ok {
		return nil, fmt.Errorf("vfpctrl list-vmswitch-port: %s", msg)
	}
	var ports []VMSwitchPort
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), len(out)+1)
	line := 0
	for sc.Scan() {
		line++
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch normKey(name) {
		case "portname":
			if value == "" {
				return nil, fmt.Errorf("vfpctrl list-vmswitch-port line %d: empty Port name", line)
			}
			ports = append(ports, VMSwitchPort{Name: value})
		case "portfriendlyname":
			if len(ports) > 0 {
				ports[len(ports)-1].FriendlyName = value
			}
		case "macaddress":
			if len(ports) == 0 {
				return nil, fmt.Errorf("vfpctrl list-vmswitch-port line %d: MAC address before any Port name", line)
			}
			ports[len(ports)-1].MAC = NormalizeMAC(value)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vfpctrl list-vmswitch-port: %w", err)
	}
	if len(ports) == 0 {
		return nil, errors.New("vfpctrl list-vmswitch-port: no \"Port name\" line: not vfpctrl port list output")
	}
	return ports, nil
}

// ParseVMSwitchPortsJSON parses `vfpctrl /list-vmswitch-port /format 1`: an
// object with a Ports list whose entries have Name (the port GUID), Id (the
// friendly name) and MacAddress (hex digits, no separators).
func ParseVMSwitchPortsJSON(out []byte) ([]VMSwitchPort, error) {
	if msg, ok := vfpctrlError(out); ok {
		return nil, fmt.Errorf("vfpctrl list-vmswitch-port: %s", msg)
	}
	var top map[string]json.RawMessage
	if err := decodeJSON(out, &top); err != nil {
		return nil, fmt.Errorf("vfpctrl list-vmswitch-port JSON: %w", err)
	}
	raw := field(top, "Ports")
	if raw == nil {
		return nil, errors.New("vfpctrl list-vmswitch-port JSON: no Ports")
	}
	list, err := objects(raw, "Ports")
	if err != nil {
		return nil, fmt.Errorf("vfpctrl list-vmswitch-port JSON: %w", err)
	}
	ports := make([]VMSwitchPort, 0, len(list))
	for i, p := range list {
		var port VMSwitchPort
		for _, f := range []struct {
			name string
			dst  *string
		}{{"Name", &port.Name}, {"Id", &port.FriendlyName}, {"MacAddress", &port.MAC}} {
			if rv := field(p, f.name); rv != nil {
				_ = json.Unmarshal(rv, f.dst) // a non-string stays ""
			}
		}
		if port.Name == "" {
			return nil, fmt.Errorf("vfpctrl list-vmswitch-port JSON: Ports[%d] has no Name", i)
		}
		port.MAC = NormalizeMAC(port.MAC)
		ports = append(ports, port)
	}
	return ports, nil
}

// NormalizeMAC returns mac in HNS's form, upper-case hex pairs joined by "-"
// (00-15-5D-3A-8F-21), from any of 00-15-5d-3a-8f-21, 00:15:5D:3A:8F:21 or
// 00155D3A8F21; "" if mac is not a 48-bit MAC address.
func NormalizeMAC(mac string) string {
	var hex []byte
	for i := 0; i < len(mac); i++ {
		c := mac[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'F':
			hex = append(hex, c)
		case c >= 'a' && c <= 'f':
			hex = append(hex, c-('a'-'A'))
		case c == '-' || c == ':' || c == '.' || c == ' ':
		default:
			return ""
		}
	}
	if len(hex) != 12 {
		return ""
	}
	out := make([]byte, 0, 17)
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			out = append(out, '-')
		}
		out = append(out, hex[i], hex[i+1])
	}
	return string(out)
}

// PortsByMAC maps each MAC address to its port's name. A MAC that two ports
// share is left out (its counters could not be told apart) and returned in
// ambiguous.
func PortsByMAC(ports []VMSwitchPort) (byMAC map[string]string, ambiguous []string) {
	byMAC = make(map[string]string, len(ports))
	dup := map[string]bool{}
	for _, p := range ports {
		if p.MAC == "" {
			continue
		}
		if prev, ok := byMAC[p.MAC]; ok && prev != p.Name {
			dup[p.MAC] = true
			continue
		}
		byMAC[p.MAC] = p.Name
	}
	for mac := range dup {
		delete(byMAC, mac)
		ambiguous = append(ambiguous, mac)
	}
	return byMAC, ambiguous
}
