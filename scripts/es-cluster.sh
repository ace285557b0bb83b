#!/usr/bin/env bash
# A local Elasticsearch cluster of several nodes on this machine (three by default, one replica
# of every shard), each node a scripts/es-node.sh node of its own: for scale-out and failover
# tests, and to try a multi-node deployment without Docker.
#
# Usage: scripts/es-cluster.sh start|stop|status|url|kill N|restart N
#
#   start      launch every node, wait until all joined and the cluster is green, write
#              ${ASSETLENS_SERVICES_DIR}/es-cluster.env (ASSETLENS_ES_URL=<every node's URL>)
#   stop       stop every node
#   status     the cluster's health (exit 0 when green with every node)
#   url        the comma-separated node URLs (what ASSETLENS_ES_URL takes)
#   kill N     SIGKILL node N (1-based), as a crash would
#   restart N  start node N again with its data; wait until it rejoined
#
# Environment: ASSETLENS_ES_CLUSTER_NODES (3), ASSETLENS_ES_CLUSTER_PORT (9201: HTTP ports
# 9201, 9202, …), ASSETLENS_ES_CLUSTER_TRANSPORT_PORT (9301), ASSETLENS_SERVICES_DIR,
# ASSETLENS_ES_JAVA_OPTS ("-Xms384m -Xmx768m" per node), ASSETLENS_ES_START_TIMEOUT (180).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${ASSETLENS_SERVICES_DIR:-$HOME/.cache/assetlens/services}"
CLUSTER_DIR="$SERVICES_DIR/es-cluster"
ENV_FILE="$SERVICES_DIR/es-cluster.env"
NODES="${ASSETLENS_ES_CLUSTER_NODES:-3}"
HTTP_BASE="${ASSETLENS_ES_CLUSTER_PORT:-9201}"
TRANSPORT_BASE="${ASSETLENS_ES_CLUSTER_TRANSPORT_PORT:-9301}"
TIMEOUT="${ASSETLENS_ES_START_TIMEOUT:-180}"
NAME="assetlens-cluster"

say() { echo "es-cluster: $*"; }
die() { echo "es-cluster: $*" >&2; exit 1; }

urls() {
    local i list=()
    for ((i = 1; i <= NODES; i++)); do list+=("http://127.0.0.1:$((HTTP_BASE + i - 1))"); done
    (IFS=,; echo "${list[*]}")
}

# Runs es-node.sh for node $1 with the cluster's settings; the rest are es-node.sh arguments.
node() {
    local n="$1" i seeds=() masters=()
    shift
    for ((i = 1; i <= NODES; i++)); do
        seeds+=("127.0.0.1:$((TRANSPORT_BASE + i - 1))")
        masters+=("node-$i")
    done
    ASSETLENS_SERVICES_DIR="$CLUSTER_DIR/node-$n" \
    ASSETLENS_ES_PORT="$((HTTP_BASE + n - 1))" \
    ASSETLENS_ES_TRANSPORT_PORT="$((TRANSPORT_BASE + n - 1))" \
    ASSETLENS_ES_JAVA_OPTS="${ASSETLENS_ES_JAVA_OPTS:--Xms384m -Xmx768m}" \
    ASSETLENS_ES_WAIT=0 \
    ASSETLENS_ES_NODE_ARGS="--node-name node-$n --cluster-name $NAME -Ediscovery.type=multi-node -Ediscovery.seed_hosts=$(IFS=,; echo "${seeds[*]}") -Ecluster.initial_master_nodes=$(IFS=,; echo "${masters[*]}")" \
        bash "$ROOT/scripts/es-node.sh" "$@"
}

check_node() {
    [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= NODES)) || die "no node $1 (1..$NODES)"
}

# Waits until some node answers with every node joined and the cluster green.
wait_green() {
    local deadline=$((SECONDS + TIMEOUT)) url
    while ((SECONDS < deadline)); do
        for url in ${1//,/ }; do
            if curl -fsS --max-time 5 \
                "$url/_cluster/health?wait_for_status=green&wait_for_nodes=$NODES&timeout=2s" \
                >/dev/null 2>&1; then
                return 0
            fi
        done
        sleep 1
    done
    return 1
}

cmd_start() {
    local n started=$SECONDS
    bash "$ROOT/scripts/es-node.sh" build >/dev/null
    for ((n = 1; n <= NODES; n++)); do node "$n" start; done
    wait_green "$(urls)" || die "the cluster is not green with $NODES nodes after $TIMEOUT s (logs: $CLUSTER_DIR/node-*/es.log)"
    echo "ASSETLENS_ES_URL=$(urls)" >"$ENV_FILE"
    say "green with $NODES nodes in $((SECONDS - started)) s: $(urls)"
}

cmd_stop() {
    local n
    for ((n = 1; n <= NODES; n++)); do node "$n" stop || true; done
    rm -f "$ENV_FILE"
}

cmd_kill() {
    check_node "$1"
    local pid_file="$CLUSTER_DIR/node-$1/es.pid" pid
    [[ -f "$pid_file" ]] || die "node $1 is not running"
    pid="$(cat "$pid_file")"
    kill -KILL "$pid" 2>/dev/null || true
    say "killed node $1 (pid $pid)"
}

cmd_restart() {
    check_node "$1"
    ASSETLENS_ES_KEEP_DATA=1 node "$1" start
    wait_green "$(urls)" || die "node $1 did not rejoin a green cluster within $TIMEOUT s"
    say "node $1 rejoined; the cluster is green"
}

cmd_status() {
    local url
    for url in $(urls | tr , ' '); do
        if curl -fsS --max-time 5 "$url/_cluster/health" 2>/dev/null; then
            echo
            wait_green "$url" && return 0
            return 1
        fi
    done
    say "no node answers"
    return 1
}

mkdir -p "$CLUSTER_DIR"
case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) TIMEOUT=5 cmd_status ;;
    url) urls ;;
    kill) cmd_kill "${2:-}" ;;
    restart) cmd_restart "${2:-}" ;;
    *) echo "usage: $0 start|stop|status|url|kill N|restart N" >&2; exit 2 ;;
esac
