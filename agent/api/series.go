package api

import "time"

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
