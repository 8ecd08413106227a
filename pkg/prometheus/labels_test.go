package prometheus

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// notGrouped is the notice of a drops query grouped by namespace, word for
// word as direct mode gives it (pkg/direct TestGroupByMissingLabel).
const notGrouped = `drops: netlens_drop_packets_total has no "namespace" label in the netlens schema, so it is not grouped by it`

// Grouping by a label the metric lacks: the PromQL sums without it, the
// answer is one series named after the query type without labels, and an
// info notice says so, as in direct mode.
func TestGroupByMissingLabel(t *testing.T) {
	f, u := serve(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		writeJSON(w, 200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"6"]]}]}}`)
	})
	rd := newReader(t, u, `{}`)
	resp := rd.Query(context.Background(), mustParse(t, `{"queryType":"drops","groupBy":["namespace"]}`), testRange)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if _, form := f.last(); form.Get("query") != `sum(rate(netlens_drop_packets_total[60s]))` {
		t.Fatalf("query %q", form.Get("query"))
	}
	if len(resp.Frames) != 1 {
		t.Fatalf("%d frames", len(resp.Frames))
	}
	fr := resp.Frames[0]
	v := fr.Fields[1]
	if len(v.Labels) != 0 || v.Config.DisplayNameFromDS != "drops" || fr.Meta.Type != data.FrameTypeTimeSeriesMulti {
		t.Fatalf("frame: labels %v, name %q, type %v", v.Labels, v.Config.DisplayNameFromDS, fr.Meta.Type)
	}
	if len(fr.Meta.Notices) != 1 || fr.Meta.Notices[0].Text != notGrouped || fr.Meta.Notices[0].Severity != data.NoticeSeverityInfo {
		t.Fatalf("notices %+v, want the info %q", fr.Meta.Notices, notGrouped)
	}
}
