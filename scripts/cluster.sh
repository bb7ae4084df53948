#!/usr/bin/env bash
# A real cluster on one machine (docs/deploy-cluster.md): PostgreSQL (scripts/pg-temp.sh), three
# `hypervisor serve` nodes on loopback ports sharing its key ring and audit log under one KEK, and
# HAProxy in front, checking /health on each node.
#
#   scripts/cluster.sh start DIR [--build BUILD]   start everything; prints the HAProxy URL. DIR
#                                                  holds: url, api_key, kek, dsn, node{1,2,3}/,
#                                                  pgdir (PostgreSQL's own directory in /tmp)
#   scripts/cluster.sh stop DIR                    stop everything (nodes, HAProxy, PostgreSQL)
#   scripts/cluster.sh kill-node DIR N             kill -9 node N (1-3)
#   scripts/cluster.sh start-node DIR N            start node N again
#   scripts/cluster.sh pg-kill DIR | pg-start DIR  crash PostgreSQL (immediate stop) / start it
#
# HV_CLUSTER_TRANSPARENCY_LOG=false starts the nodes with storage.transparency_log off (the
# benchmark's comparison); default true.
# Ports: a random free block of four loopback ports (HAProxy, then the nodes). Needs haproxy and
# the postgresql package (scripts/deps.sh); exit status 77 and one line when either is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,16p' "$0" >&2; exit 2; }
build=$root/build
[ "${3:-}" = "--build" ] && build=$4
bin=$build/src/cli/hypervisor

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_node() {
  local n=$1 port
  port=$(cat "$dir/node$n/port")
  "$bin" serve --config "$dir/node$n/config.yaml" >"$dir/node$n/out" 2>&1 &
  echo $! >"$dir/node$n/pid"
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    kill -0 "$(cat "$dir/node$n/pid")" 2>/dev/null || break
    sleep 0.05
  done
  cat "$dir/node$n/out" >&2
  echo "cluster.sh: node $n did not start" >&2
  return 1
}

case "$cmd" in
  start)
    command -v haproxy >/dev/null || { echo "SKIP: haproxy is not installed (scripts/deps.sh)" >&2; exit 77; }
    [ -x "$bin" ] || { echo "cluster.sh: $bin not built" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    set +e
    # Its own directory under /tmp: the unprivileged user it runs as must be able to reach it.
    pgdir=$(mktemp -d /tmp/hv-pg-XXXXXX)
    echo "$pgdir" >"$dir/pgdir"
    "$root/scripts/pg-temp.sh" start "$pgdir" >"$dir/dsn"
    rc=$?
    set -e
    [ $rc -eq 0 ] || exit $rc
    dsn=$(cat "$dir/dsn")
    (umask 077; openssl rand -hex 32 >"$dir/kek")
    api_key="hvk_$(openssl rand -hex 32)"
    echo "$api_key" >"$dir/api_key"
    api_sha=$(printf %s "$api_key" | openssl dgst -sha256 -r | cut -d' ' -f1)
    while :; do
      base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-): client sockets never hold it
      port_free $base && port_free $((base + 1)) && port_free $((base + 2)) && port_free $((base + 3)) && break
    done
    for n in 1 2 3; do
      mkdir -p "$dir/node$n"
      echo $((base + n)) >"$dir/node$n/port"
      cat >"$dir/node$n/config.yaml" <<EOF
server: {host: "127.0.0.1", port: $((base + n)), workers: 4, max_body_bytes: 16777216}
wasm: {max_memory_mb: 64, max_execution_time_seconds: 10, max_concurrent_executions: 100}
crypto: {key_rotation_hours: 1, commitment_retention_days: 7, key_dir: "$dir/node$n/keys", kek_file: "$dir/kek"}
storage: {backend: postgres, dsn: "$dsn", connections: 4, transparency_log: ${HV_CLUSTER_TRANSPARENCY_LOG:-true}}
auth: {api_keys: [{id: "cluster", sha256: "$api_sha"}]}
rate_limit: {requests_per_second: 1000000, burst: 1000000}
logging: {level: info, file: "$dir/node$n/server.log"}
EOF
    done
    # The first node creates the schema and the first key; the others find them.
    for n in 1 2 3; do start_node $n; done
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend hypervisor
    bind 127.0.0.1:$base
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    server node1 127.0.0.1:$((base + 1)) check
    server node2 127.0.0.1:$((base + 2)) check
    server node3 127.0.0.1:$((base + 3)) check
EOF
    haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid"
    echo "http://127.0.0.1:$base" >"$dir/url"
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.1:$base/health" >/dev/null && break
      sleep 0.1
    done
    cat "$dir/url"
    ;;
  stop)
    for n in 1 2 3; do
      if [ -f "$dir/node$n/pid" ]; then
        pid=$(cat "$dir/node$n/pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/node$n/pid"
      fi
    done
    if [ -f "$dir/haproxy.pid" ]; then
      kill -TERM "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
      rm -f "$dir/haproxy.pid"
    fi
    if [ -f "$dir/pgdir" ]; then
      pgdir=$(cat "$dir/pgdir")
      "$root/scripts/pg-temp.sh" stop "$pgdir" || true
      rm -rf "$pgdir" "$dir/pgdir"
    fi
    ;;
  pg-kill)
    "$root/scripts/pg-temp.sh" kill "$(cat "$dir/pgdir")"
    ;;
  pg-start)
    "$root/scripts/pg-temp.sh" start "$(cat "$dir/pgdir")" >/dev/null
    ;;
  kill-node)
    kill -KILL "$(cat "$dir/node$3/pid")"
    ;;
  start-node)
    start_node "$3"
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
