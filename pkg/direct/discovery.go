package direct

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAgentPort is the port of agents found through A/AAAA records: the
// agent's default --listen-address (:10095). SRV records carry their own port.
const DefaultAgentPort = 10095

// DefaultResolveInterval is how often the agent DNS name is resolved again.
const DefaultResolveInterval = 30 * time.Second

// Resolver looks up the agent DNS name. *net.Resolver satisfies it; tests
// substitute a fake.
type Resolver interface {
	// LookupHost returns the name's A and AAAA addresses.
	LookupHost(ctx context.Context, host string) ([]string, error)
	// LookupSRV with empty service and proto looks up name's SRV records directly.
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// discovery keeps the list of agent base URLs: the static ones of the
// settings plus those the DNS name resolves to, resolved again when the last
// resolution is older than the interval. A failed lookup keeps the last good
// answer and is reported by Err.
type discovery struct {
	static   []string
	dnsName  string
	scheme   string
	resolver Resolver
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	resolved []string
	at       time.Time
	err      error
}

// agents returns the agent URLs to contact, sorted and without duplicates,
// and the DNS error of the latest resolution (nil if it worked or there is
// no DNS name).
func (d *discovery) agents(ctx context.Context) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dnsName != "" && (d.at.IsZero() || d.now().Sub(d.at) >= d.interval) {
		urls, err := resolveAgents(ctx, d.resolver, d.dnsName, d.scheme)
		d.at = d.now()
		d.err = err
		if err == nil {
			d.resolved = urls
		}
	}
	all := append(slices.Clone(d.static), d.resolved...)
	slices.Sort(all)
	return slices.Compact(all), d.err
}

// resolveAgents resolves name into agent URLs: SRV records for names
// starting with an underscore (_http._tcp.netlens.netlens.svc.cluster.local),
// A/AAAA records otherwise, on port DefaultAgentPort unless the name ends
// in :port.
func resolveAgents(ctx context.Context, r Resolver, name, scheme string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if strings.HasPrefix(name, "_") {
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, fmt.Errorf("DNS SRV lookup of %s failed: %w", name, err)
		}
		var out []string
		for _, s := range srvs {
			target := strings.TrimSuffix(s.Target, ".")
			if target == "" || s.Port == 0 {
				continue
			}
			out = append(out, agentURL(scheme, target, int(s.Port)))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("DNS SRV lookup of %s returned no agents", name)
		}
		return out, nil
	}
	host, port := name, DefaultAgentPort
	if h, p, err := net.SplitHostPort(name); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("agent DNS name %q has a bad port", name)
		}
		host, port = h, n
	}
	addrs, err := r.LookupHost(ctx, host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return nil, fmt.Errorf("DNS lookup of %s failed: no such host", host)
		}
		return nil, fmt.Errorf("DNS lookup of %s failed: %w", host, err)
	}
	var out []string
	for _, a := range addrs {
		out = append(out, agentURL(scheme, a, port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("DNS lookup of %s returned no addresses", host)
	}
	return out, nil
}

func agentURL(scheme, host string, port int) string {
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}).String()
}

// agentName is how notices name an agent: its host:port.
func agentName(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}
