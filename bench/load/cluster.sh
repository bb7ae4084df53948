#!/usr/bin/env bash
# The load benchmark against the cluster (docs/deploy-cluster.md, docs/performance.md): in one
# run, wrk replays one sealed request for the small module
#   1. against one node on SQLite (the usual single-machine set-up), then
#   2. through HAProxy against three nodes on PostgreSQL (scripts/cluster.sh), with the
#      transparency log and then without it (storage.transparency_log),
# and prints requests/s, p50/p99 latency, errors, and the audit writer's records per commit round
# (summed over the nodes' /metrics). On two cores the cluster is not expected to be faster: the
# point is that it works and loses nothing.
#
#   bench/load/cluster.sh [--build DIR] [--duration S] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
duration=10
connections=50
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) sed -n '2,11p' "$0" >&2; exit 2 ;;
  esac
done
for tool in wrk openssl curl haproxy; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: '$tool' is missing (scripts/deps.sh)" >&2; exit 1; }
done
cmake --build "$build" --target hypervisor hv_load_mkreq load_bench_wasm >/dev/null
bin="$build/src/cli/hypervisor"
wasm_dir="$build/bench/load"
work=$(mktemp -d /tmp/hv-cluster-bench-XXXXXX)
single_pid=""
cleanup() {
  [ -n "$single_pid" ] && kill -KILL "$single_pid" 2>/dev/null || true
  scripts/cluster.sh stop "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# bench NAME URL API_KEY METRICS_URLS...: seals a body to URL's current key, runs wrk, prints a line.
bench() {
  local name=$1 url=$2 key=$3
  shift 3
  local keys pk kid
  keys=$(curl -sf "$url/v1/keys")
  pk=$(grep -o '"public_key":"[^"]*"' <<<"$keys" | head -1 | cut -d'"' -f4)
  kid=$(grep -o '"key_id":"[^"]*"' <<<"$keys" | head -1 | cut -d'"' -f4)
  "$wasm_dir/hv_load_mkreq" --server-key "$pk" --key-id "$kid" --function work \
    --arguments '[{"value": 1}, {"value": 2}]' "$wasm_dir/small.wasm" >"$work/body.json"
  HV_BENCH_API_KEY="$key" HV_BENCH_BODY="$work/body.json" \
    wrk -t2 -c"$connections" -d"$duration"s --timeout 10s --latency -s bench/load/status.lua \
    "$url/v1/execute" >"$work/wrk.out" 2>&1
  local rps p50 p99 not_ok rounds=0 records=0 m
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$work/wrk.out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.out")")
  not_ok=$(awk '$1 == "status" && $2 != 200 {n += $3} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$work/wrk.out")
  for m in "$@"; do
    local text
    text=$(curl -sf -H "X-API-Key: $key" "$m/metrics")
    rounds=$((rounds + $(awk '/^hypervisor_audit_commit_rounds_total/ {print int($2)}' <<<"$text")))
    records=$((records + $(awk '/^hypervisor_audit_records_total/ {print int($2)}' <<<"$text")))
  done
  printf '%-36s %9s req/s  p50 %7s ms  p99 %7s ms  errors %s  records/round %s\n' "$name" "$rps" \
    "$p50" "$p99" "$not_ok" "$(awk -v a="$records" -v b="$rounds" 'BEGIN {printf "%.2f", b ? a / b : 0}')"
}

# 1. One node on SQLite.
api_key="hvk_$(openssl rand -hex 32)"
api_sha=$(printf %s "$api_key" | openssl dgst -sha256 -r | cut -d' ' -f1)
port=$((20000 + RANDOM % 12000)) # below the ephemeral range
cat >"$work/single.yaml" <<EOF
server: {host: "127.0.0.1", port: $port, workers: 4, max_body_bytes: 16777216}
wasm: {max_memory_mb: 64, max_execution_time_seconds: 10, max_concurrent_executions: 100}
crypto: {key_rotation_hours: 1, commitment_retention_days: 7, key_dir: "$work/single/keys"}
storage: {backend: sqlite, path: "$work/single/audit.db"}
auth: {api_keys: [{id: "bench", sha256: "$api_sha"}]}
rate_limit: {requests_per_second: 1000000, burst: 1000000}
logging: {level: info, file: "$work/single.log"}
EOF
"$bin" serve --config "$work/single.yaml" >"$work/single.out" 2>&1 &
single_pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
echo "== ${duration} s, ${connections} connections, small module, full HPKE per request"
bench "one node, SQLite" "http://127.0.0.1:$port" "$api_key" "http://127.0.0.1:$port"
kill -TERM "$single_pid"
wait "$single_pid" || true
single_pid=""

# 2. Three nodes on PostgreSQL behind HAProxy, with the transparency log (the default) and then
#    without it, each on a fresh database.
for tlog in true false; do
  url=$(HV_CLUSTER_TRANSPARENCY_LOG=$tlog scripts/cluster.sh start "$work/cluster" --build "$build")
  ckey=$(cat "$work/cluster/api_key")
  nodes=()
  for n in 1 2 3; do nodes+=("http://127.0.0.1:$(cat "$work/cluster/node$n/port")"); done
  bench "3 nodes, PostgreSQL, HAProxy, log $tlog" "$url" "$ckey" "${nodes[@]}"
  scripts/cluster.sh stop "$work/cluster" >/dev/null
  rm -rf "$work/cluster"
done
