package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// SeriesResponse is GET /api/v1/series: the agent's in-memory history of its
// own series that match a selector, between Start and End.
type SeriesResponse struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// IntervalSeconds is how often the history takes a sample.
	IntervalSeconds float64  `json:"intervalSeconds"`
	Series          []Series `json:"series"`
}

// Series is one series: its labels (the metric name under "__name__") and
// its samples, oldest first. A sample is missing where the series was not
// exported (for example a pod series before the pod's first drop).
type Series struct {
	Labels  map[string]string `json:"labels"`
	Samples []Sample          `json:"samples"`
}

// Sample is one value at one time, milliseconds since the Unix epoch.
type Sample struct {
	T int64   `json:"t"`
	V float64 `json:"v"`
}

// Error is the body of every 4xx and 5xx answer of /api/v1.
type Error struct {
	Error string `json:"error"`
}

// HistoryStatus describes the in-memory history (part of Status).
type HistoryStatus struct {
	IntervalSeconds float64 `json:"intervalSeconds"`
	DurationSeconds float64 `json:"durationSeconds"`
	Series          int     `json:"series"`
	MaxSeries       int     `json:"maxSeries"`
	// DroppedSeries counts series not kept because MaxSeries was reached.
	DroppedSeries uint64 `json:"droppedSeries"`
	// Bytes is an estimate of the memory the history holds.
	Bytes int64 `json:"bytes"`
	// Oldest is the time of the oldest sample kept (zero before the first).
	Oldest time.Time `json:"oldest"`
}

// EventsStatus describes the live event stream (part of Status).
type EventsStatus struct {
	Clients int `json:"clients"`
	// ClientsDropped counts clients disconnected because they read too slowly.
	ClientsDropped uint64 `json:"clientsDropped"`
}

// UnmarshalJSON reads a sample. The form the agent writes, {"t":<ms>,"v":<number>}
// without spaces, is parsed directly (a direct-mode query over many agents
// decodes millions of samples, and the generic decoder spends most of its
// time on them); any other form goes through encoding/json.
func (s *Sample) UnmarshalJSON(b []byte) error {
	if t, v, ok := parseSample(b); ok {
		s.T, s.V = t, v
		return nil
	}
	type plain Sample
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Sample(p)
	return nil
}

func parseSample(b []byte) (int64, float64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(`{"t":`))
	if !ok {
		return 0, 0, false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 1 {
		return 0, 0, false
	}
	t, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	num, ok := bytes.CutPrefix(rest[i:], []byte(`,"v":`))
	if !ok || len(num) < 2 || num[len(num)-1] != '}' {
		return 0, 0, false
	}
	num = num[:len(num)-1]
	// JSON numbers only: strconv also accepts forms JSON does not (Inf, hex, _).
	for _, c := range num {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return 0, 0, false
		}
	}
	v, err := strconv.ParseFloat(string(num), 64)
	if err != nil {
		return 0, 0, false
	}
	return t, v, true
}
