package direct_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/direct"
	"github.com/netlens/netlens/pkg/models"
)

// notGrouped is the notice of a drops query grouped by namespace, word for
// word as prometheus mode gives it (pkg/prometheus TestGroupByMissingLabel).
const notGrouped = `drops: netlens_drop_packets_total has no "namespace" label in the netlens schema, so it is not grouped by it`

// Grouping by a label the metric lacks answers as prometheus mode does: the
// series summed without it (one series named after the query type, no
// labels), and an info notice saying so.
func TestGroupByMissingLabel(t *testing.T) {
	now := time.Now()
	a, b := agent(t, "node-a", token, now), agent(t, "node-b", token, now)
	r, _ := direct.New(settings(5, a.URL, b.URL))
	resp := r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, GroupBy: []string{"namespace"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if len(resp.Frames) != 1 {
		t.Fatalf("%d frames, want 1", len(resp.Frames))
	}
	f := resp.Frames[0]
	v := f.Fields[1]
	if len(v.Labels) != 0 || v.Config.DisplayNameFromDS != "drops" || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
		t.Fatalf("frame: labels %v, name %q, type %v", v.Labels, v.Config.DisplayNameFromDS, f.Meta.Type)
	}
	// Both agents' two reasons: 1/s + 2/s each.
	if got := v.At(v.Len() - 1).(float64); math.Abs(got-6) > 1e-9 {
		t.Fatalf("sum %v, want 6", got)
	}
	if len(f.Meta.Notices) != 1 || f.Meta.Notices[0].Text != notGrouped || f.Meta.Notices[0].Severity != data.NoticeSeverityInfo {
		t.Fatalf("notices %+v, want the info %q", f.Meta.Notices, notGrouped)
	}

	// With a label it has too: grouped by that one, the same notice once.
	resp = r.Query(context.Background(), models.Query{QueryType: models.QueryDrops, GroupBy: []string{"namespace", "reason"}, Value: "packets"}, lastRange(now, 4*time.Minute))
	if len(resp.Frames) != 2 || notices(resp.Frames) != notGrouped {
		t.Fatalf("%d frames, notices %q", len(resp.Frames), notices(resp.Frames))
	}
	for _, f := range resp.Frames {
		if l := f.Fields[1].Labels; len(l) != 1 || l["reason"] == "" {
			t.Fatalf("labels %v, want reason only", l)
		}
	}
}
