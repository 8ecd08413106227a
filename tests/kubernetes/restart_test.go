//go:build linux

package kubernetes

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netlens/netlens/tests/testenv"
)

// The API server goes away, and while it is down etcd's history is
// compacted, so the agent's watches come back to an expired resource version
// (410 Gone) and it must list again, as after a long disconnection. Right
// after the restart, before the agent is back, the server's pod is replaced
// by another holding the same addresses. No drop of the client (whose pod
// never changed) is lost, and the new server pod gets its drops and none of
// the old one's.
func TestAgentSurvivesAPIServerRestartAndExpiredWatch(t *testing.T) {
	ac := startAgentCluster(t, clusterOptions{})
	ctx := context.Background()
	ac.send(t, 20)
	testenv.Eventually(t, "the 20 drops counted for both pods", func() bool {
		return ac.podDrops(t, ac.clientPod, "egress") == 20 && ac.podDrops(t, ac.serverPod, "ingress") == 20
	})

	// A write the agent does not watch moves etcd's revision past the agent's
	// position, so compacting to it expires that position.
	if _, err := ac.Admin.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bump"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := ac.RestartAPIServer(ac.CompactEtcd); err != nil {
		t.Fatal(err)
	}
	old := ac.serverPod
	if err := ac.DeletePod(ctx, old.Namespace, old.Name); err != nil {
		t.Fatal(err)
	}
	replacement := ac.runServer(t, "billing", "payments-1")

	waitFor(t, "the agent to list pods again after the restart", func() bool {
		for _, e := range ac.audit.read(t) {
			if e.Verb == "list" && e.ObjectRef.Resource == "pods" && e.ResponseStatus.Code == 200 && e.StageTimestamp.After(restarted) {
				return true
			}
		}
		return false
	})
	// One datagram at a time until the agent names the replacement (it may
	// still be reconnecting): those before are not attributed to anyone.
	probes := 0
	waitFor(t, "the agent to count drops for the replacement pod", func() bool {
		ac.send(t, 1)
		probes++
		return ac.podDrops(t, replacement, "ingress") >= 1
	})
	ac.send(t, 50)
	total := uint64(20 + probes + 50)
	testenv.Eventually(t, "every drop of the client counted, as the rule counted them", func() bool {
		return ac.denied(t) == total && ac.podDrops(t, ac.clientPod, "egress") == float64(total)
	})
	testenv.Eventually(t, "the replacement's 50 drops counted", func() bool { return ac.podDrops(t, replacement, "ingress") >= 51 })
	if got := ac.podDrops(t, replacement, "ingress"); got > float64(50+probes) {
		t.Errorf("the replacement pod has %v drops, but only %d were sent after it was created: the old pod's were given to it", got, 50+probes)
	}
	if s := ac.agent.Metrics(t).Series("netlens_pod_drop_packets_total", map[string]string{"pod": old.Name}); len(s) > 0 {
		t.Errorf("the deleted pod's series are still exported: %+v", s)
	}
	t.Logf("%d datagrams sent before the agent named the replacement", probes)
}
