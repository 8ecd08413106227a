package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/prometheus"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/tests/promproc"
)

// BenchmarkPrometheusMode measures what prometheus mode adds to a query:
// the same PromQL, range and step sent to the same Prometheus (Debian's
// binary, on a backfilled TSDB of 600 netlens_drop_packets_total series
// over one hour at 15 s) by the official Go client (client_golang's API,
// decoding the matrix) and by pkg/prometheus's Reader (translation, HTTP,
// decoding, one data frame per series). Each iteration runs both,
// alternately, so that both see the same machine; reported are the medians
// of each (direct-ms, reader-ms) and the overhead of the Reader in percent.
//
//	go test ./bench/ -run '^$' -bench PrometheusMode -benchtime 60x -count 5
func BenchmarkPrometheusMode(b *testing.B) {
	const nodes, reasons, protocols, samples = 20, 10, 3, 240
	end := time.Now().Add(-time.Minute).Truncate(time.Minute)
	var om strings.Builder
	om.WriteString("# TYPE netlens_drop_packets_total counter\n")
	for n := range nodes {
		for r := range reasons {
			for p := range protocols {
				for i := range samples {
					ts := end.Add(-time.Duration(samples-1-i) * 15 * time.Second)
					fmt.Fprintf(&om, "netlens_drop_packets_total{node=\"node-%02d\",cluster=\"bench\",reason=\"REASON_%d\",location=\"fn_%d\",protocol=\"p%d\"} %d %d\n",
						n, r, r, p, (i+1)*(n+r+p+1), ts.Unix())
				}
			}
		}
	}
	om.WriteString("# EOF\n")
	prom := promproc.Start(b, promproc.Options{Backfill: om.String()})

	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{URL: prom.URL, JSONData: []byte(`{}`)})
	if err != nil {
		b.Fatal(err)
	}
	rd, err := prometheus.New(s, prometheus.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// A one-hour panel: step 15s, rate window 60s; the range is already
	// aligned to the step.
	rg := query.Range{From: end.Add(-time.Hour), To: end, Interval: 15 * time.Second, MaxDataPoints: 1000}
	q, err := models.ParseQuery([]byte(`{"queryType":"drops","groupBy":["node","reason"]}`))
	if err != nil {
		b.Fatal(err)
	}
	const expr = `sum by (node, reason) (rate(netlens_drop_packets_total[60s]))`
	// The panel's interval (15s) beats 1h/1000 = 3.6s, so the step is 15s.
	const step = 15 * time.Second

	client, err := promapi.NewClient(promapi.Config{Address: prom.URL, RoundTripper: http.DefaultTransport.(*http.Transport).Clone()})
	if err != nil {
		b.Fatal(err)
	}
	api := promv1.NewAPI(client)
	ctx := context.Background()
	// Both return the number of points they decoded.
	direct := func() int {
		v, _, _, err := api.QueryRange(ctx, expr, promv1.Range{Start: rg.From, End: rg.To, Step: step})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, s := range v.(model.Matrix) {
			n += len(s.Values)
		}
		return n
	}
	viaReader := func() int {
		resp := rd.Query(ctx, q, rg)
		if resp.Error != nil {
			b.Fatal(resp.Error)
		}
		n := 0
		for _, f := range resp.Frames {
			n += f.Rows()
		}
		return n
	}
	// Same answer, same query.
	resp := rd.Query(ctx, q, rg)
	if resp.Error != nil || resp.Frames[0].Meta.ExecutedQueryString != expr {
		b.Fatalf("reader ran %q (%v), want %q", resp.Frames[0].Meta.ExecutedQueryString, resp.Error, expr)
	}
	points := direct()
	if m := viaReader(); len(resp.Frames) != nodes*reasons || m != points || points < nodes*reasons*int(time.Hour/step-2) {
		b.Fatalf("direct %d points, reader %d points in %d frames", points, m, len(resp.Frames))
	}
	for range 3 { // warm both paths and Prometheus's caches
		direct()
		viaReader()
	}

	var dd, rr []time.Duration
	b.ResetTimer()
	for i := range b.N {
		first, second := direct, viaReader
		if i%2 == 1 {
			first, second = viaReader, direct
		}
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		t2 := time.Now()
		if i%2 == 0 {
			dd, rr = append(dd, t1.Sub(t0)), append(rr, t2.Sub(t1))
		} else {
			rr, dd = append(rr, t1.Sub(t0)), append(dd, t2.Sub(t1))
		}
	}
	b.StopTimer()
	md, mr := median(dd), median(rr)
	b.ReportMetric(float64(md.Microseconds())/1000, "direct-ms")
	b.ReportMetric(float64(mr.Microseconds())/1000, "reader-ms")
	b.ReportMetric((float64(mr)/float64(md)-1)*100, "overhead-%")
	b.ReportMetric(float64(points), "points")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
