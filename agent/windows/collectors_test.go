package windows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeVfpctrl answers like vfpctrl from the recorded outputs. Port 1 (web-0's
// first endpoint) gives the recorded counters; the others ACL drops per port.
type fakeVfpctrl struct {
	mu     sync.Mutex
	calls  []string
	noJSON bool   // this vfpctrl does not know /format
	err    error  // every call fails with err
	gone   string // this port's counters cannot be read
	t      testing.TB
}

// aclByPort: OUT, IN ACL drops of the recorded ports 2 to 4.
var aclByPort = map[string][2]uint64{
	"9D1E2F3A-4B5C-4D6E-8F7A-1B2C3D4E5F60": {3, 40}, // web-0's second endpoint
	"2B3C4D5E-6F7A-4B8C-9D0E-1F2A3B4C5D6E": {0, 6},  // api
	"7E8F9A0B-1C2D-4E3F-8A5B-6C7D8E9F0A1B": {1, 1},  // no pod
}

func (f *fakeVfpctrl) run(ctx context.Context, limit int64, args ...string) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, strings.Join(args, " "))
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	isJSON := len(args) >= 2 && args[len(args)-2] == "/format" && args[len(args)-1] == "1"
	if isJSON && f.noJSON {
		return []byte("ERROR: Unknown option /format\r\n"), errors.New("exit status 1")
	}
	switch {
	case args[0] == "/list-vmswitch-port" && isJSON:
		return readFixture(f.t, "list_vmswitch_port.json"), nil
	case args[0] == "/list-vmswitch-port":
		return readFixture(f.t, "list_vmswitch_port.txt"), nil
	case args[0] == "/port" && len(args) >= 3 && args[2] == "/get-port-counter":
		port := args[1]
		if port == recordedPorts[0].Name {
			if isJSON {
				return readFixture(f.t, "vfp_port_counter.json"), nil
			}
			return readFixture(f.t, "vfp_port_counter.txt"), nil
		}
		acl, ok := aclByPort[port]
		if !ok || port == f.gone {
			return []byte("ERROR: port not found\r\n"), errors.New("exit status 1")
		}
		if isJSON {
			return fmt.Appendf(nil, `{"InformationArray":[{"PortCounters":[{"Direction":0,"DroppedAcl":%d},{"Direction":1,"DroppedAcl":%d}]}]}`, acl[0], acl[1]), nil
		}
		return fmt.Appendf(nil, "Direction - OUT\r\n  Dropped ACL packets : %d\r\nDirection - IN\r\n  Dropped ACL packets : %d\r\n", acl[0], acl[1]), nil
	}
	return nil, fmt.Errorf("unexpected vfpctrl %v", args)
}

func (f *fakeVfpctrl) count(sub string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.Contains(c, sub) {
			n++
		}
	}
	return n
}

// The VFP collector maps each recorded endpoint to its port by MAC, reads
// the port's JSON counters, and exports ACL_DROP: at the node the sum over all
// four ports in both directions; per pod IN as ingress and OUT as egress,
// web-0's two ports added up; the port of no pod only at the node; no bytes.
func TestVFPCollectorRecorded(t *testing.T) {
	f := &fakeVfpctrl{t: t}
	c := NewVFPCollectorWith(recordedHNS(t), f.run, recordedPods(), quietLogger())
	got, st := gather(t, c)
	if !st[0].Up {
		t.Fatalf("vfp collector down: %s", st[0].Error)
	}
	expect(t, got, nodeDrop("ACL_DROP", "vfp"), 17+2388+3+40+0+6+1+1)
	expect(t, got, podDrop("shop", "web-0", "web", "ingress", "ACL_DROP"), 2388+40)
	expect(t, got, podDrop("shop", "web-0", "web", "egress", "ACL_DROP"), 17+3)
	expect(t, got, podDrop("shop", "api-7f9c-x2k4p", "api", "ingress", "ACL_DROP"), 6)
	expect(t, got, podDrop("shop", "api-7f9c-x2k4p", "api", "egress", "ACL_DROP"), 0)
	if n := len(series(got, "netlens_pod_drop_packets_total")); n != 4 {
		t.Errorf("want 4 pod series, got %v", series(got, "netlens_pod_drop_packets_total"))
	}
	if s := series(got, "netlens_drop_bytes_total"); len(s) != 0 {
		t.Errorf("VFP's formats count no dropped bytes, yet %v", s)
	}
	if n := f.count("/get-port-counter /format 1"); n != 4 {
		t.Errorf("want 4 JSON counter reads, got %d (%v)", n, f.calls)
	}
	if n := f.count("/get-port-counter"); n != 4 {
		t.Errorf("text read although JSON worked: %v", f.calls)
	}
}

// A vfpctrl without JSON output is read in text form with the same result,
// and after the first scrape the JSON form is no longer tried.
func TestVFPCollectorFallsBackToText(t *testing.T) {
	f := &fakeVfpctrl{t: t, noJSON: true}
	c := NewVFPCollectorWith(recordedHNS(t), f.run, recordedPods(), quietLogger())
	got, st := gather(t, c)
	if !st[0].Up {
		t.Fatalf("vfp collector down: %s", st[0].Error)
	}
	expect(t, got, nodeDrop("ACL_DROP", "vfp"), 17+2388+3+40+0+6+1+1)
	expect(t, got, podDrop("shop", "web-0", "web", "ingress", "ACL_DROP"), 2388+40)

	before := f.count("/format 1")
	got, _ = gather(t, c)
	if after := f.count("/format 1"); after != before {
		t.Errorf("JSON tried again after it failed and text worked (%d -> %d)", before, after)
	}
	// Same counters read again: the totals do not grow.
	expect(t, got, nodeDrop("ACL_DROP", "vfp"), 17+2388+3+40+0+6+1+1)
}

// Without vfpctrl the VFP collector is down with an error naming vfpctrl,
// while the HNS collector next to it stays up with its metrics.
func TestVFPMissingDoesNotHideHNS(t *testing.T) {
	f := &fakeVfpctrl{t: t, err: fmt.Errorf("%w: exec: \"vfpctrl\": executable file not found in %%PATH%%", ErrNoVfpctrl)}
	h := recordedHNS(t)
	got, st := gather(t, NewHNSCollectorWith(h, recordedPods(), quietLogger()),
		NewVFPCollectorWith(h, f.run, recordedPods(), quietLogger()))
	byName := map[string]bool{}
	for _, s := range st {
		byName[s.Name] = s.Up
		if s.Name == "vfp" && !strings.Contains(s.Error, "vfpctrl not found") {
			t.Errorf("vfp error %q does not say vfpctrl is missing", s.Error)
		}
	}
	if !byName["hns"] || byName["vfp"] {
		t.Fatalf("statuses %+v, want hns up and vfp down", st)
	}
	expect(t, got, nodeDrop("ENDPOINT_DROP", "hns"), 2549)
	expect(t, got, `netlens_agent_collector_up{collector="vfp"}`, 0)
	expect(t, got, `netlens_agent_collector_up{collector="hns"}`, 1)
	if n := f.count("/list-vmswitch-port"); n != 1 {
		t.Errorf("missing vfpctrl retried in text form: %v", f.calls)
	}
}

// Endpoints none of whose MACs is a VFP port mark the collector down with a
// message saying so; a port whose counters cannot be read is skipped while
// the others are exported.
func TestVFPCollectorPortProblems(t *testing.T) {
	h := recordedHNS(t)
	for i := range h.eps {
		h.eps[i].MAC = fmt.Sprintf("02-00-00-00-00-%02X", i)
	}
	_, st := gather(t, NewVFPCollectorWith(h, (&fakeVfpctrl{t: t}).run, nil, quietLogger()))
	if st[0].Up || !strings.Contains(st[0].Error, "none of the 4 HNS endpoints has a VFP port") {
		t.Fatalf("status %+v", st[0])
	}

	h = recordedHNS(t)
	f := &fakeVfpctrl{t: t, gone: "7E8F9A0B-1C2D-4E3F-8A5B-6C7D8E9F0A1B"}
	got, st := gather(t, NewVFPCollectorWith(h, f.run, recordedPods(), quietLogger()))
	if !st[0].Up {
		t.Fatalf("one unreadable port marked the collector down: %s", st[0].Error)
	}
	expect(t, got, nodeDrop("ACL_DROP", "vfp"), 17+2388+3+40+0+6)
}

// A cancelled scrape runs no further vfpctrl and reports the cancellation.
func TestVFPCollectorHonoursContext(t *testing.T) {
	f := &fakeVfpctrl{t: t}
	c := NewVFPCollectorWith(recordedHNS(t), f.run, nil, quietLogger())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Update(ctx, make(chan prometheus.Metric, 100)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
