// Package grafanahost plays Grafana's part towards a backend plugin binary: it
// starts the executable with hashicorp/go-plugin using Grafana's handshake
// (magic cookie grafana_plugin_type=datasource, protocol version 2, gRPC only),
// passes instance settings in the plugin context the way Grafana does, and
// calls CheckHealth, QueryData, CallResource, SubscribeStream and RunStream.
// Tests of the data source use it on the binary that `mage -v` built, so they
// test what ships.
package grafanahost

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/netlens/netlens/tests/testenv"
)

// GrafanaVersion is what the host claims to be, in GF_VERSION and the plugin context.
const GrafanaVersion = "13.1.0"

// Host is a running plugin process and its gRPC clients.
type Host struct {
	client      *goplugin.Client
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	stream      grpcplugin.StreamClient
	logs        *testenv.SyncBuffer
}

// Start launches binary as Grafana does and returns a connected host. The
// process is killed in t.Cleanup; its log is printed if the test failed.
// env adds variables (KEY=value) to the plugin's environment.
func Start(t testing.TB, binary string, env ...string) *Host {
	t.Helper()
	logs := &testenv.SyncBuffer{}
	h, err := Launch(binary, logs, env...)
	if err != nil {
		t.Fatalf("%v\nplugin log:\n%s", err, logs.String())
	}
	h.logs = logs
	t.Cleanup(func() {
		h.Kill()
		if t.Failed() {
			t.Logf("plugin log:\n%s", logs.String())
		}
	})
	return h
}

// Launch starts binary as Grafana does, its log going to logs, and returns a
// connected host; Kill ends it. For hosts that are not tests (the preview
// host); tests use Start.
func Launch(binary string, logs io.Writer, env ...string) (*Host, error) {
	cmd := exec.Command(binary)
	// Grafana passes its own environment plus GF_* settings for the plugin.
	cmd.Env = append(append(os.Environ(), "GF_VERSION="+GrafanaVersion), env...)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd: cmd,
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
				"stream":      &grpcplugin.StreamGRPCPlugin{},
			},
		},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: logs, Level: hclog.Debug,
		}),
		StartTimeout: 30 * time.Second,
	})
	h := &Host{client: client}
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("starting plugin %s: %w", binary, err)
	}
	var clients [4]any
	for i, name := range []string{"diagnostics", "resource", "data", "stream"} {
		if clients[i], err = rpc.Dispense(name); err != nil {
			client.Kill()
			return nil, fmt.Errorf("dispensing %s: %w", name, err)
		}
	}
	h.diagnostics = clients[0].(grpcplugin.DiagnosticsClient)
	h.resource = clients[1].(grpcplugin.ResourceClient)
	h.data = clients[2].(grpcplugin.DataClient)
	h.stream = clients[3].(grpcplugin.StreamClient)
	return h, nil
}

// Kill ends the plugin process.
func (h *Host) Kill() { h.client.Kill() }

// Exited reports whether the plugin process has ended.
func (h *Host) Exited() bool { return h.client.Exited() }

// Logs returns what the plugin logged so far (of a host from Start).
func (h *Host) Logs() string {
	if h.logs == nil {
		return ""
	}
	return h.logs.String()
}

// DataSource describes a data source instance as Grafana stores it.
type DataSource struct {
	UID      string
	Name     string
	URL      string
	JSONData string
	Secure   map[string]string
	// BasicAuthUser enables Grafana's basic auth toggle when set.
	BasicAuthUser string
}

// PluginContext returns the context Grafana sends with every call for ds.
func (ds DataSource) PluginContext(pluginID string) backend.PluginContext {
	name := ds.Name
	if name == "" {
		name = ds.UID
	}
	return backend.PluginContext{
		OrgID:         1,
		PluginID:      pluginID,
		PluginVersion: "test",
		User:          &backend.User{Login: "admin", Name: "admin", Role: "Admin"},
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID:                      1,
			UID:                     ds.UID,
			Name:                    name,
			Type:                    pluginID,
			URL:                     ds.URL,
			JSONData:                []byte(ds.JSONData),
			DecryptedSecureJSONData: ds.Secure,
			BasicAuthEnabled:        ds.BasicAuthUser != "",
			BasicAuthUser:           ds.BasicAuthUser,
			Updated:                 ds.updated(),
		},
		GrafanaConfig: backend.NewGrafanaCfg(map[string]string{}),
	}
}

// updated is when Grafana last saved ds, as the plugin sees it: it changes
// when the settings do, and only then, as in Grafana (the SDK recreates the
// instance whenever it changes, so a new value per call would make every
// call start a new instance).
func (ds DataSource) updated() time.Time {
	h := fnv.New64a()
	fmt.Fprintf(h, "%q %q %q %q", ds.UID, ds.URL, ds.JSONData, ds.BasicAuthUser)
	keys := slices.Sorted(maps.Keys(ds.Secure))
	for _, k := range keys {
		fmt.Fprintf(h, " %q=%q", k, ds.Secure[k])
	}
	return time.Unix(1_600_000_000+int64(h.Sum64()%(1<<30)), 0).UTC()
}

// CheckHealth calls the plugin's health check ("Save & test" in Grafana).
func (h *Host) CheckHealth(ctx context.Context, pCtx backend.PluginContext) (*backend.CheckHealthResult, error) {
	resp, err := h.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{
		PluginContext: backend.ToProto().PluginContext(pCtx),
	})
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

// QueryData runs queries as a panel or alert rule would.
func (h *Host) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp, err := h.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().QueryDataResponse(resp)
}

// CallResource calls a resource and collects the streamed response into one.
func (h *Host) CallResource(ctx context.Context, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	stream, err := h.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(req))
	if err != nil {
		return nil, err
	}
	var out *backend.CallResourceResponse
	for {
		part, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		r := backend.FromProto().CallResourceResponse(part)
		if out == nil {
			out = r
			continue
		}
		out.Body = append(out.Body, r.Body...)
	}
	if out == nil {
		return nil, errors.New("resource call returned no response")
	}
	return out, nil
}

// SubscribeStream asks whether the plugin accepts a Grafana Live channel path.
func (h *Host) SubscribeStream(ctx context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	resp, err := h.stream.SubscribeStream(ctx, backend.ToProto().SubscribeStreamRequest(req))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().SubscribeStreamResponse(resp), nil
}

// RunStream runs a channel's stream, handing each packet's JSON to onPacket
// until onPacket returns an error, ctx ends or the plugin ends the stream.
// A plugin that ends the stream with an error returns that error.
func (h *Host) RunStream(ctx context.Context, req *backend.RunStreamRequest, onPacket func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := h.stream.RunStream(ctx, backend.ToProto().RunStreamRequest(req))
	if err != nil {
		return err
	}
	for {
		pkt, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("stream %q: %w", req.Path, err)
		}
		if err := onPacket(pkt.Data); err != nil {
			return err
		}
	}
}
