package windows

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"

	"github.com/netlens/netlens/agent/metadata"
)

// endpointStateAttachedSharing is HNS's endpoint state of a running pod's
// endpoint (attached and shared by the pod's containers); other states are
// created, detached, degraded or destroyed endpoints.
const endpointStateAttachedSharing = 3

// hostHNS reads the node's HNS through hcsshim.
type hostHNS struct {
	query hcn.HostComputeQuery
}

func newHostHNS() *hostHNS {
	return &hostHNS{query: hcn.HostComputeQuery{
		SchemaVersion: hcn.SchemaVersion{Major: 2, Minor: 0},
		Flags:         hcn.HostComputeQueryFlagsNone,
		Filter:        fmt.Sprintf(`{"State":%d}`, endpointStateAttachedSharing),
	}}
}

// Endpoints lists the local endpoints of running pods (HNS schema v2); remote
// endpoints (other nodes' pods on overlay networks) are left out.
func (h *hostHNS) Endpoints(ctx context.Context) ([]Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := hcn.ListEndpointsQuery(h.query)
	if err != nil {
		return nil, fmt.Errorf("hcn.ListEndpointsQuery: %w", err)
	}
	eps := make([]Endpoint, 0, len(list))
	for _, e := range list {
		if e.Flags&hcn.EndpointFlagsRemoteEndpoint != 0 {
			continue
		}
		ips := make([]string, 0, len(e.IpConfigurations))
		for _, c := range e.IpConfigurations {
			ips = append(ips, c.IpAddress)
		}
		eps = append(eps, NewEndpoint(e.Id, e.Name, e.MacAddress, ips...))
	}
	return eps, nil
}

// Stats reads an endpoint's counters with hcsshim.GetHNSEndpointStats (HNS
// offers no cancellation; ctx is checked before the call).
func (h *hostHNS) Stats(ctx context.Context, id string) (HNSStats, error) {
	if err := ctx.Err(); err != nil {
		return HNSStats{}, err
	}
	s, err := hcsshim.GetHNSEndpointStats(id)
	if err != nil {
		return HNSStats{}, fmt.Errorf("hcsshim.GetHNSEndpointStats: %w", err)
	}
	if s == nil {
		return HNSStats{}, fmt.Errorf("hcsshim.GetHNSEndpointStats: no stats")
	}
	return HNSStats{
		PacketsReceived: s.PacketsReceived, PacketsSent: s.PacketsSent,
		BytesReceived: s.BytesReceived, BytesSent: s.BytesSent,
		DroppedPacketsIncoming: s.DroppedPacketsIncoming, DroppedPacketsOutgoing: s.DroppedPacketsOutgoing,
	}, nil
}

// NewHNSCollector returns the collector of the node's HNS endpoint stats
// (collector "hns").
func NewHNSCollector(logger *slog.Logger, pods metadata.Source) *HNSCollector {
	return NewHNSCollectorWith(newHostHNS(), pods, logger)
}

// NewVFPCollector returns the collector of the VFP port counters of the
// node's HNS endpoints, read with vfpctrl (collector "vfp").
func NewVFPCollector(logger *slog.Logger, pods metadata.Source) *VFPCollector {
	return NewVFPCollectorWith(newHostHNS(), RunVfpctrl, pods, logger)
}
