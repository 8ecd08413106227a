package drops

import "fmt"

var l4Names = map[uint8]string{
	1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre",
	50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf", 112: "vrrp", 132: "sctp",
}

var etherNames = map[uint16]string{
	0x0800: "ipv4", 0x86dd: "ipv6", 0x0806: "arp", 0x8100: "vlan", 0x88a8: "qinq", 0x8847: "mpls",
}

// ProtocolName is the protocol label of a drop: the transport protocol for
// IP packets (tcp, udp, icmp, ...), otherwise the link-layer protocol (arp,
// ipv4 or ipv6 when the source could not see the IP header, ...).
func ProtocolName(family, l4proto uint8, ethertype uint16) string {
	if family != 0 {
		if n, ok := l4Names[l4proto]; ok {
			return n
		}
		return fmt.Sprintf("ipproto_%d", l4proto)
	}
	if n, ok := etherNames[ethertype]; ok {
		return n
	}
	if ethertype == 0 {
		return "unknown"
	}
	return fmt.Sprintf("ethertype_0x%04x", ethertype)
}
