package previewhost

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/centrifugal/centrifuge"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// live is Grafana Live as the plugin's frontend reaches it: a centrifuge
// node on /api/live/ws whose channels are "<org>/ds/<uid>/<path>". The first
// subscriber of a channel makes the host ask the data source's
// SubscribeStream and start its RunStream, whose packets (data frames as
// JSON) are published to the channel; the stream is stopped when the last
// subscriber leaves, as Grafana's stream manager does.
type live struct {
	s    *Server
	node *centrifuge.Node

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	streams map[string]*stream
	wg      sync.WaitGroup
}

type stream struct {
	subscribers int
	cancel      context.CancelFunc
}

// restartDelay is how long a stream that the plugin ended waits before it is
// run again for the subscribers that remain.
const restartDelay = time.Second

func newLive(s *Server) (*live, error) {
	node, err := centrifuge.New(centrifuge.Config{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &live{s: s, node: node, ctx: ctx, cancel: cancel, streams: map[string]*stream{}}
	node.OnConnect(func(c *centrifuge.Client) {
		c.OnSubscribe(func(e centrifuge.SubscribeEvent, cb centrifuge.SubscribeCallback) {
			reply, err := l.subscribe(e.Channel)
			cb(reply, err)
		})
		// Called exactly once for every subscribe the handler allowed.
		c.OnUnsubscribe(func(e centrifuge.UnsubscribeEvent) { l.unsubscribed(e.Channel) })
	})
	if err := node.Run(); err != nil {
		cancel()
		return nil, err
	}
	return l, nil
}

// handler serves the WebSocket endpoint; every connection is the host's one
// user, as a signed-in Grafana user's would be.
func (l *live) handler() http.Handler {
	ws := centrifuge.NewWebsocketHandler(l.node, centrifuge.WebsocketConfig{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := centrifuge.SetCredentials(r.Context(), &centrifuge.Credentials{UserID: "1"})
		ws.ServeHTTP(w, r.WithContext(ctx))
	})
}

// subscribe admits a subscription to channel when the data source accepts
// its path, and starts the channel's stream for its first subscriber.
func (l *live) subscribe(channel string) (centrifuge.SubscribeReply, error) {
	pCtx, path, err := l.parse(channel)
	if err != nil {
		return centrifuge.SubscribeReply{}, err
	}
	ctx, cancel := context.WithTimeout(l.ctx, callTimeout)
	defer cancel()
	resp, err := l.s.backend.SubscribeStream(ctx, &backend.SubscribeStreamRequest{PluginContext: pCtx, Path: path})
	if err != nil {
		log.Printf("live: subscribe %s: %v", channel, err)
		return centrifuge.SubscribeReply{}, centrifuge.ErrorInternal
	}
	switch resp.Status {
	case backend.SubscribeStreamStatusOK:
	case backend.SubscribeStreamStatusPermissionDenied:
		return centrifuge.SubscribeReply{}, centrifuge.ErrorPermissionDenied
	default:
		return centrifuge.SubscribeReply{}, centrifuge.ErrorUnknownChannel
	}
	var reply centrifuge.SubscribeReply
	if resp.InitialData != nil {
		reply.Options.Data = resp.InitialData.Data()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[channel]
	if st == nil {
		sctx, scancel := context.WithCancel(l.ctx)
		st = &stream{cancel: scancel}
		l.streams[channel] = st
		l.wg.Add(1)
		go l.run(sctx, channel, pCtx, path)
	}
	st.subscribers++
	return reply, nil
}

// run runs the channel's stream until ctx ends, again after restartDelay
// whenever the plugin ends it.
func (l *live) run(ctx context.Context, channel string, pCtx backend.PluginContext, path string) {
	defer l.wg.Done()
	for {
		err := l.s.backend.RunStream(ctx, &backend.RunStreamRequest{PluginContext: pCtx, Path: path}, func(pkt []byte) error {
			if _, err := l.node.Publish(channel, pkt); err != nil {
				log.Printf("live: publish %s: %v", channel, err)
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		log.Printf("live: stream %s ended (%v), running it again in %s", channel, err, restartDelay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(restartDelay):
		}
	}
}

// unsubscribed stops the channel's stream when its last subscriber left.
func (l *live) unsubscribed(channel string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[channel]
	if st == nil {
		return
	}
	if st.subscribers--; st.subscribers <= 0 {
		st.cancel()
		delete(l.streams, channel)
	}
}

// running is the number of channels whose stream runs.
func (l *live) running() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.streams)
}

// parse reads a channel "<org>/ds/<uid>/<path>": org 1 (the host's only
// one), a data source of this host, and the path for its stream.
func (l *live) parse(channel string) (backend.PluginContext, string, error) {
	parts := strings.SplitN(channel, "/", 4)
	if len(parts) != 4 || parts[0] != "1" || parts[1] != "ds" || parts[3] == "" {
		return backend.PluginContext{}, "", centrifuge.ErrorUnknownChannel
	}
	pCtx, err := l.s.pluginContextOf(parts[2])
	switch {
	case errors.Is(err, errUnknownDataSource), errors.Is(err, errNoBackend):
		return backend.PluginContext{}, "", centrifuge.ErrorUnknownChannel
	case err != nil:
		return backend.PluginContext{}, "", fmt.Errorf("channel %s: %w", channel, err)
	}
	return pCtx, parts[3], nil
}

func (l *live) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.node.Shutdown(ctx)
	l.cancel()
	l.wg.Wait()
}
