package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one agent's API: the data source's direct mode and
// `netlens-agent observe` use it.
type Client struct {
	// BaseURL is the agent's address, e.g. http://10.0.0.4:10095.
	BaseURL string
	// Token is the bearer token, "" when the agent's API is open.
	Token string
	// HTTP is the client to use (timeouts, TLS); nil is http.DefaultClient.
	// Event streams run until their context ends, so its Timeout must be 0.
	HTTP *http.Client
}

// StatusError is an answer other than 200, with the agent's explanation.
type StatusError struct {
	Code    int
	Message string
	// RetryAfter is the answer's Retry-After (429, 503), 0 when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string { return fmt.Sprintf("agent answered %d: %s", e.Code, e.Message) }

func (c *Client) get(ctx context.Context, path string, q url.Values, accept string) (*http.Response, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e Error
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		return nil, &StatusError{Code: resp.StatusCode, Message: e.Error, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return resp, nil
}

// maxRetryAfterSeconds bounds the Retry-After a client takes: a day.
const maxRetryAfterSeconds = 86400

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		// Bounded, so that a huge value does not overflow a Duration.
		return time.Duration(min(max(n, 0), maxRetryAfterSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.get(ctx, path, q, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// Status fetches GET /api/v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	return st, c.getJSON(ctx, "/api/v1/status", nil, &st)
}

// Series fetches GET /api/v1/series for the selectors between start and end.
func (c *Client) Series(ctx context.Context, selectors []string, start, end time.Time) (SeriesResponse, error) {
	q := url.Values{"match": selectors}
	q.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	q.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	var r SeriesResponse
	return r, c.getJSON(ctx, "/api/v1/series", q, &r)
}

// EventFilter selects events on the agent; empty fields match everything.
type EventFilter struct {
	Reasons, Namespaces, Pods []string
	// Interfaces match DropEvent.DisplayInterface exactly.
	Interfaces []string
	// Replay asks for the events the agent kept before the stream opened.
	Replay bool
}

// ErrSlowClient is the agent disconnecting a stream that fell behind.
var ErrSlowClient = errors.New("the agent disconnected this stream for reading too slowly")

// Events streams GET /api/v1/events, calling fn for each event, until ctx
// ends (nil), the agent ends the stream (io.EOF, ErrSlowClient) or fails.
func (c *Client) Events(ctx context.Context, f EventFilter, fn func(DropEvent)) error {
	q := url.Values{}
	for k, v := range map[string][]string{"reason": f.Reasons, "namespace": f.Namespaces, "pod": f.Pods, "interface": f.Interfaces} {
		if len(v) > 0 {
			q.Set(k, strings.Join(v, ","))
		}
	}
	if f.Replay {
		q.Set("replay", "true")
	}
	resp, err := c.get(ctx, "/api/v1/events", q, "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			event = ""
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data := strings.TrimPrefix(line, "data: ")
			if event == "error" {
				if strings.Contains(data, "too slow") {
					return ErrSlowClient
				}
				return fmt.Errorf("agent ended the stream: %s", data)
			}
			var e DropEvent
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return fmt.Errorf("bad event from the agent: %w", err)
			}
			fn(e)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}
