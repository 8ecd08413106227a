package plugin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/netlens/netlens/agent/reasons"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// resourceRoutes serves GET /values/<label> (node, namespace, pod, reason,
// interface; filters as query parameters, the range as from/to in ms, default
// the last hour) and GET /reasons (the reason catalog, for the app's and the
// editors' explanations; with reason=A,B the explanation of exactly those,
// generic for a reason the catalog lacks).
func (d *Datasource) resourceRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /values/{label}", d.values)
	mux.HandleFunc("GET /reasons", explainReasons)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown resource %s %q", r.Method, r.URL.Path)})
	})
	return mux
}

// explainReasons answers GET /reasons[?reason=A,B] as the agent's
// /api/v1/reasons does, without the running kernel's reasons: the data source
// knows no kernel, so it explains the reasons it is asked about.
func explainReasons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "reason" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown parameter %q: /reasons takes reason", k)})
			return
		}
	}
	entries, status, err := reasons.Answer(q["reason"], nil)
	if err != nil {
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, status, entries)
}

func (d *Datasource) values(w http.ResponseWriter, r *http.Request) {
	if d.settingsErr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "data source settings are invalid: " + d.settingsErr.Error()})
		return
	}
	label := query.Label(r.PathValue("label"))
	if !slices.Contains(query.Labels, label) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no values of %q: want one of %v", label, query.Labels)})
		return
	}
	f, rg, err := valuesRequest(r.URL.Query())
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	vals, err := d.reader.Values(r.Context(), label, f, rg)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	if vals == nil {
		vals = []string{}
	}
	writeJSON(w, http.StatusOK, vals)
}

// valuesRequest reads filters (repeated or comma-separated node, namespace,
// pod, reason, interface, cluster) and from/to (ms since the epoch).
func valuesRequest(q url.Values) (models.Filters, query.Range, error) {
	var f models.Filters
	lists := map[string]*[]string{"cluster": &f.Cluster, "node": &f.Node, "namespace": &f.Namespace, "pod": &f.Pod, "reason": &f.Reason, "interface": &f.Interface}
	rg := query.Range{To: time.Now(), MaxDataPoints: 1}
	rg.From = rg.To.Add(-time.Hour)
	for k, vs := range q {
		switch k {
		case "from", "to":
			var ms int64
			if _, err := fmt.Sscan(q.Get(k), &ms); err != nil {
				return f, rg, fmt.Errorf("%s: want milliseconds since the epoch", k)
			}
			if k == "from" {
				rg.From = time.UnixMilli(ms)
			} else {
				rg.To = time.UnixMilli(ms)
			}
		default:
			dst, ok := lists[k]
			if !ok {
				return f, rg, fmt.Errorf("unknown parameter %q", k)
			}
			for _, v := range vs {
				for _, p := range strings.Split(v, ",") {
					if p != "" {
						*dst = append(*dst, p)
					}
				}
			}
		}
	}
	if rg.To.Before(rg.From) || rg.To.Sub(rg.From) > maxRange {
		return f, rg, fmt.Errorf("from/to: want a range of at most %d days that ends after it starts", int(maxRange.Hours()/24))
	}
	return f, rg, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
