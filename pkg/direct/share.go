package direct

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/netlens/netlens/agent/api"
)

// Grafana sends one request per panel, many at once, and every panel of a
// refresh has the same time range; all of Grafana is one client address to
// the agents' rate limit. So agent requests are shared: one status request
// per agent at a time, and one series request per agent and set of
// selectors for every query of a refresh it covers. Each agent request is
// retried after a 429 as its Retry-After says, within the per-agent timeout.

const (
	// shareTTL is how long a finished series answer serves queries whose
	// range it covers: longer than the queries of one refresh take to
	// arrive, shorter than the agents' history interval (15 s by default),
	// so that at most one sampling round is missed by a query it serves.
	shareTTL = 10 * time.Second
	// maxSharedPerAgent bounds the series answers kept for sharing, per
	// agent URL: a refresh of the shipped dashboards asks each agent for
	// fewer selector sets than that, however many agents there are.
	maxSharedPerAgent = 32
	// freshStatus is how old a status may be for nodes tables, so that the
	// nodes panels of one refresh share one status request per agent.
	freshStatus = 2 * time.Second
	// maxAttempts bounds the tries of one agent request answered 429.
	maxAttempts = 3
	// defaultRetryAfter is the wait after a 429 without Retry-After.
	defaultRetryAfter = time.Second
)

// flight is one agent request that several queries wait for.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func newFlight[T any]() *flight[T] { return &flight[T]{done: make(chan struct{})} }

// wait returns the request's result, or ctx's error if ctx ends first.
func (f *flight[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// detached is the context of a shared request: not canceled with the query
// that started it (others wait for it too), bounded by the per-agent timeout
// and by that query's own deadline, so that a Retry-After is never waited
// out after the query gave up.
func (r *Reader) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	dl := time.Now().Add(r.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}

// status returns the agent's status: from the cache if younger than maxAge,
// else from the request in flight for it, else from a new request.
func (r *Reader) status(ctx context.Context, base string, maxAge time.Duration) (api.Status, error) {
	r.mu.Lock()
	if c, ok := r.statuses[base]; ok && maxAge > 0 && r.now().Sub(c.at) < maxAge {
		r.mu.Unlock()
		return c.st, nil
	}
	f := r.statusCalls[base]
	if f == nil {
		f = newFlight[api.Status]()
		r.statusCalls[base] = f
		go func() {
			cctx, cancel := r.detached(ctx)
			defer cancel()
			st, err := retry(cctx, r, func(ctx context.Context) (api.Status, error) { return r.client(base).Status(ctx) })
			r.mu.Lock()
			if err == nil {
				r.statuses[base] = cachedStatus{st: st, at: r.now()}
			}
			delete(r.statusCalls, base)
			r.mu.Unlock()
			f.val, f.err = st, err
			close(f.done)
		}()
	}
	r.mu.Unlock()
	return f.wait(ctx)
}

// seriesCall is a series request that queries share: it covers a query
// asking the same agent for the same selectors up to no later than to, from
// no earlier than from (or from any time, when it started at or before the
// oldest sample the agent keeps).
type seriesCall struct {
	*flight[api.SeriesResponse]
	base     string
	key      string
	from, to time.Time
	keep     time.Duration
	ended    time.Time // zero while in flight
}

func (c *seriesCall) covers(from, to time.Time) bool {
	return !to.After(c.to) && (!c.from.After(from) || !c.from.After(c.to.Add(-c.keep)))
}

// series asks the agent at base for sels from need to to (shared as above).
// rangeFrom is the query's own start: queries of one refresh have the same,
// and the request starts at it less the raw-value lookback, rounded down to
// the minute, so that the queries' different rate windows fit in one
// request. keep is the agent's history duration.
func (r *Reader) series(ctx context.Context, base string, sels []string, need, rangeFrom, to time.Time, keep time.Duration) (api.SeriesResponse, error) {
	key := base + "\n" + strings.Join(sels, "\n")
	from := rangeFrom.Truncate(time.Minute).Add(-lookback)
	if need.Before(from) {
		from = need
	}
	r.mu.Lock()
	r.sweepShared()
	for _, c := range r.shared {
		if c.key == key && c.covers(need, to) {
			r.mu.Unlock()
			return c.wait(ctx)
		}
	}
	c := &seriesCall{flight: newFlight[api.SeriesResponse](), base: base, key: key, from: from, to: to, keep: keep}
	r.shared = append(r.shared, c)
	r.mu.Unlock()
	go func() {
		cctx, cancel := r.detached(ctx)
		defer cancel()
		resp, err := retry(cctx, r, func(ctx context.Context) (api.SeriesResponse, error) {
			return r.client(base).Series(ctx, sels, from, to)
		})
		r.mu.Lock()
		c.val, c.err, c.ended = resp, err, r.now()
		if err != nil {
			// A failure is not kept: the next query asks again.
			r.dropShared(c)
		}
		r.mu.Unlock()
		close(c.done)
		if err == nil {
			// Answers are not kept past their use when no query comes.
			time.AfterFunc(shareTTL, func() {
				r.mu.Lock()
				r.sweepShared()
				r.mu.Unlock()
			})
		}
	}()
	return c.wait(ctx)
}

// sweepShared forgets finished answers older than shareTTL, and per agent
// the oldest finished ones beyond maxSharedPerAgent (r.shared is in the
// order the requests started). Requests in flight stay: they are bounded by
// the queries running. r.mu is held.
func (r *Reader) sweepShared() {
	now := r.now()
	finished := map[string]int{}
	for _, c := range r.shared {
		if !c.ended.IsZero() && now.Sub(c.ended) < shareTTL {
			finished[c.base]++
		}
	}
	kept := r.shared[:0]
	for _, c := range r.shared {
		switch {
		case c.ended.IsZero():
		case now.Sub(c.ended) >= shareTTL:
			continue
		case finished[c.base] >= maxSharedPerAgent:
			finished[c.base]-- // the oldest go first
			continue
		}
		kept = append(kept, c)
	}
	clear(r.shared[len(kept):])
	r.shared = kept
}

func (r *Reader) dropShared(c *seriesCall) {
	for i, s := range r.shared {
		if s == c {
			r.shared = append(r.shared[:i], r.shared[i+1:]...)
			return
		}
	}
}

// RateLimitedError is an agent answering 429 Too Many Requests until the
// data source gave up: after maxAttempts, or at once when its Retry-After
// would outlast the time left for the request.
type RateLimitedError struct {
	RetryAfter time.Duration
	Attempts   int
	// TooLong: the Retry-After was longer than the time left.
	TooLong bool
}

func (e *RateLimitedError) Error() string {
	if e.TooLong {
		return fmt.Sprintf("rate limited: 429 Too Many Requests, Retry-After %s, longer than the time left for the request", e.RetryAfter)
	}
	return fmt.Sprintf("rate limited: 429 Too Many Requests, Retry-After %s, still after %d attempts", e.RetryAfter, e.Attempts)
}

// retry runs fn, and again after a 429 once the answer's Retry-After has
// passed (defaultRetryAfter without one), at most maxAttempts times and never
// past ctx's deadline.
func retry[T any](ctx context.Context, r *Reader, fn func(context.Context) (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := fn(ctx)
		var se *api.StatusError
		if err == nil || !errors.As(err, &se) || se.Code != http.StatusTooManyRequests {
			return v, err
		}
		wait := se.RetryAfter
		if wait <= 0 {
			wait = defaultRetryAfter
		}
		limited := &RateLimitedError{RetryAfter: wait, Attempts: attempt}
		if attempt >= maxAttempts {
			return v, limited
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			limited.TooLong = true
			return v, limited
		}
		if r.sleep(ctx, wait) != nil {
			return v, limited
		}
	}
}

// sleep waits d or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
