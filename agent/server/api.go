package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/history"
	"github.com/netlens/netlens/agent/reasons"
)

const (
	// maxSeriesPerQuery bounds one /api/v1/series answer.
	maxSeriesPerQuery = 10000
	// streamBuffer is how many events a stream client may lag behind
	// before it is disconnected.
	streamBuffer = 256
	// writeTimeout bounds one write to a stream client.
	writeTimeout = 10 * time.Second
	// heartbeat keeps idle streams alive through proxies.
	heartbeat = 15 * time.Second
)

// series answers GET /api/v1/series?match=<selector>[&match=...][&start=][&end=][&limit=].
func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	if s.opts.History == nil {
		s.writeError(w, http.StatusNotFound, "this agent keeps no history")
		return
	}
	q := r.URL.Query()
	if err := onlyParams(q, "match", "start", "end", "limit"); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	selectors := q["match"]
	if len(selectors) == 0 || len(selectors) > 16 {
		s.writeError(w, http.StatusBadRequest, "give 1 to 16 match parameters, each a series selector such as netlens_drop_packets_total{reason=\"NO_SOCKET\"}")
		return
	}
	end, err := parseTime(q.Get("end"), time.Now())
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "end: "+err.Error())
		return
	}
	start, err := parseTime(q.Get("start"), end.Add(-15*time.Minute))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "start: "+err.Error())
		return
	}
	if start.After(end) {
		s.writeError(w, http.StatusBadRequest, "start is after end")
		return
	}
	limit := maxSeriesPerQuery
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxSeriesPerQuery {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want 1 to %d", maxSeriesPerQuery))
			return
		}
	}
	resp := api.SeriesResponse{Start: start, End: end, IntervalSeconds: s.opts.History.Interval().Seconds(), Series: []api.Series{}}
	seen := map[string]bool{}
	for _, sel := range selectors {
		ms, err := history.ParseSelector(sel)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, "match: "+err.Error())
			return
		}
		found, err := s.opts.History.Select(ms, start, end, limit)
		var tooMany history.ErrTooManySeries
		if errors.As(err, &tooMany) {
			s.writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		for _, sr := range found {
			// Two selectors may match one series: answer it once.
			k, _ := json.Marshal(sr.Labels)
			if !seen[string(k)] {
				seen[string(k)] = true
				resp.Series = append(resp.Series, sr)
			}
		}
	}
	if len(resp.Series) > limit {
		s.writeError(w, http.StatusUnprocessableEntity, history.ErrTooManySeries{Matched: len(resp.Series), Limit: limit}.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// reasons explains drop reasons, so that clients need no catalog of their
// own: GET /api/v1/reasons is the catalog plus the generic explanation of each
// reason of the running kernel the catalog lacks; with reason=A,B (repeated
// or comma-separated) it is the explanation of exactly those, in order, from
// the catalog or generic.
func (s *Server) reasons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := onlyParams(q, "reason"); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	entries, status, err := reasons.Answer(q["reason"], s.opts.KernelReasons)
	if err != nil {
		s.writeError(w, status, err.Error())
		return
	}
	s.writeJSON(w, status, entries)
}

// parseTime reads RFC 3339 or Unix seconds (with a fraction); "" is def.
func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", v)
	}
	return t, nil
}

// onlyParams rejects query parameters the endpoint does not know, so that a
// typo does not silently widen a query.
func onlyParams(q map[string][]string, known ...string) error {
	for k := range q {
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown parameter %q: this endpoint takes %s", k, strings.Join(known, ", "))
		}
	}
	return nil
}

// events streams sampled drop events as Server-Sent Events:
// GET /api/v1/events[?reason=A,B][&namespace=x][&pod=ns/name][&interface=eth0][&replay=true].
// Each event is one `data:` line of api.DropEvent JSON. A client that falls
// more than streamBuffer events behind gets an `event: error` and is
// disconnected: the agent never waits for a client.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		s.writeError(w, http.StatusNotFound, "this agent has no event stream")
		return
	}
	q := r.URL.Query()
	if err := onlyParams(q, "reason", "namespace", "pod", "interface", "replay"); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	replay := false
	if v := q.Get("replay"); v != "" {
		var err error
		if replay, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, http.StatusBadRequest, "replay: want true or false")
			return
		}
	}
	f := events.Filter{Reasons: list(q["reason"]), Namespaces: list(q["namespace"]), Pods: list(q["pod"]),
		Interfaces: list(q["interface"])}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		s.writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%d event streams are open, the most this agent serves", maxStreams))
		return
	}

	sub := s.opts.Events.Subscribe(f, streamBuffer)
	defer s.opts.Events.Unsubscribe(sub)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(payload string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write([]byte(payload)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": netlens-agent drop events\n\n") {
		return
	}
	if replay {
		for _, e := range s.opts.Events.Recent() {
			if f.Match(e) && !send(eventFrame(e)) {
				return
			}
		}
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	var batch []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if !send(": ping\n\n") {
				return
			}
		case it, ok := <-sub.C:
			// Everything already waiting goes out in one write: one write per
			// event and client does not keep up with a flood.
			batch = batch[:0]
			for ok {
				batch = appendFrame(batch, it.JSON)
				if len(batch) >= 64<<10 {
					break
				}
				select {
				case it, ok = <-sub.C:
					continue
				default:
				}
				break
			}
			if len(batch) > 0 && !send(string(batch)) {
				return
			}
			if !ok {
				if sub.Dropped() {
					send("event: error\ndata: {\"error\":\"client too slow: more than " + strconv.Itoa(streamBuffer) + " events behind, disconnected\"}\n\n")
				}
				return
			}
		}
	}
}

func appendFrame(b, eventJSON []byte) []byte {
	b = append(b, "data: "...)
	b = append(b, eventJSON...)
	return append(b, "\n\n"...)
}

func eventFrame(e api.DropEvent) string {
	b, _ := json.Marshal(e)
	return string(appendFrame(nil, b))
}

// list splits repeated and comma-separated values.
func list(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
