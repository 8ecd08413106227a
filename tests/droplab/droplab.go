//go:build linux

// Package droplab starts the lab the Prometheus-backed suites share: pods a
// and b, iptables rules dropping a's UDP and TCP to b (their counters are the
// ground truth), a real agent and Debian's Prometheus scraping it every second
// with the node and cluster labels a scrape config adds.
package droplab

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/lab"
	"github.com/netlens/netlens/tests/promproc"
	"github.com/netlens/netlens/tests/testenv"
)

const (
	// Node and Cluster are the labels the scrape config adds.
	Node    = "lab-node"
	Cluster = "lab"
	// ScrapeEvery is Prometheus's scrape interval (the data source's scrapeIntervalSeconds).
	ScrapeEvery = time.Second
)

// Lab is a running drop lab.
type Lab struct {
	Lab   *lab.Lab
	A, B  *lab.Pod
	Agent *agentproc.Agent
	Prom  *promproc.Prometheus
	rules [2]string
}

// Start builds the lab. rulePrefix names its two rules (<prefix>-udp,
// <prefix>-tcp), unique per suite.
func Start(t *testing.T, rulePrefix string) *Lab {
	t.Helper()
	testenv.RequireBTF(t)
	testenv.RequireCommands(t, "ip", "iptables", "prometheus", "promtool")
	l := lab.New(t)
	a, b := l.AddPod("a"), l.AddPod("b")
	agent := agentproc.Start(t, agentproc.DropFlags(t, lab.PodsFile(t, a, b))...)
	d := &Lab{Lab: l, A: a, B: b, Agent: agent, rules: [2]string{rulePrefix + "-udp", rulePrefix + "-tcp"}}
	for i, proto := range []string{"udp", "tcp"} {
		l.MustNodeRun("iptables", "-I", "FORWARD", "-s", a.IPv4.String(), "-d", b.IPv4.String(), "-p", proto,
			"-m", "comment", "--comment", d.rules[i], "-j", "DROP")
	}
	d.Prom = promproc.Start(t, promproc.Options{Config: promproc.ScrapeConfig(ScrapeEvery, []string{agent.Addr},
		map[string]string{"node": Node, "cluster": Cluster})})
	return d
}

// Send sends udp datagrams of 100 bytes and syns TCP SYNs from a to b.
func (d *Lab) Send(t *testing.T, udp, syns int) {
	t.Helper()
	if err := d.A.Do(func() error {
		if err := lab.SendUDP(netip.AddrPortFrom(d.B.IPv4, 53), udp, 100); err != nil {
			return err
		}
		return lab.SendSYNs(netip.AddrPortFrom(d.B.IPv4, 80), syns)
	}); err != nil {
		t.Fatal(err)
	}
}

// Truth is the rules' counters: packets per protocol, and in total with bytes.
type Truth struct{ UDP, TCP, Packets, Bytes uint64 }

// Truth reads the rules' counters.
func (d *Lab) Truth(t *testing.T) Truth {
	t.Helper()
	up, ub := d.Lab.RuleCounter(t, "iptables", d.rules[0])
	tp, tb := d.Lab.RuleCounter(t, "iptables", d.rules[1])
	return Truth{UDP: up, TCP: tp, Packets: up + tp, Bytes: ub + tb}
}
