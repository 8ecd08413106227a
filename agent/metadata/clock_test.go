package metadata

import (
	"sync"
	"time"
)

// testClock is a clock the tests move by hand, so that events land at chosen
// instants (and windows fall between them) without waiting for time to pass.
// The informers read it from their own goroutines.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

// newTestClock starts at t0, a whole second (API times have second precision).
func newTestClock() *testClock { return &testClock{now: t0} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d and returns the new time.
func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
