package api

import "testing"

// The interface a user sees names the device where it can, and otherwise
// says which namespace's ifindex it is.
func TestDisplayInterface(t *testing.T) {
	for _, c := range []struct {
		e    DropEvent
		want string
	}{
		{DropEvent{Interface: "veth-b", Ifindex: 7}, "veth-b"},
		{DropEvent{Ifindex: 2, Netns: 4026532246, NetnsName: "cni-1f0c"}, "ifindex 2 in netns cni-1f0c"},
		{DropEvent{Ifindex: 2, Netns: 4026532246}, "ifindex 2 in netns 4026532246"},
		{DropEvent{Ifindex: 46}, "ifindex 46"},
		{DropEvent{}, ""},
	} {
		if got := c.e.DisplayInterface(); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.e, got, c.want)
		}
	}
}
