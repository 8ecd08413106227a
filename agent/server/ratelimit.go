package server

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client address: rate requests per second,
// bursts of twice that (at least one request, so that rates below 0.5/s
// still admit some). One Grafana is one client address however many users
// it serves: docs/api.md sizes the default for it.
type rateLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxClients bounds the buckets kept; idle ones are swept first.
const maxClients = 4096

func newRateLimiter(rate float64) *rateLimiter {
	return &rateLimiter{rate: rate, burst: max(2*rate, 1), buckets: map[string]*bucket{}}
}

// allow takes a token of client's bucket. When there is none, it says how
// long until there is one (the answer's Retry-After).
func (l *rateLimiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) >= maxClients || now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[client]
	if b == nil {
		if len(l.buckets) >= maxClients {
			// Flooded by distinct addresses: refuse newcomers until a sweep.
			return false, time.Minute
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[client] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// sweep forgets clients whose bucket has refilled: they are as new.
func (l *rateLimiter) sweep(now time.Time) {
	l.swept = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

func (l *rateLimiter) wrap(h http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := l.allow(host, time.Now()); !ok {
			// Retry-After is whole seconds: round up, so that a client
			// honouring it finds a token.
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			s.writeError(w, http.StatusTooManyRequests, "too many requests from "+host+": slow down")
			return
		}
		h.ServeHTTP(w, r)
	})
}
