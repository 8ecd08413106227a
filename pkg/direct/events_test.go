package direct

import (
	"encoding/base64"
	"strings"
	"testing"

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
