package events

import (
	"testing"

	"github.com/netlens/netlens/agent/api"
)

// The buffer keeps the latest events in order and counts all of them.
func TestBufferKeepsLatest(t *testing.T) {
	b := NewBuffer(3)
	if len(b.Recent()) != 0 {
		t.Fatal("new buffer not empty")
	}
	for _, r := range []string{"A", "B", "C", "D", "E"} {
		b.Add(api.DropEvent{Reason: r})
	}
	got := b.Recent()
	if len(got) != 3 || got[0].Reason != "C" || got[2].Reason != "E" || b.Total() != 5 {
		t.Fatalf("got %+v total %d", got, b.Total())
	}
}
