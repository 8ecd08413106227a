// Package direct is the data source's direct mode: it answers queries by
// fanning out to the Netlens agents' own API (agent/api) instead of reading
// Prometheus. The agents are the static URLs of the settings and/or those a
// DNS name resolves to (A/AAAA or SRV records, resolved again every 30 s);
// nothing in a query can add a target. Each agent keeps about 15 minutes of
// history of its series, with raw counters: this package computes rates
// (as Prometheus's rate()), adds the node label from each agent's status and
// sums series across agents by the query's group-by labels. Agents are
// identified by their status (node name and boot id), so one reachable at
// several URLs counts once (agents.go); the queries of a refresh share their
// agent requests, and a 429 is retried after its Retry-After (share.go).
// Drop events stream to Grafana Live (Stream).
package direct

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

var _ query.Reader = (*Reader)(nil)

// statusTTL is how long an agent's status (its node name, history
// interval) is reused by queries.
const statusTTL = 30 * time.Second

// Reader answers queries from the agents. It is safe for concurrent use.
type Reader struct {
	disc    *discovery
	token   string
	timeout time.Duration
	http    *http.Client
	uid     string
	logger  log.Logger
	now     func() time.Time
	stream  streamOptions

	// sleep waits between attempts after a 429 (tests replace it).
	sleep func(context.Context, time.Duration) error

	mu sync.Mutex
	// statuses are the agents' latest statuses by URL, kept after failures:
	// the node an agent was, for nodes tables and notices.
	statuses    map[string]cachedStatus
	statusCalls map[string]*flight[api.Status]
	// shared are series requests in flight or recently answered.
	shared []*seriesCall
}

type cachedStatus struct {
	st api.Status
	at time.Time
}

// Option changes a Reader.
type Option func(*Reader)

// WithResolver replaces the DNS resolver (net.DefaultResolver), for tests.
func WithResolver(r Resolver) Option { return func(d *Reader) { d.disc.resolver = r } }

// WithResolveInterval sets how often the agent DNS name is resolved again
// (DefaultResolveInterval).
func WithResolveInterval(iv time.Duration) Option {
	return func(d *Reader) { d.disc.interval = iv }
}

// WithHTTPClient replaces the HTTP client used for every agent. Its Timeout
// must be 0 (event streams are long-lived; the per-agent timeout of the
// settings bounds every other request) and it must not follow redirects.
func WithHTTPClient(c *http.Client) Option { return func(d *Reader) { d.http = c } }

// WithDataSourceUID sets the data source's UID (from
// backend.DataSourceInstanceSettings.UID): the events query then points
// panels at the live channel ds/<uid>/events/<filters>.
func WithDataSourceUID(uid string) Option { return func(d *Reader) { d.uid = uid } }

// WithLogger sets the logger (log.DefaultLogger).
func WithLogger(l log.Logger) Option { return func(d *Reader) { d.logger = l } }

// WithDNSScheme sets the scheme of agents found through DNS ("http"; "https"
// for agents serving TLS).
func WithDNSScheme(scheme string) Option { return func(d *Reader) { d.disc.scheme = scheme } }

// WithStreamTuning changes the live stream's batching and backpressure:
// at most batch events per frame, a frame at least every flush, and buffer
// events waiting for a slow sender before newer ones are dropped.
func WithStreamTuning(batch int, flush time.Duration, buffer int) Option {
	return func(d *Reader) {
		d.stream.batch, d.stream.flush, d.stream.buffer = batch, flush, buffer
	}
}

// New builds a Reader from direct-mode settings (models.LoadSettings
// validated them). It starts no goroutine: DNS names are resolved when a
// query, health check or stream needs the agents and the last answer is
// older than the resolve interval.
func New(s *models.Settings, opts ...Option) (*Reader, error) {
	if s == nil {
		return nil, errors.New("direct mode: no settings")
	}
	if len(s.AgentURLs) == 0 && s.AgentDNSName == "" {
		return nil, errors.New("direct mode needs agents: set agent URLs or an agent DNS name")
	}
	timeout := time.Duration(s.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = models.DefaultTimeoutSeconds * time.Second
	}
	static := make([]string, 0, len(s.AgentURLs))
	for _, u := range s.AgentURLs {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
			return nil, fmt.Errorf("agent URL %q is not an http(s) URL without credentials", agentName(u))
		}
		static = append(static, strings.TrimRight(p.String(), "/"))
	}
	r := &Reader{
		disc: &discovery{static: static, dnsName: s.AgentDNSName, scheme: "http",
			resolver: net.DefaultResolver, interval: DefaultResolveInterval, now: time.Now},
		token:       s.Secret(models.SecureAgentToken),
		timeout:     timeout,
		logger:      log.DefaultLogger,
		now:         time.Now,
		stream:      defaultStreamOptions,
		sleep:       sleep,
		statuses:    map[string]cachedStatus{},
		statusCalls: map[string]*flight[api.Status]{},
	}
	for _, o := range opts {
		o(r)
	}
	if r.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 0
		tr.MaxIdleConnsPerHost = 4
		tr.IdleConnTimeout = 90 * time.Second
		r.http = &http.Client{Transport: tr,
			// The reader only ever contacts the configured agents: an
			// agent's redirect is an error, never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return r, nil
}

// Close releases idle connections. Call it when the data source instance
// is disposed.
func (r *Reader) Close() { r.http.CloseIdleConnections() }

func (r *Reader) client(base string) *api.Client {
	return &api.Client{BaseURL: base, Token: r.token, HTTP: r.http}
}

// Agents returns the agent URLs the reader contacts now and the error of
// the latest DNS resolution, if any.
func (r *Reader) Agents(ctx context.Context) ([]string, error) { return r.disc.agents(ctx) }

// sampleInterval is the longest history interval among the agents' cached
// statuses (0 before any answered).
func (r *Reader) sampleInterval() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var iv time.Duration
	for _, c := range r.statuses {
		iv = max(iv, time.Duration(c.st.History.IntervalSeconds*float64(time.Second)))
	}
	return iv
}

// agentsOrError returns the agents to ask, or an error response when there
// are none.
func (r *Reader) agentsOrError(ctx context.Context) ([]string, []string, *backend.DataResponse) {
	urls, dnsErr := r.disc.agents(ctx)
	var notices []string
	if dnsErr != nil {
		if len(urls) == 0 {
			resp := backend.ErrDataResponse(backend.StatusBadGateway, "agent discovery failed: "+dnsErr.Error())
			return nil, nil, &resp
		}
		notices = append(notices, "agent discovery failed, using the agents found before: "+dnsErr.Error())
	}
	if len(urls) == 0 {
		resp := backend.ErrDataResponse(backend.StatusBadRequest, "no agents configured: set agent URLs or an agent DNS name")
		return nil, nil, &resp
	}
	return urls, notices, nil
}

// Health contacts every agent and says how many answered, naming each
// failure: unreachable, token rejected, rate limited, discovery failure, none
// configured. An agent reachable at several URLs is one agent.
func (r *Reader) Health(ctx context.Context) *backend.CheckHealthResult {
	urls, dnsErr := r.disc.agents(ctx)
	if len(urls) == 0 {
		msg := "No agents configured: set agent URLs or an agent DNS name."
		if dnsErr != nil {
			msg = "Agent discovery failed: " + dnsErr.Error()
		}
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg}
	}
	fo := r.fanOut(ctx, urls, nil, 0, nil, nil)
	msg, failed, ok := failures(fo.answers)
	var nodes []string
	auth := 0
	for _, a := range fo.answers {
		if a.err == nil {
			nodes = append(nodes, a.status.Node)
		} else if isAuthErr(a.err) {
			auth++
		}
	}
	sort.Strings(nodes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d agents reachable", ok, len(fo.answers))
	if len(nodes) > 0 {
		fmt.Fprintf(&b, " (nodes %s)", strings.Join(nodes, ", "))
	}
	b.WriteString(".")
	if failed > 0 {
		b.WriteString(" " + msg + ".")
	}
	for _, n := range fo.notices {
		b.WriteString(" " + capitalize(n) + ".")
	}
	if auth > 0 {
		b.WriteString(" The agent token was rejected: check the data source's agent token against the agents' --token-file.")
	}
	if dnsErr != nil {
		b.WriteString(" Agent discovery failed: " + dnsErr.Error() + ".")
	}
	status := backend.HealthStatusOk
	if ok == 0 || auth > 0 || dnsErr != nil {
		status = backend.HealthStatusError
	}
	return &backend.CheckHealthResult{Status: status, Message: b.String()}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
