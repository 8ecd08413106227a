package direct

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/pkg/models"
	"github.com/netlens/netlens/pkg/query"
)

// EventsPathPrefix starts the Grafana Live path of the drop event stream:
// events/<base64url (no padding) of the filters' JSON>.
const EventsPathPrefix = "events/"

// Limits of an events channel path, checked before anything is decoded.
const (
	maxPathFilterBytes = 2048 // encoded filter JSON
	maxChannelValues   = 32   // values per filter list
	maxChannelValueLen = 253
)

// EventFilters are the filters of a drop event stream (a subset of the
// query filters: node, namespace, pod, reason, interface).
type EventFilters struct {
	Node      []string `json:"node,omitempty"`
	Namespace []string `json:"namespace,omitempty"`
	Pod       []string `json:"pod,omitempty"`
	Reason    []string `json:"reason,omitempty"`
	Interface []string `json:"interface,omitempty"`
}

func eventFiltersOf(f models.Filters) EventFilters {
	return EventFilters{Node: f.Node, Namespace: f.Namespace, Pod: f.Pod, Reason: f.Reason, Interface: f.Interface}
}

func (f EventFilters) lists() map[string][]string {
	return map[string][]string{"node": f.Node, "namespace": f.Namespace, "pod": f.Pod, "reason": f.Reason, "interface": f.Interface}
}

func (f EventFilters) canonical() EventFilters {
	norm := func(v []string) []string {
		if len(v) == 0 {
			return nil
		}
		v = slices.Clone(v)
		slices.Sort(v)
		return slices.Compact(v)
	}
	return EventFilters{Node: norm(f.Node), Namespace: norm(f.Namespace), Pod: norm(f.Pod), Reason: norm(f.Reason), Interface: norm(f.Interface)}
}

func (f EventFilters) validate() error {
	for name, vals := range f.lists() {
		if len(vals) > maxChannelValues {
			return fmt.Errorf("filter %s has %d values, at most %d", name, len(vals), maxChannelValues)
		}
		for _, v := range vals {
			if v == "" || len(v) > maxChannelValueLen || !utf8.ValidString(v) || strings.ContainsAny(v, ",\x00\r\n") {
				return fmt.Errorf("filter %s has a bad value (empty, longer than %d bytes, or with a comma or control character)", name, maxChannelValueLen)
			}
		}
	}
	return nil
}

// EventsPath is the channel path of the drop event stream with filters f:
// equal filters (in any order) give the same path, so panels share a stream.
func EventsPath(f models.Filters) (string, error) {
	ef := eventFiltersOf(f).canonical()
	if err := ef.validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(ef)
	if err != nil {
		return "", err
	}
	p := EventsPathPrefix + base64.RawURLEncoding.EncodeToString(b)
	if len(p)-len(EventsPathPrefix) > maxPathFilterBytes {
		return "", fmt.Errorf("the filters are too long for a live channel")
	}
	return p, nil
}

// Channel is the Grafana Live channel of the stream for a data source UID:
// ds/<uid>/events/<encoded filters>.
func Channel(uid string, f models.Filters) (string, error) {
	p, err := EventsPath(f)
	if err != nil {
		return "", err
	}
	return "ds/" + uid + "/" + p, nil
}

// ParseEventsPath decodes and validates a channel path. It is strict: only
// events/<base64url JSON>, the JSON an object with the known filter lists
// and nothing else, within the size limits.
func ParseEventsPath(path string) (EventFilters, error) {
	enc, ok := strings.CutPrefix(path, EventsPathPrefix)
	if !ok {
		return EventFilters{}, fmt.Errorf("unknown stream %q", truncate(path, 64))
	}
	if enc == "" || len(enc) > maxPathFilterBytes {
		return EventFilters{}, fmt.Errorf("stream path: filters missing or longer than %d bytes", maxPathFilterBytes)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return EventFilters{}, errors.New("stream path: filters are not base64url without padding")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f EventFilters
	if err := dec.Decode(&f); err != nil {
		return EventFilters{}, fmt.Errorf("stream path: filters: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return EventFilters{}, errors.New("stream path: filters: trailing data after the JSON object")
	}
	if err := f.validate(); err != nil {
		return EventFilters{}, fmt.Errorf("stream path: %w", err)
	}
	return f.canonical(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Subscribe checks a channel path before Grafana subscribes a client: nil
// if it is a valid events path.
func (r *Reader) Subscribe(path string) error {
	_, err := ParseEventsPath(path)
	return err
}

// SubscribeStream is backend.SubscribeStreamHandler: OK for valid events
// paths, NotFound otherwise.
func (r *Reader) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	if r.Subscribe(req.Path) != nil {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// RunStream is backend.RunStreamHandler: Stream on req.Path.
func (r *Reader) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	return r.Stream(ctx, req.Path, sender)
}

// PublishStream is refused: clients never write to Netlens channels.
func (r *Reader) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

var _ backend.StreamHandler = (*Reader)(nil)

type streamOptions struct {
	batch  int           // most events per frame
	flush  time.Duration // longest wait before a partial batch is sent
	buffer int           // events waiting for the sender before new ones are dropped
	// reconnect backoff
	backoffMin, backoffMax time.Duration
	// emitted, when set, is called for every event a reader receives (tests).
	emitted func()
}

var defaultStreamOptions = streamOptions{batch: 100, flush: 250 * time.Millisecond, buffer: 1024,
	backoffMin: 500 * time.Millisecond, backoffMax: 30 * time.Second}

// nodeEvent is an event with the node of the agent that saw it.
type nodeEvent struct {
	node string
	e    api.DropEvent
}

// Stream sends the drop events of every agent matching the path's filters
// to sender until ctx ends (the last subscriber left), then returns nil. It
// follows discovery (agents appearing and disappearing), reconnects to each
// agent with backoff, and sends frames of at most batch events at least
// every flush interval. The agents' readers never wait for the sender: when
// the sender falls more than the buffer behind, newer events are dropped and
// counted, and the next frame carries a notice with the count.
func (r *Reader) Stream(ctx context.Context, path string, sender *backend.StreamSender) error {
	f, err := ParseEventsPath(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan nodeEvent, r.stream.buffer)
	var dropped atomic.Uint64
	var wg sync.WaitGroup
	readers := map[string]context.CancelFunc{}
	cl := &claims{held: map[agentID]chan struct{}{}}
	defer func() {
		cancel()
		wg.Wait()
	}()
	resync := func() {
		urls, err := r.disc.agents(ctx)
		if err != nil {
			r.logger.Warn("netlens live stream: agent discovery failed", "error", err)
		}
		for u, stop := range readers {
			if !slices.Contains(urls, u) {
				stop()
				delete(readers, u)
			}
		}
		for _, u := range urls {
			if _, ok := readers[u]; ok {
				continue
			}
			actx, stop := context.WithCancel(ctx)
			readers[u] = stop
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.readAgent(actx, u, f, cl, func(ev nodeEvent) {
					if r.stream.emitted != nil {
						defer r.stream.emitted()
					}
					select {
					case ch <- ev:
					default:
						dropped.Add(1)
					}
				})
			}()
		}
	}
	resync()
	rediscover := time.NewTicker(max(r.disc.interval, time.Second))
	defer rediscover.Stop()
	flush := time.NewTicker(r.stream.flush)
	defer flush.Stop()
	var batch []nodeEvent
	var reported uint64
	send := func() error {
		d := dropped.Load()
		if len(batch) == 0 && d == reported {
			return nil
		}
		fr := EventsFrame(batch)
		if d > reported {
			fr.Meta.Notices = append(fr.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("%d drop events were not shown because the live stream could not keep up (%d in total)", d-reported, d)})
			fr.Meta.Custom = map[string]uint64{"droppedEvents": d}
			reported = d
		}
		batch = batch[:0]
		return sender.SendFrame(fr, data.IncludeAll)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-rediscover.C:
			resync()
		case ev := <-ch:
			batch = append(batch, ev)
			if len(batch) >= r.stream.batch {
				if err := send(); err != nil {
					return fmt.Errorf("sending drop events: %w", err)
				}
			}
		case <-flush.C:
			if err := send(); err != nil {
				return fmt.Errorf("sending drop events: %w", err)
			}
		}
	}
}

// readAgent streams one agent's events into emit until ctx ends,
// reconnecting with exponential backoff (reset after a stream that lasted).
func (r *Reader) readAgent(ctx context.Context, base string, f EventFilters, cl *claims, emit func(nodeEvent)) {
	backoff := r.stream.backoffMin
	for ctx.Err() == nil {
		started := time.Now()
		err := r.streamOnce(ctx, base, f, cl, emit)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errStoodBy) {
			// Another URL of this agent streamed it and stopped: take over now.
			backoff = r.stream.backoffMin
			continue
		}
		if time.Since(started) > r.stream.backoffMax {
			backoff = r.stream.backoffMin
		}
		r.logger.Debug("netlens live stream: agent stream ended", "agent", agentName(base), "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, r.stream.backoffMax)
	}
}

// errNodeFiltered ends an agent's stream when its node is filtered out.
var errNodeFiltered = errors.New("node not among the filter's")

// errStoodBy ends a reader's wait while another URL of its agent streamed.
var errStoodBy = errors.New("another URL of this agent was streaming it")

// claims makes sure one reader streams each agent: an agent reachable at
// several URLs has a reader for each, and all but one stand by, so that
// every event is shown once.
type claims struct {
	mu   sync.Mutex
	held map[agentID]chan struct{} // closed when released
}

// take claims id for the caller (release when done); when another reader
// holds it, release is nil and busy closes when that reader lets go.
func (c *claims) take(id agentID) (release func(), busy <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.held[id]; ok {
		return nil, ch
	}
	ch := make(chan struct{})
	c.held[id] = ch
	return func() {
		c.mu.Lock()
		delete(c.held, id)
		c.mu.Unlock()
		close(ch)
	}, nil
}

// streamOnce runs one event stream of an agent, or stands by while another
// URL of the same agent streams it.
func (r *Reader) streamOnce(ctx context.Context, base string, f EventFilters, cl *claims, emit func(nodeEvent)) error {
	sctx, cancel := context.WithTimeout(ctx, r.timeout)
	st, err := r.status(sctx, base, statusTTL)
	cancel()
	if err != nil {
		return err
	}
	if len(f.Node) > 0 && !slices.Contains(f.Node, st.Node) {
		return errNodeFiltered
	}
	release, busy := cl.take(idOf(st))
	if release == nil {
		select {
		case <-busy:
			return errStoodBy
		case <-ctx.Done():
			return nil
		}
	}
	defer release()
	return r.client(base).Events(ctx, agentFilter(f, false), eventFn(f, st.Node, emit))
}

func agentFilter(f EventFilters, replay bool) api.EventFilter {
	return api.EventFilter{Reasons: f.Reason, Namespaces: f.Namespace, Pods: f.Pod, Replay: replay}
}

// eventFn applies the interface filter (to the device as the table shows it;
// agents before the interface filter reject it, so it is applied here) and
// adds the node.
func eventFn(f EventFilters, node string, emit func(nodeEvent)) func(api.DropEvent) {
	return func(e api.DropEvent) {
		if len(f.Interface) > 0 && !slices.Contains(f.Interface, e.DisplayInterface()) {
			return
		}
		emit(nodeEvent{node: node, e: e})
	}
}

// EventsFrame is the frame of drop events, the same shape for the events
// query and every frame of the live stream (Grafana appends the stream's
// frames to the query's).
func EventsFrame(evs []nodeEvent) *data.Frame {
	n := len(evs)
	ts := make([]time.Time, n)
	cols := make([][]string, 11)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	srcPort, dstPort := make([]uint16, n), make([]uint16, n)
	byts := make([]uint32, n)
	for i, ne := range evs {
		e := ne.e
		ts[i] = e.Time
		for c, v := range []string{ne.node, e.Reason, e.Location, e.Protocol, e.Src.IP, e.Src.Namespace, e.Src.Pod, e.Dst.IP, e.Dst.Namespace, e.Dst.Pod, e.DisplayInterface()} {
			cols[c][i] = v
		}
		srcPort[i], dstPort[i], byts[i] = e.Src.Port, e.Dst.Port, e.Bytes
	}
	f := data.NewFrame("drop events",
		data.NewField("time", nil, ts),
		data.NewField("node", nil, cols[0]),
		data.NewField("reason", nil, cols[1]),
		data.NewField("location", nil, cols[2]),
		data.NewField("protocol", nil, cols[3]),
		data.NewField("src ip", nil, cols[4]),
		data.NewField("src port", nil, srcPort),
		data.NewField("src namespace", nil, cols[5]),
		data.NewField("src pod", nil, cols[6]),
		data.NewField("dst ip", nil, cols[7]),
		data.NewField("dst port", nil, dstPort),
		data.NewField("dst namespace", nil, cols[8]),
		data.NewField("dst pod", nil, cols[9]),
		data.NewField("interface", nil, cols[10]),
		data.NewField("bytes", nil, byts),
	)
	f.Fields[len(f.Fields)-1].Config = &data.FieldConfig{Unit: "decbytes"}
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable}
	return f
}

// Replay collection: an agent sends the events it kept right after the
// stream opens, with no marker where they end; the replay is taken as done
// once the stream has been quiet for replayQuiet (or after replayMax).
const (
	replayQuiet = 300 * time.Millisecond
	replayFirst = time.Second
	replayMax   = 3 * time.Second
	// maxReplayRows bounds the events query's table (the newest are kept).
	maxReplayRows = 1000
)

// eventsQuery returns the agents' recent events (their replay) in rg as a
// table, with Meta.Channel set to the live stream of the same filters so
// that the panel keeps updating through Grafana Live.
func (r *Reader) eventsQuery(ctx context.Context, q models.Query, rg query.Range) backend.DataResponse {
	path, err := EventsPath(q.Filters)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	f, _ := ParseEventsPath(path)
	urls, notices, errResp := r.agentsOrError(ctx)
	if errResp != nil {
		return *errResp
	}
	replay := func(ctx context.Context, a *answer) (struct{}, error) {
		actx, cancel := context.WithTimeout(ctx, replayMax)
		defer cancel()
		// The first quiet period includes connecting.
		quiet := time.AfterFunc(replayFirst, cancel)
		a.events = nil
		err := r.client(a.url).Events(actx, agentFilter(f, true), eventFn(f, a.status.Node, func(ev nodeEvent) {
			quiet.Reset(replayQuiet)
			if (rg.From.IsZero() || !ev.e.Time.Before(rg.From)) && (rg.To.IsZero() || !ev.e.Time.After(rg.To)) {
				a.events = append(a.events, ev)
			}
		}))
		quiet.Stop()
		// Events returns nil when the quiet timer or the cap ends it: the
		// normal end of a replay.
		if err != nil && !errors.Is(err, io.EOF) {
			if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
				// Slow, not unreachable: its other URLs are not asked.
				err = slowError{replayFirst}
			}
			return struct{}{}, err
		}
		return struct{}{}, nil
	}
	fo := r.fanOut(ctx, urls, f.Node, statusTTL, func(ctx context.Context, a *answer) error {
		_, err := retry(ctx, r, func(ctx context.Context) (struct{}, error) { return replay(ctx, a) })
		return err
	}, nil)
	answers := fo.answers
	var all []nodeEvent
	for _, a := range answers {
		all = append(all, a.events...)
	}
	notices = append(notices, fo.notices...)
	msg, failed, ok := failures(answers)
	if ok == 0 {
		return backend.ErrDataResponse(backend.StatusBadGateway, "no agent answered: "+msg)
	}
	if failed > 0 {
		notices = append(notices, msg)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].e.Time.Before(all[j].e.Time) })
	if len(all) > maxReplayRows {
		notices = append(notices, fmt.Sprintf("showing the newest %d of %d recent events", maxReplayRows, len(all)))
		all = all[len(all)-maxReplayRows:]
	}
	fr := EventsFrame(all)
	if r.uid != "" {
		fr.Meta.Channel = "ds/" + r.uid + "/" + path
	} else {
		notices = append(notices, "live updates are off: the data source UID is unknown")
	}
	for _, n := range notices {
		fr.Meta.Notices = append(fr.Meta.Notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: n})
	}
	return backend.DataResponse{Frames: data.Frames{fr}}
}
