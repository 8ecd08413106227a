//go:build linux

package kubernetes

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	churnNamespaces  = 1000
	churnPodsPerNS   = 10
	churnWorkers     = 4
	churnReuseEvery  = 5 // a worker's pods reuse the addresses of its namespace 5 rounds back
	sendEvery        = 5 * time.Millisecond
	goroutineSlack   = 10
	fileSlack        = 5
	churnAgentMetric = "netlens_pod_drop_packets_total"
)

// Pod churn while traffic flows: 1,000 namespaces of 10 pods each are
// created on the agent's node and deleted again, their addresses reused from
// namespace to namespace; meanwhile the server lab pod's Pod object is
// replaced again and again, each new pod reusing its addresses, while the
// client keeps sending denied datagrams to it. Every drop of the client
// (whose pod never changes) is counted, as the rule counted it; each server
// pod gets exactly the drops sent while it was the server, give or take the
// datagrams sent before the agent had seen it (those are nobody's); after
// the churn only the live pods' series remain, and the agent holds no more
// goroutines or files than before. Memory before and after is logged
// (bench/README.md).
func TestAgentFollowsPodChurn(t *testing.T) {
	ac := startAgentCluster(t, clusterOptions{})
	ctx := context.Background()
	ac.send(t, 1)
	testenv.Eventually(t, "the first drop counted", func() bool { return ac.podDrops(t, ac.clientPod, "egress") == 1 })
	before := ac.agentResources(t)

	// The client sends unless paused; sent counts what it sent in all, and
	// current what it sent to the current server pod.
	var (
		sent, current atomic.Uint64
		paused        sync.Mutex
		stop          = make(chan struct{})
		stopOnce      sync.Once
		senderErr     = make(chan error, 1)
	)
	sent.Store(1)
	go func() {
		senderErr <- ac.client.Do(func() error {
			dst := netip.AddrPortFrom(ac.server.IPv4, denyPort)
			for {
				select {
				case <-stop:
					return nil
				case <-time.After(sendEvery):
				}
				paused.Lock()
				err := lab.SendUDP(dst, 1, 100)
				if err == nil {
					sent.Add(1)
					current.Add(1)
				}
				paused.Unlock()
				if err != nil {
					return err
				}
			}
		})
	}()
	stopSender := func() {
		stopOnce.Do(func() {
			close(stop)
			if err := <-senderErr; err != nil {
				t.Error(err)
			}
		})
	}
	defer stopSender()

	churnDone := make(chan error, 1)
	var churned atomic.Int64
	go func() { churnDone <- ac.churn(ctx, &churned) }()

	server := ac.serverPod
	current.Store(1) // the first drop was the first server pod's
	probes := uint64(0)
	handovers := 0
	for done := false; !done; {
		select {
		case err := <-churnDone:
			if err != nil {
				t.Fatalf("churn: %v", err)
			}
			done = true
		case <-time.After(2 * time.Second):
		}
		// Hand the server's addresses to a new pod: traffic pauses, the
		// old pod's count must be what was sent to it (plus at most the
		// probes sent before the agent had seen it), it goes, the new pod
		// comes, and probes run until the agent names it.
		paused.Lock()
		want := current.Load()
		ac.waitDrained(t, sent.Load())
		got := ac.podDrops(t, server, "ingress")
		if got < float64(want-probes) || got > float64(want) {
			t.Errorf("server pod %s has %v drops; %d were sent while it was the server, the first %d of them before the agent had seen it",
				server.Name, got, want, probes)
		}
		if err := ac.DeletePod(ctx, server.Namespace, server.Name); err != nil {
			t.Fatal(err)
		}
		// Until the agent has seen the deletion, a drop would still be the old pod's.
		waitFor(t, "the agent to drop the old server pod's series", func() bool {
			return len(ac.agent.Metrics(t).Series(churnAgentMetric, map[string]string{"pod": server.Name})) == 0
		})
		handovers++
		server = ac.runServer(t, "billing", fmt.Sprintf("payments-%d", handovers))
		current.Store(0)
		probes = 0
		paused.Unlock()
		waitFor(t, "the agent to name the new server pod", func() bool {
			if ac.podDrops(t, server, "ingress") >= 1 {
				return true
			}
			paused.Lock()
			ac.send(t, 1)
			sent.Add(1)
			current.Add(1)
			probes++
			paused.Unlock()
			return false
		})
	}
	stopSender()
	ac.waitDrained(t, sent.Load())
	if got := ac.podDrops(t, server, "ingress"); got < float64(current.Load()-probes) || got > float64(current.Load()) {
		t.Errorf("last server pod %s has %v drops, %d were sent to it (%d probes)", server.Name, got, current.Load(), probes)
	}

	m := ac.agent.Metrics(t)
	live := map[string]bool{ac.clientPod.Name: true, server.Name: true}
	for _, s := range m.Series(churnAgentMetric, nil) {
		if !live[s.Labels["pod"]] {
			t.Errorf("series of a pod that is gone: %v", s.Labels)
		}
	}
	after := ac.agentResources(t)
	t.Logf("%d namespaces x %d pods created and deleted, %d server handovers, %d datagrams, all %d drops of the client counted",
		churned.Load(), churnPodsPerNS, handovers, sent.Load(), sent.Load())
	t.Logf("agent before the churn: %s", before)
	t.Logf("agent after the churn:  %s", after)
	if after.goroutines > before.goroutines+goroutineSlack {
		t.Errorf("the agent has %d goroutines after the churn, %d before", after.goroutines, before.goroutines)
	}
	if after.fds > before.fds+fileSlack {
		t.Errorf("the agent has %d open files after the churn, %d before", after.fds, before.fds)
	}
	if handovers < 3 {
		t.Errorf("only %d server handovers during the churn", handovers)
	}
}

// churn creates and deletes churnNamespaces namespaces of churnPodsPerNS
// running pods on the agent's node, churnWorkers at a time; each worker's
// pods reuse the addresses of its pods churnReuseEvery namespaces back.
func (ac *agentCluster) churn(ctx context.Context, done *atomic.Int64) error {
	var wg sync.WaitGroup
	errs := make(chan error, churnWorkers)
	for w := range churnWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round, i := 0, w; i < churnNamespaces; round, i = round+1, i+churnWorkers {
				if err := ac.churnNamespace(ctx, w, round, i); err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func (ac *agentCluster) churnNamespace(ctx context.Context, worker, round, i int) error {
	ns := fmt.Sprintf("churn-%04d", i)
	if err := ac.CreateNamespace(ctx, ns, nil); err != nil {
		return err
	}
	for j := range churnPodsPerNS {
		slot := (round%churnReuseEvery)*churnPodsPerNS + j
		ip := netip.AddrFrom4([4]byte{10, 250, byte(worker), byte(slot + 1)})
		if _, err := ac.RunPod(ctx, controlplane.PodSpec{Namespace: ns, Name: fmt.Sprintf("app-%d", j), Node: node,
			HostIP: ac.lab.Gateway4, IPs: []netip.Addr{ip}}); err != nil {
			return err
		}
	}
	return ac.DeleteNamespace(ctx, ns)
}

// waitDrained waits until the rule has counted sent datagrams and the agent
// has attributed all of them to the client.
func (ac *agentCluster) waitDrained(t *testing.T, sent uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the rule and the agent to count all %d datagrams for the client", sent), func() bool {
		return ac.denied(t) == sent && ac.podDrops(t, ac.clientPod, "egress") == float64(sent)
	})
}

// resources is what the agent process holds.
type resources struct {
	goroutines, fds int
	rss, heap       float64
}

func (r resources) String() string {
	return fmt.Sprintf("%d goroutines, %d open files, RSS %.1f MiB, heap in use %.1f MiB", r.goroutines, r.fds, r.rss/(1<<20), r.heap/(1<<20))
}

func (ac *agentCluster) agentResources(t *testing.T) resources {
	t.Helper()
	m := ac.agent.Metrics(t)
	return resources{
		goroutines: int(m.Sum("go_goroutines", nil)), fds: int(m.Sum("process_open_fds", nil)),
		rss: m.Sum("process_resident_memory_bytes", nil), heap: m.Sum("go_memstats_heap_inuse_bytes", nil),
	}
}
