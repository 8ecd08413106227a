//go:build linux

package drops

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/netlens/netlens/tests/testenv"
)

// Names come from the enum given, never from compiled-in numbers: the same
// name has another number on a kernel that numbers the enum differently (as
// 5.15 backports do), and unknown numbers are named as such.
func TestReasonsFollowTheKernelsNumbering(t *testing.T) {
	v6 := &btf.Enum{Name: "skb_drop_reason", Values: []btf.EnumValue{
		{Name: "SKB_NOT_DROPPED_YET", Value: 0}, {Name: "SKB_CONSUMED", Value: 1},
		{Name: "SKB_DROP_REASON_NOT_SPECIFIED", Value: 2}, {Name: "SKB_DROP_REASON_NO_SOCKET", Value: 3},
		{Name: "SKB_DROP_REASON_NETFILTER_DROP", Value: 12}, {Name: "SKB_DROP_REASON_SKB_CSUM", Value: 75},
		{Name: "SKB_DROP_REASON_MAX", Value: 128},
	}}
	backport := &btf.Enum{Name: "skb_drop_reason", Values: []btf.EnumValue{
		{Name: "SKB_DROP_REASON_NOT_SPECIFIED", Value: 0}, {Name: "SKB_DROP_REASON_NO_SOCKET", Value: 1},
		{Name: "SKB_DROP_REASON_PKT_TOO_SMALL", Value: 2}, {Name: "SKB_DROP_REASON_TCP_CSUM", Value: 3},
		{Name: "SKB_DROP_REASON_SOCKET_FILTER", Value: 4}, {Name: "SKB_DROP_REASON_UDP_CSUM", Value: 5},
		{Name: "SKB_DROP_REASON_NETFILTER_DROP", Value: 6}, {Name: "SKB_DROP_REASON_MAX", Value: 7},
	}}
	a, b := reasonsFromEnum(v6), reasonsFromEnum(backport)
	for _, tc := range []struct {
		r    Reasons
		v    uint32
		want string
	}{
		{a, 3, "NO_SOCKET"}, {a, 12, "NETFILTER_DROP"}, {a, 1, "CONSUMED"}, {a, 75, "SKB_CSUM"},
		{b, 1, "NO_SOCKET"}, {b, 6, "NETFILTER_DROP"}, {b, 0, "NOT_SPECIFIED"},
		{a, 128, "UNKNOWN_128"}, {b, 12, "UNKNOWN_12"},
		{a, ReasonNetfilter, "NETFILTER_DROP"}, {b, ReasonUnknown, "UNKNOWN"},
	} {
		if got := tc.r.Name(tc.v); got != tc.want {
			t.Errorf("Name(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
	if v, ok := b.Value("NETFILTER_DROP"); !ok || v != 6 {
		t.Errorf("Value(NETFILTER_DROP) on the backport = %d %v", v, ok)
	}
	if got, want := strings.Join(a.Names(), " "), "CONSUMED NETFILTER_DROP NOT_DROPPED_YET NOT_SPECIFIED NO_SOCKET SKB_CSUM"; got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
}

// Reasons of subsystems (openvswitch, mac80211) carry the subsystem above bit 16.
func TestReasonsOfSubsystems(t *testing.T) {
	spec, err := btf.NewBuilder(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*btf.Enum{
		{Name: "skb_drop_reason", Size: 4, Values: []btf.EnumValue{{Name: "SKB_DROP_REASON_NO_SOCKET", Value: 3}}},
		{Name: "skb_drop_reason_subsys", Size: 4, Values: []btf.EnumValue{
			{Name: "SKB_DROP_REASON_SUBSYS_CORE", Value: 0}, {Name: "SKB_DROP_REASON_SUBSYS_MAC80211_UNUSABLE", Value: 1},
			{Name: "SKB_DROP_REASON_SUBSYS_OPENVSWITCH", Value: 2}, {Name: "SKB_DROP_REASON_SUBSYS_NUM", Value: 3}}},
		{Name: "ovs_drop_reason", Size: 4, Values: []btf.EnumValue{{Name: "OVS_DROP_LAST_ACTION", Value: 2 << 16}}},
	} {
		if _, err := spec.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := spec.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReasonsFromBTF(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Name(2 << 16); got != "OVS_DROP_LAST_ACTION" {
		t.Errorf("ovs reason: %q", got)
	}
	if got := r.Name(1<<16 | 5); got != "SUBSYS_MAC80211_UNUSABLE_5" {
		t.Errorf("mac80211 reason without names: %q", got)
	}
}

// Against the running kernel: its BTF and its tracepoint format agree on every name.
func TestReasonsOfRunningKernel(t *testing.T) {
	testenv.RequireBTF(t)
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReasonsFromBTF(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := r.Value("NO_SOCKET")
	if !ok || r.Name(v) != "NO_SOCKET" {
		t.Fatalf("NO_SOCKET = %d %v", v, ok)
	}
	format, err := kfreeSkbFormat()
	if err != nil {
		t.Fatal(err)
	}
	fromFormat := ReasonsFromTracepointFormat(format)
	if fromFormat.Len() < 50 {
		t.Fatalf("only %d reasons in the tracepoint format", fromFormat.Len())
	}
	for val, name := range fromFormat.names {
		if r.Name(val) != name {
			t.Errorf("reason %d: BTF says %q, tracepoint format says %q", val, r.Name(val), name)
		}
	}
	fields, err := parseTracepointFields(format)
	if err != nil {
		t.Fatal(err)
	}
	if fields.reason == 0 || fields.location == 0 {
		t.Fatalf("fields %+v", fields)
	}
}

// Kernels before 5.17 have no reason field; the parser says so with offset 0.
func TestTracepointFormatWithoutReason(t *testing.T) {
	old := `name: kfree_skb
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:void * skbaddr;	offset:8;	size:8;	signed:0;
	field:void * location;	offset:16;	size:8;	signed:0;
	field:unsigned short protocol;	offset:24;	size:2;	signed:0;

print fmt: "skbaddr=%p protocol=%u location=%p", REC->skbaddr, REC->protocol, REC->location
`
	f, err := parseTracepointFields(old)
	if err != nil {
		t.Fatal(err)
	}
	if f != (tracepointFields{location: 16, protocol: 24}) {
		t.Fatalf("got %+v", f)
	}
	if ReasonsFromTracepointFormat(old).Len() != 0 {
		t.Fatal("names from a format without reasons")
	}
	if _, err := parseTracepointFields("name: kfree_skb\n"); err == nil {
		t.Fatal("a format without fields was accepted")
	}
}
