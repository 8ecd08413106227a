// Package server is the agent's HTTP surface: health, readiness, the
// Prometheus exposition and the /api/v1 endpoints (status, reasons, series
// history, live events). Every route is a GET: nothing served here changes
// the agent's state.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
)

// Options configure the server. Zero values leave a part out: no history,
// no events, no token, no TLS.
type Options struct {
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer
	Status   func() api.Status
	History  *history.Store
	Events   *events.Buffer
	// KernelReasons are the running kernel's drop reason names (nil: unknown);
	// /api/v1/reasons explains those the catalog lacks generically.
	KernelReasons []string
	// Token, when set, is required on /api/v1 and, with ProtectMetrics, on /metrics.
	Token          *TokenFile
	ProtectMetrics bool
	// TLS, when set, serves HTTPS with certificates reloaded as they change.
	TLS *CertFiles
	// RatePerClient is the requests per second one client address may make
	// to /api/v1 (0: no limit).
	RatePerClient float64
}

// Server serves the agent's endpoints on one listener.
type Server struct {
	opts    Options
	logger  *slog.Logger
	http    *http.Server
	ready   atomic.Bool
	streams chan struct{} // one token per open event stream
}

// maxStreams bounds concurrent /api/v1/events clients.
const maxStreams = 64

// New builds the server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, logger: opts.Logger, streams: make(chan struct{}, maxStreams)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			writeText(w, http.StatusServiceUnavailable, "not ready: starting\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	var metrics http.Handler = promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		// Scrapes are cheap reads of counters; more than a few at once is a misbehaving client.
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
	if opts.ProtectMetrics {
		metrics = s.authorize(metrics)
	}
	mux.Handle("GET /metrics", metrics)

	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, _ *http.Request) {
		s.writeJSON(w, http.StatusOK, opts.Status())
	})
	api.HandleFunc("GET /api/v1/reasons", s.reasons)
	api.HandleFunc("GET /api/v1/series", s.series)
	api.HandleFunc("GET /api/v1/events", s.events)
	api.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	var apiHandler http.Handler = api
	if opts.RatePerClient > 0 {
		apiHandler = newRateLimiter(opts.RatePerClient).wrap(apiHandler, s)
	}
	mux.Handle("/api/", s.authorize(apiHandler))

	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	if opts.TLS != nil {
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: opts.TLS.GetCertificate}
	}
	return s
}

// Handler returns the server's routes, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// SetReady switches /readyz between 200 and 503.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Serve serves on l until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve(l net.Listener) error {
	var err error
	if s.opts.TLS != nil {
		err = s.http.ServeTLS(l, "", "")
	} else {
		err = s.http.Serve(l)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// (event streams end at once) until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.SetReady(false)
	return s.http.Shutdown(ctx)
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.logger.Debug("writing response", "err", err)
	}
}

func (s *Server) writeError(w http.ResponseWriter, code int, msg string) {
	s.writeJSON(w, code, api.Error{Error: msg})
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}
