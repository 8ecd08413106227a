package dashgen

import (
	"github.com/netlens/netlens/pkg/models"
)

// The definitions below are the single source of every Netlens dashboard: the
// generator writes each in the three flavours (model.go).

// filters are the given variables as filters: {"node": ["$node"], ...}.
func filters(labels ...string) models.Filters {
	var f models.Filters
	for _, l := range labels {
		v := []string{"$" + l}
		switch l {
		case "cluster":
			f.Cluster = v
		case "node":
			f.Node = v
		case "namespace":
			f.Namespace = v
		case "pod":
			f.Pod = v
		case "reason":
			f.Reason = v
		case "interface":
			f.Interface = v
		default:
			panic("dashgen: no filter " + l)
		}
	}
	return f
}

func q(t models.QueryType, groupBy []string, f models.Filters) models.Query {
	rate := true
	return models.Query{QueryType: t, GroupBy: groupBy, Filters: f, Value: "packets", Rate: &rate}
}

func bytesQ(t models.QueryType, groupBy []string, f models.Filters) models.Query {
	m := q(t, groupBy, f)
	m.Value = "bytes"
	return m
}

func by(labels ...string) []string { return labels }

// Dashboards are the Netlens dashboards, in the order of their files.
var Dashboards = []Dashboard{drops, nic, overview}

// Filters of the drops dashboard's node-level and pod-level queries.
var (
	dropFilters = filters("cluster", "node", "reason")
	podFilters  = filters("cluster", "node", "namespace", "pod", "reason")
)

var drops = Dashboard{
	File:  "drops.json",
	UID:   "netlens-drops",
	Title: "Netlens / Drops",
	Description: "Packets the kernel dropped on the nodes, by the kernel's own drop reason, by node, namespace and pod, " +
		"with each reason explained.",
	Tags:      []string{"drops"},
	Variables: []string{"cluster", "node", "namespace", "pod", "reason"},
	Refresh:   "1m",
	Panels: []Panel{
		{
			ID: 1, Kind: TimeSeries, W: 16, H: 9, Stack: true,
			Title: "Drop rate by reason",
			Description: "Packets the kernel dropped per second on the selected nodes, stacked by the kernel's drop reason. " +
				"A reason that rises is where to look: the table \"Drop reasons explained\" says what it means and what to check. " +
				"Click a series to filter by its reason or to open it on the Netlens app's Drops page.",
			Queries: []Query{{Q: q(models.QueryDrops, by("reason"), dropFilters), Legend: "{{reason}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"reason"}},
		},
		{
			ID: 2, Kind: TimeSeries, W: 8, H: 9,
			Title: "Drop rate by node",
			Description: "Packets dropped per second on each node (all selected reasons). One node far above the others points " +
				"at that node (its NIC, its kernel, its pods); all nodes rising together points at traffic or policy changes. " +
				"Click a series to filter by the node.",
			Queries: []Query{{Q: q(models.QueryDrops, by("node"), dropFilters), Legend: "{{node}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"node"}},
		},
		{
			ID: 3, Kind: TimeSeries, W: 12, H: 9, Stack: true,
			Title: "Pod drop rate by namespace",
			Description: "Dropped packets per second attributed to pods (sent by them or addressed to them), by namespace. " +
				"A namespace losing packets to NETFILTER_DROP usually has a network policy that denies the traffic; " +
				"see the top pods table for which pods and directions. Click a series to filter by the namespace.",
			Queries: []Query{{Q: q(models.QueryPodDrops, by("namespace"), podFilters), Legend: "{{namespace}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"namespace"}},
		},
		{
			ID: 4, Kind: TimeSeries, W: 12, H: 9,
			Title: "Dropped bytes by reason",
			Description: "Bytes of the dropped packets per second, by drop reason: large packets dropped (MTU, buffer limits) " +
				"show here more than in the packet rate. Zero while packets are dropped means the agent counts drops with the " +
				"classic tracepoint, which carries no length (netlens_agent_info's drop_source label).",
			Queries: []Query{{Q: bytesQ(models.QueryDrops, by("reason"), dropFilters), Legend: "{{reason}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"reason"}},
		},
		{
			ID: 5, Kind: Ranking, W: 24, H: 10, Limit: 20,
			Title: "Top pods by drops",
			Description: "The pods losing the most packets over the time range, by direction (egress: sent by the pod, " +
				"ingress: addressed to it) and drop reason: mean and peak drops per second. Check the network policies " +
				"selecting the pod and its peer for NETFILTER_DROP, the pod's listening ports for NO_SOCKET. " +
				"Click a row to filter by the pod.",
			Queries: []Query{{Q: q(models.QueryPodDrops, by("namespace", "pod", "direction", "reason"), podFilters)}},
			Drill:   &Drill{Page: "drops", Labels: []string{"namespace", "pod"}},
		},
		{
			ID: 6, Kind: TimeSeries, W: 24, H: 9,
			Title: "Drop rate by kernel function and protocol",
			Description: "Packets dropped per second by the kernel function that dropped them (location) and the protocol. " +
				"The function narrows a reason down (nf_hook_slow: netfilter; tcp_v4_rcv: TCP receive; " +
				"__netif_receive_skb_core: no handler for the protocol). Compare with `perf script` of skb:kfree_skb on the node.",
			Queries: []Query{{Q: q(models.QueryDrops, by("location", "protocol"), dropFilters), Legend: "{{location}} {{protocol}}"}},
		},
		{
			ID: 7, Kind: Reasons, W: 24, H: 12,
			Title: "Drop reasons explained",
			Description: "Every drop reason seen in the time range with what it means, its likely cause and what to check " +
				"(Netlens's reason catalog), and its drops per second. Click a reason to see where it drops.",
			Queries: []Query{{Q: q(models.QueryDrops, by("reason"), dropFilters), Legend: "{{reason}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"reason"}},
		},
	},
}

// Filters of the NIC dashboard.
var nicFilters = filters("cluster", "node", "interface")

var nic = Dashboard{
	File:  "nic.json",
	UID:   "netlens-nic",
	Title: "Netlens / NIC receive pressure",
	Description: "NIC receive pressure (Rx cache full, receive buffers exhausted), interface drops and errors, softnet " +
		"backlog drops and time squeeze, on one time axis with the kernel drop rate: the crosshair is shared, so a burst " +
		"of NIC pressure lines up with the drops it causes.",
	Tags:      []string{"nic"},
	Variables: []string{"cluster", "node", "interface"},
	Refresh:   "1m",
	Panels: []Panel{
		{
			ID: 1, Kind: TimeSeries, W: 24, H: 10, Unit: "pps", DashedPrefix: "kernel drops",
			Title: "NIC receive pressure and kernel drops",
			Description: "NIC receive pressure per node (Rx cache full events and packets lost for lack of receive buffers, " +
				"all interfaces) overlaid with the kernel's drop rate (dashed), per second on one axis. Pressure rising with " +
				"drops: the node receives faster than it hands buffers back to the NIC; check the panels below for the " +
				"interface and counter, then ring sizes (`ethtool -g`), IRQ/CPU spread (`/proc/interrupts`) and the softnet panel.",
			Queries: []Query{
				{Q: q(models.QueryNIC, by("node"), filters("cluster", "node", "interface")), Keys: []string{"rx_buffer_exhausted", "rx_cache_full"}},
				{Q: q(models.QueryDrops, by("node"), filters("cluster", "node")), Legend: "kernel drops {{node}}"},
			},
			Drill: &Drill{Page: "nic", Labels: []string{"node"}},
		},
		{
			ID: 2, Kind: TimeSeries, W: 12, H: 9,
			Title: "Rx cache full by node and interface",
			Description: "mlx5's Rx cache full events per second (Azure accelerated networking on older VM sizes): the driver's " +
				"page cache for receive buffers was full, a sign of receive pressure rather than a drop. Empty on other NICs " +
				"and on kernels from 6.4 (mlx5 removed the counter); use the buffer-exhausted panel there. " +
				"Click a series to open the interface on the Netlens app's NIC page.",
			Queries: []Query{{Q: q(models.QueryNIC, by("node", "interface"), nicFilters), Keys: []string{"rx_cache_full"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node", "interface"}},
		},
		{
			ID: 3, Kind: TimeSeries, W: 12, H: 9,
			Title: "Receive buffers exhausted by node, interface and counter",
			Description: "Packets per second the NIC lost because it had no receive buffer, per driver counter " +
				"(rx_out_of_buffer, hc_rx_discards_no_wqe, rx_no_memory, rx_missed_errors, ...; docs/nic.md). Any rise is " +
				"packet loss before the kernel sees the packet: enlarge the receive ring (`ethtool -G <if> rx <n>`), spread " +
				"interrupts over more CPUs, or move the workload. Do not add counters up: drivers report some twice.",
			Queries: []Query{{Q: q(models.QueryNIC, by("node", "interface", "counter"), nicFilters), Keys: []string{"rx_buffer_exhausted"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node", "interface"}},
		},
		{
			ID: 4, Kind: TimeSeries, W: 12, H: 9,
			Title: "Interface drops and errors",
			Description: "The kernel's interface statistics per second (what `ip -s link` shows): packets dropped and errors, " +
				"per node, interface and direction. rx dropped without NIC pressure points at the stack (no protocol handler, " +
				"full backlog); errors point at the link or driver.",
			Queries: []Query{{Q: q(models.QueryInterfaces, by("node", "interface"), nicFilters), Keys: []string{"dropped", "errors"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node", "interface"}},
		},
		{
			ID: 5, Kind: TimeSeries, W: 12, H: 9,
			Title: "Ethtool drop and error statistics",
			Description: "The driver's own ethtool statistics about drops, errors and buffers (`ethtool -S`, queues summed), " +
				"per second. Read the names with the driver's documentation (docs/nic.md has the common ones); a statistic " +
				"rising together with the kernel drop rate is the one to follow.",
			Queries: []Query{{Q: q(models.QueryNIC, by("node", "interface"), nicFilters), Keys: []string{"nic_stat", "interface_stats"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node", "interface"}},
		},
		{
			ID: 6, Kind: TimeSeries, W: 12, H: 9,
			Title: "Softnet backlog drops and time squeeze",
			Description: "Per node, from /proc/net/softnet_stat: packets dropped because a CPU's input backlog was full " +
				"(raise net.core.netdev_max_backlog, spread receive work with RPS/RSS) and time squeezes, when the receive " +
				"softirq ran out of budget with packets left (raise net.core.netdev_budget / netdev_budget_usecs).",
			Queries: []Query{{Q: q(models.QueryNetstat, by("node"), filters("cluster", "node")), Keys: []string{"softnet_dropped", "softnet_time_squeeze"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node"}},
		},
		{
			ID: 7, Kind: TimeSeries, W: 12, H: 9,
			Title: "Kernel drop rate by node and reason",
			Description: "Packets the kernel dropped per second, by node and reason, on the same time axis as the NIC panels: " +
				"drops that start with NIC pressure are receive-side losses; drops without it are decided by the stack " +
				"(policies, sockets). Click a series to open it on the Netlens app's Drops page.",
			Queries: []Query{{Q: q(models.QueryDrops, by("node", "reason"), filters("cluster", "node")), Legend: "{{node}} {{reason}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"node", "reason"}},
		},
	},
}

// Filters of the overview.
var clusterFilters = filters("cluster")

var overview = Dashboard{
	File:  "overview.json",
	UID:   "netlens-overview",
	Title: "Netlens / Cluster overview",
	Description: "The cluster at a glance: drop rate and reasons, the namespaces and nodes losing the most packets, NIC " +
		"receive pressure, host stack drops and whether every agent reports with all its collectors working.",
	Tags:      []string{"overview"},
	Variables: []string{"cluster"},
	Refresh:   "1m",
	Panels: []Panel{
		{
			ID: 1, Kind: Stat, W: 6, H: 5,
			Title: "Packet drops per second",
			Description: "Packets the kernel dropped per second over all nodes of the selected clusters: latest value and trend. " +
				"Not zero is normal (every host drops some packets); a step up is not. Open Netlens / Drops to see where.",
			Queries: []Query{{Q: q(models.QueryDrops, nil, clusterFilters), Legend: "drops"}},
		},
		{
			ID: 2, Kind: Stat, W: 6, H: 5,
			Title: "NIC receive pressure per second",
			Description: "NIC receive events per second that found the Rx cache full, and packets lost for lack of receive " +
				"buffers, over all nodes. Should be zero; anything else means packet loss or pressure at the NIC: open " +
				"Netlens / NIC receive pressure.",
			Queries: []Query{{Q: q(models.QueryNIC, nil, clusterFilters), Keys: []string{"rx_buffer_exhausted", "rx_cache_full"}}},
		},
		{
			ID: 3, Kind: AgentCount, W: 4, H: 5,
			Title: "Agents reporting",
			Description: "Netlens agents (nodes) reporting now. Fewer than the cluster's nodes: an agent is not running or not " +
				"scraped on the missing nodes (`kubectl -n netlens get pods -o wide`, Prometheus's targets page).",
			Queries: []Query{{Q: models.Query{QueryType: models.QueryNodes, Filters: clusterFilters}}},
		},
		{
			ID: 4, Kind: Agents, W: 8, H: 5,
			Title: "Agents",
			Description: "Each agent now: node, cluster, version, kernel, the drop source in use and its collectors that are " +
				"down. A collector down means a metric family is missing on that node: the agent's log and /api/v1/status " +
				"say why (missing capability, kernel without the hook, nf_conntrack not loaded).",
			Queries: []Query{{Q: models.Query{QueryType: models.QueryNodes, Filters: clusterFilters}}},
		},
		{
			ID: 5, Kind: TimeSeries, W: 24, H: 9, Stack: true,
			Title: "Cluster drop rate by reason",
			Description: "Packets dropped per second over all nodes, stacked by the kernel's drop reason. Compare the reasons' " +
				"shares over time: a new reason, or one that grows, is the change to explain (Netlens / Drops explains each). " +
				"Click a series to open the reason on the Drops dashboard.",
			Queries: []Query{{Q: q(models.QueryDrops, by("reason"), clusterFilters), Legend: "{{reason}}"}},
			Drill:   &Drill{Page: "drops", Labels: []string{"reason"}},
		},
		{
			ID: 6, Kind: Ranking, W: 12, H: 9, Limit: 10,
			Title: "Top namespaces by drops",
			Description: "Namespaces whose pods lose the most packets (sent or received): mean and peak drops per second over " +
				"the time range. Click a row to open the namespace on the Drops dashboard.",
			Queries: []Query{{Q: q(models.QueryPodDrops, by("namespace"), clusterFilters)}},
			Drill:   &Drill{Page: "drops", Labels: []string{"namespace"}},
		},
		{
			ID: 7, Kind: Ranking, W: 12, H: 9, Limit: 10,
			Title: "Top nodes by drops",
			Description: "Nodes that drop the most packets (all reasons, pods or not): mean and peak per second over the time " +
				"range. One node on top by far: look at its NIC and host stack panels. Click a row to open the node on the " +
				"Drops dashboard.",
			Queries: []Query{{Q: q(models.QueryDrops, by("node"), clusterFilters)}},
			Drill:   &Drill{Page: "drops", Labels: []string{"node"}},
		},
		{
			ID: 8, Kind: TimeSeries, W: 12, H: 9,
			Title: "NIC receive pressure per node",
			Description: "Rx cache full events and packets lost for lack of receive buffers, per second and node. A node here " +
				"receives faster than it can hand buffers back to its NIC: open Netlens / NIC receive pressure for the " +
				"interface and counter.",
			Queries: []Query{{Q: q(models.QueryNIC, by("node"), clusterFilters), Keys: []string{"rx_buffer_exhausted", "rx_cache_full"}}},
			Drill:   &Drill{Page: "nic", Labels: []string{"node"}},
		},
		{
			ID: 9, Kind: TimeSeries, W: 12, H: 9,
			Title: "Host stack drops",
			Description: "Drop and error counters of the kernel's network stack per second, over all nodes: netstat/SNMP " +
				"counters (TcpExt ListenOverflows, Udp RcvbufErrors, ...) and softnet backlog drops. The legend is sorted by " +
				"peak; docs/host-stack.md says what each counter means and which sysctl or application setting to check.",
			Queries: []Query{{Q: q(models.QueryNetstat, nil, clusterFilters), Keys: []string{"netstat", "softnet_dropped", "tcp", "ip"}}},
		},
	},
}
