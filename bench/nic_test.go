package bench

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/tests/agentproc"
	"github.com/netlens/netlens/tests/testenv"
)

// BenchmarkNICScrape measures a /metrics scrape of a real agent on a node
// with 100 interfaces of 16 queues each (veth pairs, peers in another
// namespace), and the same for node_exporter's ethtool and netstat
// collectors in the same run: wall time per scrape (ns/op), exporter CPU per
// scrape and the series count.
//
//	sudo go test ./bench/ -run '^$' -bench NICScrape -benchtime 50x -count 5
func BenchmarkNICScrape(b *testing.B) {
	testenv.RequireRoot(b)
	testenv.RequireCommands(b, "ip", "prometheus-node-exporter")
	manyInterfaces(b, 100, 16)

	b.Run("netlens", func(b *testing.B) {
		a := agentproc.Start(b, "--drop-source", "none", "--bpffs-path", "", "--state-dir", "")
		scrapeBench(b, "http://"+a.Addr+"/metrics", a.PID())
	})
	b.Run("node_exporter", func(b *testing.B) {
		addr, pid := startNodeExporter(b)
		scrapeBench(b, "http://"+addr+"/metrics", pid)
	})
}

// manyInterfaces creates n veth pairs with queues queues each.
func manyInterfaces(b *testing.B, n, queues int) {
	ns := fmt.Sprintf("nlbench%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	var batch strings.Builder
	for i := range n {
		fmt.Fprintf(&batch, "link add nlb%d numtxqueues %d numrxqueues %d type veth peer name nlbp%d numtxqueues %d numrxqueues %d netns %s\nlink set nlb%d up\n",
			i, queues, queues, i, queues, queues, ns, i)
	}
	cmd := exec.Command("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	b.Cleanup(func() {
		var del strings.Builder
		for i := range n {
			fmt.Fprintf(&del, "link del nlb%d\n", i)
		}
		c := exec.Command("ip", "-force", "-batch", "-")
		c.Stdin = strings.NewReader(del.String())
		_ = c.Run()
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("creating interfaces: %v: %s", err, out)
	}
}

func startNodeExporter(b *testing.B) (string, int) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command("prometheus-node-exporter", "--web.listen-address="+addr,
		"--collector.disable-defaults", "--collector.ethtool", "--collector.netstat")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(testenv.Patience); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			resp.Body.Close()
			return addr, cmd.Process.Pid
		}
	}
	b.Fatal("node_exporter did not start")
	return "", 0
}

// scrapeBench scrapes url b.N times and reports the exporter's CPU per scrape
// and the number of series.
func scrapeBench(b *testing.B, url string, pid int) {
	get := func() string {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		return string(body)
	}
	body := get() // warm up: first scrapes fill caches
	series := 0
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			series++
		}
	}
	cpu0 := cpuSeconds(b, pid)
	b.ResetTimer()
	for range b.N {
		get()
	}
	b.StopTimer()
	b.ReportMetric(1000*(cpuSeconds(b, pid)-cpu0)/float64(b.N), "cpu-ms/scrape")
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(float64(len(body)), "bytes/scrape")
}
