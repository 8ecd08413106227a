package run_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/controlplane"
	"github.com/netlens/netlens/tests/testenv"
)

// run.sh --cluster: the demo's deny rule is a real NetworkPolicy on a real
// API server, enforced by kube-router in the lab's node namespace; the agent
// names the lab's pods from the API server, and its count of the server's
// drops never exceeds what kube-router's reject rule counted. SIGINT stops
// the control plane and the enforcer with the rest.
func TestRunScriptCluster(t *testing.T) {
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "bash", "setsid", "ip", "iptables-save", "prometheus", "curl", "etcd", "ipset", "helm")
	root := testenv.RepoRoot(t)
	agentBin := agentproc.Binary(t)
	agentAddr, promAddr, previewAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	previewPort := previewAddr[strings.LastIndexByte(previewAddr, ':')+1:]
	tmp := t.TempDir()
	pid, out, done := startScript(t, exec.Command("bash", filepath.Join(root, "scripts", "run.sh"), "--cluster"),
		agentBin, agentAddr, promAddr, previewPort, tmp)
	node := fmt.Sprintf("nlrun-%d-node", pid)
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = syscall.Kill(-pid, syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-done
			}
		}
		if t.Failed() {
			t.Logf("run.sh output:\n%s", tail(readFile(out.Name()), 60))
		}
	})
	output := func() string { return readFile(out.Name()) }
	// The first run may build the control plane (scripts/build-controlplane.sh).
	waitFor(t, 40*time.Minute, done, "run.sh --cluster to say the stack is running", func() bool {
		return strings.Contains(output(), "Netlens is running")
	})
	if !strings.Contains(output(), "NetworkPolicy netlens-demo/server-allow-client-http, enforced by kube-router") {
		t.Errorf("run.sh --cluster does not say which NetworkPolicy denies the traffic")
	}
	children := descendants(pid)
	for _, want := range []string{"kube-apiserver", "etcd", "kube-router"} {
		if !anyContains(children, want) {
			t.Errorf("no %s among run.sh's children: %v", want, children)
		}
	}

	reject := "rule to REJECT traffic destined for POD name:server namespace: netlens-demo"
	agent := "http://" + agentAddr
	var counted, rejected float64
	waitFor(t, time.Minute, done, "the agent to count the NetworkPolicy's drops of netlens-demo/server", func() bool {
		_, body := testenv.HTTPGet(t, agent+"/metrics")
		m, err := agentproc.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		counted = m.Sum("netlens_pod_drop_packets_total", map[string]string{"namespace": "netlens-demo", "pod": "server", "direction": "ingress", "reason": "NETFILTER_DROP"})
		n, err := controlplane.RuleCounter(node, reject)
		if err != nil {
			t.Fatal(err)
		}
		rejected = float64(n)
		return counted >= 10
	})
	if counted > rejected {
		t.Errorf("the agent counted %v drops of the server, more than kube-router's reject rule (%v)", counted, rejected)
	}
	_, status := testenv.HTTPGet(t, agent+"/api/v1/status")
	if !strings.Contains(status, `"metadata":"kubernetes:node=`+node+`"`) {
		t.Errorf("the agent does not name pods from the API server: %s", status)
	}

	exited = interrupt(t, pid, done, 90*time.Second)
	for _, c := range children {
		if alive(c) {
			t.Errorf("process %d (%s) still running", c.pid, c.cmdline)
		}
	}
	if _, err := os.Stat("/run/netns/" + node); err == nil {
		t.Errorf("namespace %s still exists", node)
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) > 0 {
		t.Errorf("temporary files left in %s: %v %v", tmp, entries, err)
	}
}

func anyContains(ps []proc, s string) bool {
	for _, p := range ps {
		if strings.Contains(p.cmdline, s) {
			return true
		}
	}
	return false
}
