package direct

import (
	"context"
	"time"
)

// WithSleep replaces the wait between attempts after a 429.
func WithSleep(f func(context.Context, time.Duration) error) Option {
	return func(r *Reader) { r.sleep = f }
}

// WithNow replaces the reader's clock (status cache, shared answers, history notices).
func WithNow(now func() time.Time) Option { return func(r *Reader) { r.now = now } }

// WithEmitted calls f for every event an agent reader hands to a live
// stream (before it is queued or dropped).
func WithEmitted(f func()) Option { return func(r *Reader) { r.stream.emitted = f } }
