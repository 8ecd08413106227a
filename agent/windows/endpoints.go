package windows

import (
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/collector"
)

// Endpoint is a local HNS endpoint (a pod's vNIC on the node's vSwitch).
type Endpoint struct {
	ID   string
	Name string
	// MAC is in HNS's form, 00-15-5D-3A-8F-21 (see NormalizeMAC); "" if unknown.
	MAC string
	IPs []netip.Addr
}

// Interface is the endpoint's interface label: its name, else its ID.
func (e Endpoint) Interface() string {
	if e.Name != "" {
		return e.Name
	}
	return e.ID
}

// NewEndpoint builds an Endpoint from HNS's strings: addresses that do not
// parse are left out (HNS gives "" for an endpoint without IPv4 or IPv6).
func NewEndpoint(id, name, mac string, ips ...string) Endpoint {
	e := Endpoint{ID: id, Name: name, MAC: NormalizeMAC(mac)}
	for _, s := range ips {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			e.IPs = append(e.IPs, a.WithZone("").Unmap())
		}
	}
	return e
}

// HNSStats are an endpoint's counters from hcsshim.GetHNSEndpointStats
// (the JSON names are HNS's). Received is toward the endpoint (the pod's
// ingress), Sent is from it. HNS counts no dropped bytes.
type HNSStats struct {
	PacketsReceived        uint64 `json:"PacketsReceived"`
	PacketsSent            uint64 `json:"PacketsSent"`
	BytesReceived          uint64 `json:"BytesReceived"`
	BytesSent              uint64 `json:"BytesSent"`
	DroppedPacketsIncoming uint64 `json:"DroppedPacketsIncoming"`
	DroppedPacketsOutgoing uint64 `json:"DroppedPacketsOutgoing"`
}

// EndpointStats is an endpoint with its HNS counters.
type EndpointStats struct {
	Endpoint
	Stats HNSStats
}

// HNSSample is the drop sample of an endpoint's HNS counters (ENDPOINT_DROP).
func HNSSample(e EndpointStats) Sample {
	return Sample{Key: e.ID, IPs: e.IPs,
		Ingress: Drop{Packets: e.Stats.DroppedPacketsIncoming},
		Egress:  Drop{Packets: e.Stats.DroppedPacketsOutgoing}}
}

// VFPSample is the drop sample of the VFP counters of an endpoint's port (ACL_DROP).
func VFPSample(e Endpoint, port string, c PortCounters) Sample {
	return Sample{Key: e.ID + "/" + port, IPs: e.IPs, Ingress: c.ACLDrops(In), Egress: c.ACLDrops(Out)}
}

// CollectInterfaces sends each endpoint's packets, bytes and drops as
// interface counters. Endpoints that share a name add up, so no series is
// sent twice.
func CollectInterfaces(eps []EndpointStats, ch chan<- prometheus.Metric) {
	type key struct{ iface, dir string }
	type vals struct{ packets, bytes, dropped uint64 }
	sums := map[key]*vals{}
	var order []key
	add := func(k key, p, b, d uint64) {
		v := sums[k]
		if v == nil {
			v = &vals{}
			sums[k] = v
			order = append(order, k)
		}
		v.packets += p
		v.bytes += b
		v.dropped += d
	}
	for _, e := range eps {
		s := e.Stats
		add(key{e.Interface(), "rx"}, s.PacketsReceived, s.BytesReceived, s.DroppedPacketsIncoming)
		add(key{e.Interface(), "tx"}, s.PacketsSent, s.BytesSent, s.DroppedPacketsOutgoing)
	}
	for _, k := range order {
		v := sums[k]
		ch <- prometheus.MustNewConstMetric(collector.InterfacePacketsDesc, prometheus.CounterValue, float64(v.packets), k.iface, k.dir)
		ch <- prometheus.MustNewConstMetric(collector.InterfaceBytesDesc, prometheus.CounterValue, float64(v.bytes), k.iface, k.dir)
		ch <- prometheus.MustNewConstMetric(collector.InterfaceDroppedDesc, prometheus.CounterValue, float64(v.dropped), k.iface, k.dir)
	}
}
