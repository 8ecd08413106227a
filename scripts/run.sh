#!/usr/bin/env bash
# Builds Netlens and runs the local stack until Ctrl-C (SIGINT) or SIGTERM:
#   - a small lab: network namespaces "client" and "server" (pods of namespace
#     netlens-demo) on a bridge, a deny rule on the server for UDP port 5432
#     (a "network policy") and traffic that hits it 10 times a second, plus
#     allowed pings, so drops with the kernel's reason NETFILTER_DROP never stop;
#   - netlens-agent on this host, naming the lab's pods from a pods file;
#   - Prometheus scraping the agent every 5s (job netlens);
#   - Grafana with provisioning/ and the plugin in dist/, if a grafana binary or
#     a Docker daemon is available; otherwise Netlens's preview host
#     (tests/previewhost, not Grafana) serving the plugin on the same port;
#   - in the foreground, `netlens-agent observe`: the agent's drops as they happen.
# With --cluster, the stack is cluster-shaped: a real Kubernetes control plane
# (etcd and kube-apiserver, built once by scripts/build-controlplane.sh) with
# the Helm chart installed, the lab's pods as Pod objects, the deny rule a real
# NetworkPolicy that kube-router's firewall enforces in the lab's node
# namespace (tests/controlplane/cmd/netlens-cluster), and the agent naming the
# pods from the API server with the chart's ServiceAccount token.
# Stopping removes everything it made: processes, namespaces (with their links
# and rules), temporary files. Nothing is added to the host's own network.
#
# Environment:
#   NETLENS_LISTEN_ADDRESS      agent address (default :10095)
#   NETLENS_PROMETHEUS_ADDRESS  Prometheus address (default :9090)
#   NETLENS_GRAFANA_PORT        Grafana's (or the preview host's) port (default 3000)
#   NETLENS_AGENT_BINARY        use this agent binary instead of building bin/netlens-agent
#   NETLENS_RUN_SKIP_BUILD=1    skip setup and builds when the agent binary and dist/ exist
# cleanup and stop run from traps, which shellcheck cannot see:
# shellcheck disable=SC2317
set -euo pipefail
# bash cannot trap a signal that was ignored when it started, as SIGINT is for
# a command started in the background by a script (`run.sh &`): start again
# with SIGINT at its default, so that Ctrl-C or kill -INT still cleans up.
read -r _ ignored < <(grep '^SigIgn:' /proc/$$/status)
if ((16#$ignored & 2)) && env --default-signal=INT true 2>/dev/null; then
  exec env --default-signal=INT bash "$0" "$@"
fi
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"
cd "$REPO_ROOT"

agent_addr=${NETLENS_LISTEN_ADDRESS:-:10095}
prom_addr=${NETLENS_PROMETHEUS_ADDRESS:-:9090}
grafana_port=${NETLENS_GRAFANA_PORT:-3000}
agent_bin=${NETLENS_AGENT_BINARY:-bin/netlens-agent}
demo_ns=netlens-demo
deny_port=5432

die() { echo "run: $*" >&2; exit 1; }
cluster=0
for arg in "$@"; do
  case $arg in
    --cluster) cluster=1 ;;
    *) die "unknown argument ${arg} (the one option is --cluster)" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "needs root (the agent loads eBPF programs, the lab makes network namespaces)"

# --- build -------------------------------------------------------------------
if [[ ${NETLENS_RUN_SKIP_BUILD:-} == 1 && -x $agent_bin && -d dist ]]; then
  echo "==> NETLENS_RUN_SKIP_BUILD=1: using ${agent_bin} and dist/ as they are"
  for c in ip iptables prometheus curl ps; do
    command -v "$c" >/dev/null || die "$c not found (run scripts/setup.sh)"
  done
else
  bash scripts/setup.sh
  if [[ -z ${NETLENS_AGENT_BINARY:-} ]]; then
    echo "==> building the agent (bin/netlens-agent)"
    mkdir -p bin
    go build -o bin/netlens-agent ./agent/cmd/netlens-agent
  fi
  [[ -x $agent_bin ]] || die "agent binary ${agent_bin} not found"
  echo "==> building the data source backend (dist/datasource)"
  quietly mage -v
  echo "==> building the frontend (dist/)"
  quietly npm run --silent build
fi
if ((cluster)); then
  echo "==> the control plane and kube-router (scripts/build-controlplane.sh; the first time takes many minutes)"
  controlplane_bin=$(bash scripts/build-controlplane.sh)
  for c in etcd ipset helm; do command -v "$c" >/dev/null || die "$c not found (run scripts/setup.sh)"; done
fi

# --- teardown, registered before anything is made ----------------------------
# Every name starts with nlrun-<pid>: never the test lab's nllab-, and two runs
# never share one. Long-running children start with setsid (which execs in
# place: $! is the process itself) so that Ctrl-C reaches only this script,
# which stops them in order. Were they in the terminal's process group, one
# exiting 0 on SIGINT would make bash drop its own SIGINT ("wait and
# cooperative exit") and report that child as having died.
id="nlrun-$$"
tmp=""
pids=()       # background processes, stopped last-started first
namespaces=() # deleted after the processes
grafana_container="" # the Grafana container, when Docker runs it

alive() { [[ $(ps -o stat= -p "$1" 2>/dev/null) == [!Z]* ]]; } # running, not a zombie

stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do alive "$1" || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

cleanup() {
  local rc=$?
  set +e
  trap '' INT TERM # a second Ctrl-C must not cut the teardown short
  echo "==> stopping" >&2
  if ((rc != 0)); then
    for f in "$tmp"/*.log; do
      [[ -s $f ]] && { echo "--- ${f##*/} (last lines)" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  [[ -n $grafana_container ]] && docker rm -f "$grafana_container" >/dev/null 2>&1
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  for ns in "${namespaces[@]}"; do
    # A process left inside would keep the namespace (and its rules) alive
    # after `ip netns delete`, unseen.
    # shellcheck disable=SC2046
    kill -KILL $(ip netns pids "$ns" 2>/dev/null) 2>/dev/null
    ip netns delete "$ns" 2>/dev/null
  done
  [[ -n $tmp ]] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 0' INT TERM # stopping on request is success; EXIT cleans up
tmp=$(mktemp -d "${TMPDIR:-/tmp}/${id}.XXXXXX")

# url turns a listen address into one to connect to (any address -> loopback).
url() {
  local host=${1%:*}
  case $host in "" | 0.0.0.0) host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
  echo "http://${host}:${1##*:}"
}
agent_url=$(url "$agent_addr")
prom_url=$(url "$prom_addr")

# wait_ready polls url until it answers 200, failing if process pid dies first.
wait_ready() {
  local what=$1 pid=$2 u=$3
  for _ in $(seq 300); do
    alive "$pid" || die "$what exited during start-up"
    curl -fsS --max-time 2 -o /dev/null "$u" 2>/dev/null && alive "$pid" && return 0
    sleep 0.2
  done
  die "$what not ready at $u within 60s"
}

# A port already taken (say by Debian's prometheus service on 9090) would make
# the readiness check ask the wrong server: refuse to start instead.
for a in "$agent_addr:NETLENS_LISTEN_ADDRESS" "$prom_addr:NETLENS_PROMETHEUS_ADDRESS" ":${grafana_port}:NETLENS_GRAFANA_PORT"; do
  port=${a%:*}; port=${port##*:}
  [[ -z $(ss -Hltn "sport = :${port}") ]] || die "port ${port} is in use: choose another with ${a##*:}"
done

# --- lab: node namespace with a bridge, one namespace per pod -----------------
# Per-run subnet, so a second run's packets are never counted as this run's pods.
subnet="10.250.$(($$ % 256))"
node="${id}-node" client="${id}-client" server="${id}-server"
client_ip="${subnet}.2" server_ip="${subnet}.3"
echo "==> lab: ${client} (${client_ip}) and ${server} (${server_ip}) on a bridge in ${node}"
namespaces+=("$client" "$server" "$node")
# quiet_netns keeps the lab's own chatter out of the drop view: no IPv6 (router
# and neighbour solicitations no one listens to), and ping on ICMP datagram
# sockets (a raw-socket ping's replies also reach ping_rcv, which frees them as
# NO_SOCKET although ping got them).
quiet_netns() {
  ip netns add "$1"
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.ping_group_range="0 2147483647"
}
quiet_netns "$node"
ip -n "$node" link set lo up
ip -n "$node" link add br0 type bridge
ip -n "$node" link set br0 up
node_ip="${subnet}.1"
if ((cluster)); then
  # The node's own address (its Node object's InternalIP, the pods' hostIP)
  # and bridge netfilter, so that kube-router's rules see bridged pod traffic.
  ip -n "$node" addr add "${node_ip}/24" dev br0
  ip netns exec "$node" sysctl -qw net.bridge.bridge-nf-call-iptables=1
fi
for pod in client:"$client_ip" server:"$server_ip"; do
  name=${pod%%:*} addr=${pod#*:} ns="${id}-${pod%%:*}"
  quiet_netns "$ns"
  ip -n "$node" link add "veth-${name}" type veth peer name eth0 netns "$ns"
  ip -n "$node" link set "veth-${name}" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${addr}/24" dev eth0
  ip -n "$ns" link set eth0 up
done
if ((cluster)); then
  cluster_dir="$tmp/cluster"
  mkdir -p "$cluster_dir"
  echo "==> control plane, chart, Pod objects, NetworkPolicy and kube-router (log: ${tmp}/cluster.log)"
  go build -o "$tmp/netlens-cluster" ./tests/controlplane/cmd/netlens-cluster
  setsid "$tmp/netlens-cluster" -dir "$cluster_dir" -bin "$controlplane_bin" -repo "$REPO_ROOT" \
    -netns "$node" -node "$node" -node-ip "$node_ip" -namespace "$demo_ns" -client-ip "$client_ip" -server-ip "$server_ip" \
    -agent-kubeconfig "$tmp/agent.kubeconfig" -admin-kubeconfig "$tmp/admin.kubeconfig" >"$tmp/cluster.log" 2>&1 &
  cluster_pid=$!
  pids+=("$cluster_pid")
  for _ in $(seq 900); do
    grep -q '^ready:' "$tmp/cluster.log" && break
    alive "$cluster_pid" || die "the cluster stack exited during start-up"
    sleep 0.2
  done
  grep -q '^ready:' "$tmp/cluster.log" || die "the cluster stack was not ready within 3 minutes"
  inventory=(--kubeconfig "$tmp/agent.kubeconfig" --node-name "$node")
else
# The "network policy": the server refuses UDP to ${deny_port}. The rule's
# counter is the ground truth for the agent's count (tests/run checks it).
ip netns exec "$server" iptables -A INPUT -p udp --dport "$deny_port" -m comment --comment nlrun-deny -j DROP

# Pods file in `kubectl get pods -o json` form: the agent names the lab's addresses.
cat >"$tmp/pods.json" <<JSON
{"apiVersion": "v1", "kind": "List", "items": [
  {"kind": "Pod", "metadata": {"name": "client", "namespace": "${demo_ns}", "uid": "${id}-client"},
   "status": {"phase": "Running", "podIP": "${client_ip}", "podIPs": [{"ip": "${client_ip}"}]}},
  {"kind": "Pod", "metadata": {"name": "server", "namespace": "${demo_ns}", "uid": "${id}-server"},
   "status": {"phase": "Running", "podIP": "${server_ip}", "podIPs": [{"ip": "${server_ip}"}]}}
]}
JSON
inventory=(--pods-file "$tmp/pods.json")
fi

# --- agent ---------------------------------------------------------------------
echo "==> netlens-agent on ${agent_addr} (log: ${tmp}/agent.log)"
# No pinning or saved state: stopping leaves nothing attached to the kernel.
setsid "$agent_bin" --listen-address "$agent_addr" --log-format text --bpffs-path "" --state-dir "" \
  "${inventory[@]}" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_ready netlens-agent "$agent_pid" "$agent_url/readyz"

# --- traffic: only now, so that every drop the rule counts is the agent's too ---
# One datagram per bash redirection (a new socket each time) every 100 ms.
# shellcheck disable=SC2016 # expanded by the inner bash
setsid ip netns exec "$client" bash -c 'while :; do printf x >"/dev/udp/$1/$2"; sleep 0.1; done' \
  _ "$server_ip" "$deny_port" >"$tmp/traffic.log" 2>&1 &
pids+=("$!")
if ((!cluster)); then # the NetworkPolicy admits only TCP 8080: pings would be denied too
  setsid ip netns exec "$client" ping -q -i 0.5 "$server_ip" >/dev/null 2>>"$tmp/traffic.log" &
  pids+=("$!")
fi

# --- Prometheus ------------------------------------------------------------------
echo "==> prometheus on ${prom_addr} (data in ${tmp}/prometheus)"
# Job name as in deploy/scrape/prometheus.yaml; the scrape adds the node label.
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: netlens
    scrape_interval: 5s
    scrape_timeout: 5s
    static_configs:
      - targets: ["${agent_url#http://}"]
        labels:
          node: "$(uname -n)"
YAML
setsid prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prometheus" \
  --web.listen-address="$prom_addr" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
wait_ready prometheus "$prom_pid" "$prom_url/-/ready"

# --- Grafana, where this machine has one (not exercised by tests/run) ------------
# grafana_provisioning writes provisioning/ to $1 with the data sources pointing
# at the agent and Prometheus started above (not at docker-compose.yaml's
# services) and the dashboard folders at $2/prometheus and $2/aks.
grafana_provisioning() {
  cp -r provisioning "$1"
  sed -i -e "s#http://prometheus:9090#${prom_url}#g" -e "s#http://host.docker.internal:10095#${agent_url}#g" \
    "$1"/datasources/*.yaml
  sed -i -e "s#/var/lib/grafana/dashboards/netlens-#$2/#g" "$1"/dashboards/*.yaml
}
unsigned=netlens-network-app,netlens-network-datasource,netlens-reasons-panel
grafana_url=""
if grafana=$(command -v grafana || command -v grafana-server); then
  echo "==> grafana on :${grafana_port} (log: ${tmp}/grafana.log)"
  g="$tmp/grafana"
  mkdir -p "$g/plugins"
  ln -s "$REPO_ROOT/dist" "$g/plugins/netlens-network-app"
  grafana_provisioning "$g/provisioning" "$REPO_ROOT/dashboards"
  sub=(); [[ ${grafana##*/} == grafana ]] && sub=(server)
  setsid "$grafana" "${sub[@]}" --homepath "${NETLENS_GRAFANA_HOME:-/usr/share/grafana}" \
    cfg:paths.data="$g/data" cfg:paths.logs="$g/logs" cfg:paths.plugins="$g/plugins" \
    cfg:paths.provisioning="$g/provisioning" cfg:server.http_port="$grafana_port" \
    cfg:auth.anonymous.enabled=true cfg:auth.anonymous.org_role=Admin \
    cfg:plugins.allow_loading_unsigned_plugins="$unsigned" >"$tmp/grafana.log" 2>&1 &
  pids+=("$!")
  grafana_url="http://localhost:${grafana_port}"
elif command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
  # Only docker-compose.yaml's Grafana, on the host's network: its agent and
  # Prometheus would collide with the ones running here.
  echo "==> grafana in Docker on :${grafana_port}"
  grafana_provisioning "$tmp/provisioning" /var/lib/grafana/dashboards
  grafana_container="${id}-grafana"
  docker run -d --rm --name "$grafana_container" --network host \
    -e GF_SERVER_HTTP_PORT="$grafana_port" -e GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS="$unsigned" \
    -e GF_AUTH_ANONYMOUS_ENABLED=true -e GF_AUTH_ANONYMOUS_ORG_ROLE=Admin \
    -v "$REPO_ROOT/dist:/var/lib/grafana/plugins/netlens-network-app:ro" \
    -v "$tmp/provisioning:/etc/grafana/provisioning:ro" \
    -v "$REPO_ROOT/dashboards/prometheus:/var/lib/grafana/dashboards/prometheus:ro" \
    -v "$REPO_ROOT/dashboards/aks:/var/lib/grafana/dashboards/aks:ro" \
    "grafana/grafana:${GRAFANA_VERSION:-13.1.0}" >/dev/null
  grafana_url="http://localhost:${grafana_port}"
else
  # No Grafana here: Netlens's own preview host (tests/previewhost) serves
  # the built plugin in its browser shell, with the demo's data sources, on
  # Grafana's port. It is not Grafana, and its pages say so.
  echo "==> no grafana binary or Docker daemon: the Netlens preview host on :${grafana_port} (log: ${tmp}/preview.log)"
  [[ -d node_modules ]] || die "node_modules not found: the preview host's shell is built with npm's packages (npm ci)"
  go build -o "$tmp/netlens-preview" ./tests/previewhost/cmd/netlens-preview
  quietly node tests/browser/shell/build.mjs "$tmp/shell"
  grafana_provisioning "$tmp/preview-provisioning" "$REPO_ROOT/dashboards"
  setsid "$tmp/netlens-preview" --listen "127.0.0.1:${grafana_port}" --dist dist --shell "$tmp/shell" \
    --provisioning "$tmp/preview-provisioning/datasources/netlens.yaml" >"$tmp/preview.log" 2>&1 &
  preview_pid=$!
  pids+=("$preview_pid")
  preview_url="http://localhost:${grafana_port}"
  wait_ready "preview host" "$preview_pid" "$preview_url/api/frontend/settings"
fi

cat <<MSG

Netlens is running. Lab pods ${demo_ns}/client -> ${demo_ns}/server: UDP to port ${deny_port} denied.
  agent      ${agent_url}/metrics  ${agent_url}/api/v1/status  ${agent_url}/api/v1/events
  prometheus ${prom_url}/graph?g0.expr=rate(netlens_pod_drop_packets_total%5B1m%5D)
MSG
if ((cluster)); then
  echo "  cluster    the deny rule is NetworkPolicy ${demo_ns}/server-allow-client-http, enforced by kube-router;"
  echo "             ${controlplane_bin}/kubectl --kubeconfig ${tmp}/admin.kubeconfig get pods,networkpolicies -A"
fi
if [[ -n $grafana_url ]]; then
  echo "  grafana    ${grafana_url}/a/netlens-network-app"
else
  echo "  preview    ${preview_url}/a/netlens-network-app/ (Netlens's preview host, not Grafana: no grafana binary or Docker daemon here)"
fi
echo "Drops as they happen (netlens-agent observe); Ctrl-C stops everything."
echo

# The live view runs in the background and the script waits: bash runs a trap
# only between commands, and `wait` returns at once on a signal. Any of the
# processes ending on its own is a failure.
setsid "$agent_bin" observe --server "$agent_url" &
pids+=("$!")
wait -n -p ended "${pids[@]}" || true
die "process ${ended:-?} stopped unexpectedly"
