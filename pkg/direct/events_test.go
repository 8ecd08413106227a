package direct

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/models"
)

func TestEventsPathRoundTrip(t *testing.T) {
	f := models.Filters{Namespace: []string{"shop", "lab"}, Pod: []string{`we"ird/pod`}, Reason: []string{"NO_SOCKET"}, Node: []string{"n1"}, Interface: []string{"eth0"}}
	p, err := EventsPath(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, "events/") || strings.ContainsAny(p[len("events/"):], "/=+ ") {
		t.Fatalf("path %q", p)
	}
	got, err := ParseEventsPath(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Namespace, ",") != "lab,shop" || got.Pod[0] != `we"ird/pod` || got.Interface[0] != "eth0" || got.Node[0] != "n1" {
		t.Fatalf("decoded %+v", got)
	}
	// Same filters in another order: the same channel, so panels share one stream.
	p2, _ := EventsPath(models.Filters{Namespace: []string{"lab", "shop", "lab"}, Pod: f.Pod, Reason: f.Reason, Node: f.Node, Interface: f.Interface})
	if p2 != p {
		t.Fatalf("paths differ: %q %q", p, p2)
	}
	ch, _ := Channel("uid-1", models.Filters{})
	if ch != "ds/uid-1/events/e30" { // base64url("{}")
		t.Fatalf("channel %q", ch)
	}
}

func TestParseEventsPathRejects(t *testing.T) {
	enc := func(s string) string { return "events/" + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	many := `{"pod":[` + strings.Repeat(`"p",`, 40) + `"p"]}`
	cases := map[string]string{
		"other/e30":                           "unknown stream",
		"events/":                             "filters missing",
		"events/" + strings.Repeat("A", 3000): "longer than",
		"events/e30=":                         "not base64url",
		"events/e3+/":                         "not base64url",
		enc(`{"pods":["a"]}`):                 `unknown field "pods"`,
		enc(`{"cluster":["a"]}`):              `unknown field "cluster"`,
		enc(`{"pod":["a"]}{}`):                "trailing data",
		enc(`{"pod":"a"}`):                    "cannot unmarshal",
		enc(`["a"]`):                          "cannot unmarshal",
		enc(`{"pod":[""]}`):                   "bad value",
		enc(`{"pod":["a,b"]}`):                "bad value",
		enc(`{"pod":["a\nb"]}`):               "bad value",
		enc(`{"pod":["` + strings.Repeat("x", 300) + `"]}`): "bad value",
		enc(many):           "at most 32",
		enc(`{"pod":["a"]`): "unexpected EOF",
	}
	r := &Reader{}
	for path, want := range cases {
		_, err := ParseEventsPath(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEventsPath(%.60q) = %v, want %q", path, err, want)
		}
		if r.Subscribe(path) == nil {
			t.Errorf("Subscribe accepted %.60q", path)
		}
	}
	if _, err := EventsPath(models.Filters{Pod: []string{"a,b"}}); err == nil {
		t.Error("EventsPath accepted a comma in a value")
	}
}

// The interface filter matches the interface column's text: a device named
// by the agent, or a pod's device told by its namespace.
func TestEventsInterfaceFilterMatchesTable(t *testing.T) {
	evs := []api.DropEvent{
		{Reason: "A", Interface: "veth-b", Ifindex: 4},
		{Reason: "B", Ifindex: 2, Netns: 4026532246, NetnsName: "cni-1f0c"},
		{Reason: "C", Ifindex: 46},
		{Reason: "D"},
	}
	var all []nodeEvent
	for _, e := range evs {
		eventFn(EventFilters{}, "n1", func(ne nodeEvent) { all = append(all, ne) })(e)
	}
	col, _ := EventsFrame(all).FieldByName("interface")
	for i, e := range evs {
		shown := col.At(i).(string)
		if shown == "" { // no device: nothing to filter by (empty filter values are refused)
			continue
		}
		var got []nodeEvent
		eventFn(EventFilters{Interface: []string{shown}}, "n1", func(ne nodeEvent) { got = append(got, ne) })(e)
		if len(got) != 1 {
			t.Errorf("event %s shown on %q: the filter on that text passed %d events", e.Reason, shown, len(got))
		}
	}
	if want := []any{"veth-b", "ifindex 2 in netns cni-1f0c", "ifindex 46", ""}; col.Len() != len(want) ||
		col.At(0) != want[0] || col.At(1) != want[1] || col.At(2) != want[2] || col.At(3) != want[3] {
		t.Errorf("interface column %v", col)
	}
}
