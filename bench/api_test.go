package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/agent/server"
	"github.com/netlens/netlens/tests/testenv"
)

// BenchmarkHistoryMemory fills the default history (15 minutes at 15 s, 60
// samples per series) with 1000 pod drop series and reports the Go heap it
// takes (heap-bytes/1000-series), the store's own estimate and the cost of
// one sampling round (ns/op is one round of 1000 series).
//
//	go test ./bench/ -run '^$' -bench HistoryMemory -count 5
func BenchmarkHistoryMemory(b *testing.B) {
	const series = 1000
	round := make([]history.Sample, series)
	for i := range round {
		round[i] = history.Sample{Labels: []history.Label{
			{Name: "__name__", Value: "netlens_pod_drop_packets_total"},
			{Name: "direction", Value: []string{"ingress", "egress"}[i%2]},
			{Name: "namespace", Value: fmt.Sprintf("team-%02d", i%40)},
			{Name: "pod", Value: fmt.Sprintf("checkout-api-7d9f8c6b5-%05d", i)},
			{Name: "reason", Value: []string{"NETFILTER_DROP", "NO_SOCKET", "TCP_INVALID_SEQUENCE"}[i%3]},
			{Name: "workload", Value: fmt.Sprintf("checkout-api-%d", i%50)},
		}, Value: float64(i)}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	s := history.New(15*time.Minute, 15*time.Second, 100000)
	t0 := time.Now()
	for i := range 60 {
		s.Add(t0.Add(time.Duration(i)*15*time.Second), round)
	}
	after := heap()
	est := s.Status().Bytes
	b.ResetTimer()
	for i := range b.N {
		s.Add(t0.Add(time.Duration(60+i)*15*time.Second), round)
	}
	b.StopTimer()
	b.ReportMetric(float64(after-before), "heap-bytes/1000-series")
	b.ReportMetric(float64(est), "est-bytes/1000-series")
	runtime.KeepAlive(s)
}

// BenchmarkEventFanout publishes drop events at a fixed rate to 20 clients
// of /api/v1/events over HTTP and reports the share of events every client received, the clients the
// agent had to drop for falling behind, and the CPU the test process (agent
// side and clients together) spent per published event. 100k/s is about the
// highest drop rate one sender reaches here (BenchmarkDropPath), with every
// drop sampled as an event; the agent's default is 1000 events/s.
//
//	go test ./bench/ -run '^$' -bench EventFanout -benchtime 5s -count 5
func BenchmarkEventFanout(b *testing.B) {
	for _, rate := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { eventFanout(b, rate) })
	}
}

func eventFanout(b *testing.B, rate int) {
	const clients = 20
	buf := events.NewBuffer(1024)
	srv := httptest.NewServer(server.New(server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gatherer: prometheus.NewRegistry(), Status: func() api.Status { return api.Status{} }, Events: buf}).Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A client is settled once it has every event, or once the agent
	// disconnected it for falling behind (its stream ends).
	var received, settled atomic.Int64
	n := int64(b.N)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got int64
			isSettled := false
			settle := func() {
				if !isSettled {
					isSettled = true
					settled.Add(1)
				}
			}
			defer settle()
			// Clients count frames without decoding them: they stand for
			// readers on other machines, and decoding 20 streams here would
			// measure this 2-CPU machine's JSON speed rather than the agent.
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/events", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if bytes.HasPrefix(sc.Bytes(), []byte("data: ")) {
					received.Add(1)
					if got++; got == n {
						settle()
					}
				}
			}
		}()
	}
	for deadline := time.Now().Add(testenv.Patience); ; time.Sleep(5 * time.Millisecond) {
		if live, _ := buf.Subscribers(); live == clients {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("clients did not connect")
		}
	}
	ev := api.DropEvent{Time: time.Now(), Reason: "NETFILTER_DROP", Location: "nf_hook_slow", Protocol: "tcp", Bytes: 60,
		Src: api.Endpoint{IP: "10.244.1.17", Port: 41234, Namespace: "shop", Pod: "web-7d9f8c6b5-x2x4z", Workload: "web"},
		Dst: api.Endpoint{IP: "10.244.2.9", Port: 5432, Namespace: "shop", Pod: "db-0", Workload: "db"}}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.ResetTimer()
	// Paced in 1 ms batches: the kernel's events arrive spread over time too.
	start := time.Now()
	for i := 0; i < b.N; {
		due := int(time.Since(start).Seconds() * float64(rate))
		for ; i < due && i < b.N; i++ {
			buf.Add(ev)
		}
		time.Sleep(time.Millisecond)
	}
	for deadline := time.Now().Add(testenv.Patience); settled.Load() < clients; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clients neither received every event nor were disconnected", clients-settled.Load(), clients)
		}
	}
	b.StopTimer()
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	_, dropped := buf.Subscribers()
	b.ReportMetric(float64(received.Load())/float64(clients*b.N), "delivered-ratio")
	b.ReportMetric(float64(dropped), "clients-dropped")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(0, "ns/op")
	cancel()
	wg.Wait()
}
