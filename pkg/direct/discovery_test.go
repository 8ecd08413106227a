package direct

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// fakeResolver answers from maps and counts lookups.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
	srv   map[string][]*net.SRV
	err   error
	calls int
}

func (f *fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	a, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return a, nil
}

func (f *fakeResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if service != "" || proto != "" {
		return "", nil, errors.New("want a direct SRV lookup")
	}
	if f.err != nil {
		return "", nil, f.err
	}
	s, ok := f.srv[name]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return "", s, nil
}

func (f *fakeResolver) set(host string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[host] = addrs
}

func newDisc(static []string, name string, r Resolver) (*discovery, *time.Time) {
	now := time.Unix(1000, 0)
	return &discovery{static: static, dnsName: name, scheme: "http", resolver: r, interval: 30 * time.Second,
		now: func() time.Time { return now }}, &now
}

func TestDiscoveryARecordsAndRefresh(t *testing.T) {
	const name = "netlens.netlens.svc.cluster.local"
	r := &fakeResolver{hosts: map[string][]string{name: {"10.0.0.5", "10.0.0.4", "fd00::4"}}}
	d, now := newDisc([]string{"http://10.0.0.4:10095", "http://static:1"}, name, r)
	ctx := context.Background()
	got, err := d.agents(ctx)
	want := []string{"http://10.0.0.4:10095", "http://10.0.0.5:10095", "http://[fd00::4]:10095", "http://static:1"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("agents %q %v, want %q", got, err, want)
	}
	// Within the interval: no new lookup.
	r.set(name, "10.0.0.6")
	*now = now.Add(29 * time.Second)
	if got, _ = d.agents(ctx); len(got) != 4 || r.calls != 1 {
		t.Fatalf("re-resolved too early: %q, %d lookups", got, r.calls)
	}
	// After it: the new answer replaces the old one.
	*now = now.Add(time.Second)
	got, _ = d.agents(ctx)
	if !slices.Equal(got, []string{"http://10.0.0.4:10095", "http://10.0.0.6:10095", "http://static:1"}) || r.calls != 2 {
		t.Fatalf("after re-resolve: %q, %d lookups", got, r.calls)
	}
	// A failed lookup keeps the last good list and says why.
	r.err = errors.New("server misbehaving")
	*now = now.Add(time.Minute)
	got, err = d.agents(ctx)
	if !slices.Equal(got, []string{"http://10.0.0.4:10095", "http://10.0.0.6:10095", "http://static:1"}) || err == nil || !strings.Contains(err.Error(), "DNS lookup of "+name+" failed: server misbehaving") {
		t.Fatalf("after failure: %q %v", got, err)
	}
}

func TestDiscoverySRVAndPort(t *testing.T) {
	const srvName = "_http._tcp.netlens.netlens.svc.cluster.local"
	r := &fakeResolver{hosts: map[string][]string{"agents.example": {"192.0.2.1"}}, srv: map[string][]*net.SRV{srvName: {
		{Target: "10-0-0-4.netlens.netlens.svc.cluster.local.", Port: 10095},
		{Target: "10-0-0-5.netlens.netlens.svc.cluster.local.", Port: 9000},
		{Target: ".", Port: 0},
	}}}
	d, _ := newDisc(nil, srvName, r)
	got, err := d.agents(context.Background())
	want := []string{"http://10-0-0-4.netlens.netlens.svc.cluster.local:10095", "http://10-0-0-5.netlens.netlens.svc.cluster.local:9000"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("SRV agents %q %v", got, err)
	}
	d, _ = newDisc(nil, "agents.example:9100", r)
	if got, err = d.agents(context.Background()); err != nil || !slices.Equal(got, []string{"http://192.0.2.1:9100"}) {
		t.Fatalf("host:port: %q %v", got, err)
	}
	d, _ = newDisc(nil, "missing.example", r)
	if got, err = d.agents(context.Background()); len(got) != 0 || err == nil || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("missing: %q %v", got, err)
	}
}

// A reader whose DNS name does not resolve says so in queries and health.
func TestReaderDiscoveryFailure(t *testing.T) {
	r, err := New(&models.Settings{JSONData: models.JSONData{Mode: models.ModeDirect, AgentDNSName: "nope.invalid", TimeoutSeconds: 2}},
		WithResolver(&fakeResolver{hosts: map[string][]string{}}))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Health(context.Background())
	if h.Status.String() != "ERROR" || !strings.Contains(h.Message, "Agent discovery failed: DNS lookup of nope.invalid failed: no such host") {
		t.Fatalf("health %v %q", h.Status, h.Message)
	}
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops}, testRange())
	if resp.Error == nil || !strings.Contains(resp.Error.Error(), "agent discovery failed") {
		t.Fatalf("query: %v", resp.Error)
	}
}

func testRange() query.Range {
	now := time.Now()
	return query.Range{From: now.Add(-5 * time.Minute), To: now, Interval: 15 * time.Second, MaxDataPoints: 1000}
}
