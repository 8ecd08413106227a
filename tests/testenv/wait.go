package testenv

import (
	"testing"
	"time"
)

// Patience bounds a test's wait for something that is bound to happen soon
// (an informer's event, a subscriber, a goroutine's output): far longer than
// it takes on the slowest, busiest machine, so that only a condition that
// never comes true reaches it. Tests wait on the condition itself, never for
// a fixed time, and use no shorter deadline for such waits.
const Patience = time.Minute

// Eventually polls cond until it holds, and fails the test saying what was
// awaited if it does not within Patience.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyEvery(t, 10*time.Millisecond, what, cond)
}

// EventuallyEvery is Eventually polling every interval, for a cond that is
// costly to ask or acts each time (reads a log, sends a probe).
func EventuallyEvery(t testing.TB, interval time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v: %s", Patience, what)
		}
		time.Sleep(interval)
	}
}
