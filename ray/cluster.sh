#!/usr/bin/env bash
# A local Ray cluster of separate nodes on this machine: a head node and $KERAFOLD_RAY_WORKERS
# (default 1) worker nodes, each its own raylet with $KERAFOLD_RAY_CPUS (default 1) CPUs.
#
#   ray/cluster.sh start    start it (or find it running); prints only its address on stdout
#   ray/cluster.sh status   the nodes and resources (exit 3 when it is not running)
#   ray/cluster.sh stop     stop the nodes this script started (and nothing else)
#
# State (pid files, logs, Ray's session directory) lives in $KERAFOLD_RAY_DIR (default
# ${TMPDIR:-/tmp}/kerafold-ray; keep it short: Ray's Unix sockets live under it). Every node runs
# `ray start --block` in the background; `stop` signals exactly those processes (never `ray stop`,
# which would stop every Ray node of every user on the machine).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${KERAFOLD_RAY_DIR:-${TMPDIR:-/tmp}/kerafold-ray}"
workers="${KERAFOLD_RAY_WORKERS:-1}"
cpus="${KERAFOLD_RAY_CPUS:-1}"
# Object store per node: the shipped binary, dataset and proofs are a few tens of MB.
store="${KERAFOLD_RAY_OBJECT_STORE:-1000000000}"
venv="$here/.venv"
ray_bin="$venv/bin/ray"
py="$venv/bin/python"
export RAY_USAGE_STATS_ENABLED=0

log() { echo "cluster.sh: $*" >&2; }

# The pid file $1 names a live `ray start` of this cluster (not a reused pid).
alive() {
    [[ -f "$1" ]] || return 1
    local pid
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
        grep -qF -- "--temp-dir=$state/ray"
}

node_pids() { ls "$state"/head.pid "$state"/worker-*.pid 2>/dev/null || true; }

# "NODES CPUS": the alive nodes and the CPUs of the cluster at $1, as Ray's GCS sees them.
count_nodes() {
    "$py" - "$1" <<'EOF' 2>/dev/null
import sys, logging, ray
ray.init(address=sys.argv[1], logging_level=logging.ERROR, log_to_driver=False)
cpus = ray.cluster_resources().get("CPU", 0)
print(sum(1 for n in ray.nodes() if n["Alive"]), f"{cpus:g}")
EOF
}

running() {
    alive "$state/head.pid" && [[ -s "$state/address" ]] || return 1
    local n
    for f in $(node_pids); do alive "$f" || return 1; done
    n="$(count_nodes "$(cat "$state/address")")" || return 1
    [[ "$n" == "$(want)" ]]
}

stop_node() {
    local f="$1" pid
    pid="$(cat "$f")"
    if alive "$f"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 80); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "node $pid did not stop in 40 s; killing its process group"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$f"
}

stop() {
    local f
    # Workers first, then the head (whose GCS the workers report to).
    for f in $(ls "$state"/worker-*.pid 2>/dev/null || true); do stop_node "$f"; done
    if [[ -f "$state/head.pid" ]]; then stop_node "$state/head.pid"; fi
    rm -f "$state/address"
}

# What count_nodes shows for the whole cluster.
want() { echo "$((workers + 1)) $(((workers + 1) * cpus))"; }

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

wait_for() { # wait_for SECONDS PIDFILE DESCRIPTION COMMAND...
    local secs="$1" pidf="$2" what="$3"
    shift 3
    for _ in $(seq 1 $((secs * 2))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if ! alive "$pidf"; then
            log "$what exited; its log, $(dirname "$pidf")/$(basename "$pidf" .pid).log:"
            tail -n 30 "${pidf%.pid}.log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    log "$what not up after $secs s; log: ${pidf%.pid}.log"
    return 1
}

start() {
    if running; then
        log "already running ($((workers + 1)) nodes)"
        cat "$state/address"
        return 0
    fi
    if [[ ! -x "$ray_bin" ]]; then
        log "ray/.venv is missing; running ray/install.sh"
        "$here/install.sh" >&2
    fi
    stop
    # (only what this script puts there: $KERAFOLD_RAY_DIR may be any directory)
    rm -rf "$state/ray" "$state"/head.log "$state"/worker-*.log
    mkdir -p "$state/ray"
    local port="${KERAFOLD_RAY_PORT:-$(free_port)}"
    local common=(--block --num-cpus="$cpus" --object-store-memory="$store"
        --temp-dir="$state/ray" --disable-usage-stats)
    log "starting the head node (port $port, $cpus CPU)"
    nohup "$ray_bin" start --head --port="$port" "${common[@]}" \
        >"$state/head.log" 2>&1 </dev/null &
    echo $! >"$state/head.pid"
    # Ray writes the address it advertises (this host's address, port) once the GCS is up.
    wait_for 90 "$state/head.pid" "the head node" test -s "$state/ray/ray_current_cluster"
    local addr
    addr="$(head -n1 "$state/ray/ray_current_cluster")"
    wait_for 60 "$state/head.pid" "the head node" count_nodes "$addr"
    local i
    for i in $(seq 1 "$workers"); do
        log "starting worker node $i ($cpus CPU)"
        nohup "$ray_bin" start --address="$addr" "${common[@]}" \
            >"$state/worker-$i.log" 2>&1 </dev/null &
        echo $! >"$state/worker-$i.pid"
    done
    local n=""
    for _ in $(seq 1 120); do
        n="$(count_nodes "$addr" || true)"
        [[ "$n" == "$(want)" ]] && break
        for f in "$state"/worker-*.pid; do
            if ! alive "$f"; then
                log "a worker node exited; its log, ${f%.pid}.log:"
                tail -n 30 "${f%.pid}.log" >&2 || true
                stop
                return 1
            fi
        done
        sleep 1
    done
    if [[ "$n" != "$(want)" ]]; then
        log "the cluster has ${n:-no} nodes and CPUs alive, not $(want); logs in $state"
        stop
        return 1
    fi
    # `ray status` (the autoscaler's view) follows the GCS a few seconds later.
    local total=$(((workers + 1) * cpus))
    for _ in $(seq 1 30); do
        "$ray_bin" status --address="$addr" 2>/dev/null | grep -q "/$total.0 CPU" && break
        sleep 1
    done
    echo "$addr" >"$state/address"
    log "up: $((workers + 1)) nodes, $total CPUs; address $addr (state in $state)"
    echo "$addr"
}

status() {
    if ! alive "$state/head.pid" || [[ ! -s "$state/address" ]]; then
        echo "no kerafold Ray cluster running (state: $state); start it with ray/cluster.sh start"
        return 3
    fi
    echo "address: $(cat "$state/address")"
    "$ray_bin" status --address="$(cat "$state/address")"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: ray/cluster.sh start|stop|status" >&2
    exit 2
    ;;
esac
