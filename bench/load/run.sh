#!/usr/bin/env bash
# The load benchmark (docs/performance.md). Starts the real server (`hypervisor serve`) on a free
# loopback port with a temporary data directory, a generated configuration (one API key, rate
# limits out of the way) and drives it:
#
#   1. throughput: wrk, N connections for D seconds, replaying one sealed request for a small module
#      (the server opens the HPKE request, runs the module and seals a new result every time);
#      requests/s, p50/p99 latency, answers by status and error_code, the server's peak RSS, and
#      beside them `openssl speed -seconds 3 ecdhp256` from the same run: each request needs about
#      three P-256 scalar multiplications, so ecdh/3 is the floor and requests/s / (ecdh/3) the
#      fraction of it reached;
#   2. memory: 100 connections running a module that touches 64 MiB; the server's peak RSS must stay
#      within 100 x 64 MiB + 200 MiB and every answer must be success or CAPACITY_EXCEEDED;
#   3. cold: a fresh server runs a 1 MB module it has never seen, end to end through hvctl (wall
#      time of `hvctl exec`, the module's compile time from its audit record);
#   4. instantiation: bench/load/inst_bench.c, a compiled module instantiated (store, instance,
#      free) in microseconds, without and with an engine pool (hvw_pool);
#   5. bytes (protocol v1.1): examples' sha256 guest called through `hvctl exec` with a 1 MiB
#      bytes argument and with an empty one, alternately, N times each; the medians of the wall
#      time and of the server's execution_time_ms (from the audit record). What 1 MiB adds end to
#      end, minus what it adds to the guest's own run, is what transport, sealing and the Canonical
#      ABI copy cost (target: about 2 ms); then the same from one long-lived client
#      (bench/load/bytes_bench.c), without hvctl's process start and fresh heap; and the floor:
#      the protocol's own work for that call in one process on warm buffers (bytes_floor.c).
#
#   6. tlog: throughput with the transparency log (storage.transparency_log: true, the default) and
#      without it, the same small-module load as 1, in alternating runs of --tlog-seconds on the
#      same data directory (--tlog-pairs pairs); the medians and their ratio (target >= 0.9); then
#      bench/load/tlog_bench.c: one audit round of 64 records with and without the log, no HTTP.
#   7. tenants: the small-module load from --tenant-keys API keys in turn (every connection
#      rotates them), for --tenant-seconds, with wasm.worker_tenancy dedicated (the default: a
#      worker serves one key, so a job of another key may recycle it) and then shared; requests/s,
#      p99, errors and worker recycles of each, and dedicated / shared (docs/workers.md, "Tenancy").
#      A report, not a target.
#
#   bench/load/run.sh [--build DIR] [--duration S] [--connections N] [--threads N]
#                     [--only throughput,memory,cold,inst,bytes,tlog,tenants] [--bytes-reps N]
#                     [--tlog-pairs N] [--tlog-seconds S] [--tenant-keys N] [--tenant-seconds S]
#                     [--perf FILE]
#                     [--executor process|thread|process,thread]
#
# --perf FILE: records the server with `perf record --call-graph dwarf` during the throughput run into FILE
# (read it with `perf report -i FILE`); the figures of that run are then a little lower.
# --executor: wasm.executor (docs/workers.md), process by default. A list runs the throughput
# scenario once per executor, one after the other in the same run, and reports the first's
# successful executions/s over the second's (issue target: process >= 0.9 x thread).
#
# Defaults: build/, 30 s, 100 connections, 2 wrk threads, every scenario. Needs wrk and openssl
# (scripts/deps.sh). Traffic goes to 127.0.0.1 only. Exit status 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

build=build
duration=30
connections=100
wrk_threads=2
only="throughput,memory,cold,inst,bytes,tlog,tenants"
bytes_reps=21
tlog_pairs=3
tlog_seconds=10
tlog=true # storage.transparency_log of the configuration written next
tenant_keys=8
tenant_seconds=10
tenancy=dedicated # wasm.worker_tenancy of the configuration written next
perf_out=""
executors=process # wasm.executor (docs/workers.md): the default; thread to compare
executor=${executors%%,*}
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) wrk_threads=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --bytes-reps) bytes_reps=$2; shift 2 ;;
    --tlog-pairs) tlog_pairs=$2; shift 2 ;;
    --tlog-seconds) tlog_seconds=$2; shift 2 ;;
    --tenant-keys) tenant_keys=$2; shift 2 ;;
    --tenant-seconds) tenant_seconds=$2; shift 2 ;;
    --perf) perf_out=$2; shift 2 ;;
    --executor) executors=$2; executor=${2%%,*}; shift 2 ;;
    -h|--help) sed -n '2,40p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }

for tool in wrk openssl curl; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target hypervisor hvctl hv_load_mkreq hv_load_genmod hv_inst_bench \
  hv_bytes_bench hv_bytes_floor hv_tlog_bench load_bench_wasm examples >/dev/null
bin="$build/src/cli/hypervisor"
hvctl="$build/src/hvctl/hvctl"
wasm_dir="$build/bench/load"

work=$(mktemp -d /tmp/hv-load-XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

api_key="hvk_$(openssl rand -hex 32)"
api_sha=$(printf %s "$api_key" | openssl dgst -sha256 -r | cut -d' ' -f1)
# The tenants scenario's keys; the first is the usual one.
tenant_api_keys=("$api_key")
auth_keys="{id: \"bench\", sha256: \"$api_sha\"}"
for i in $(seq 2 "$tenant_keys"); do
  k="hvk_$(openssl rand -hex 32)"
  tenant_api_keys+=("$k")
  auth_keys+=", {id: \"tenant$i\", sha256: \"$(printf %s "$k" | openssl dgst -sha256 -r | cut -d' ' -f1)\"}"
done
write_config() {
  cat >"$work/config.yaml" <<EOF
server: {host: "127.0.0.1", port: $1, workers: 4, max_body_bytes: 16777216}
wasm: {max_memory_mb: 64, max_execution_time_seconds: 10, max_concurrent_executions: 100, max_concurrent_per_key: 100, executor: $executor, worker_tenancy: $tenancy}
crypto: {key_rotation_hours: 1, commitment_retention_days: 7, key_dir: "$work/data/keys"}
storage: {backend: sqlite, path: "$work/data/audit.db", transparency_log: $tlog}
auth: {api_keys: [$auth_keys]}
rate_limit: {requests_per_second: 1000000, burst: 1000000}
logging: {level: info, file: "$work/server.log"}
EOF
}

port=""
# Starts a new server process (same data directory, so the same key ring); sets server_pid. The
# first start picks a free loopback port (a random one until the server can bind it).
start_server() {
  local tries=0
  while :; do
    if [ -z "$port" ]; then
      port=$((20000 + RANDOM % 40000))
      write_config "$port"
    fi
    : >"$work/server.log"
    "$bin" serve --config "$work/config.yaml" >"$work/server.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
      curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    tries=$((tries + 1))
    if ! grep -q "cannot listen" "$work/server.out" || [ "$tries" -ge 20 ]; then
      cat "$work/server.out" >&2
      echo "run.sh: the server did not start" >&2
      exit 1
    fi
    port="" # taken: try another
  done
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "run.sh: the server exited with status $?" >&2; exit 1; }
  server_pid=""
}
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status"; }

# Seals a request body for FILE:FUNCTION with ARGUMENTS to the server's current key, into OUT.
make_body() {
  local keys pk kid
  keys=$(curl -sf "http://127.0.0.1:$port/v1/keys")
  pk=$(grep -o '"public_key":"[^"]*"' <<<"$keys" | head -1 | cut -d'"' -f4)
  kid=$(grep -o '"key_id":"[^"]*"' <<<"$keys" | head -1 | cut -d'"' -f4)
  "$wasm_dir/hv_load_mkreq" --server-key "$pk" --key-id "$kid" --function "$2" \
    --arguments "$3" "$1" >"$4"
}

# Latency text from wrk ("812.00us", "12.34ms", "1.20s") in ms.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

# Runs wrk with BODY for SECONDS over CONNS connections; leaves its output in $work/wrk.out.
run_wrk() {
  HV_BENCH_API_KEY="$api_key" HV_BENCH_BODY="$1" \
    wrk -t"$wrk_threads" -c"$3" -d"$2"s --timeout 10s --latency -s bench/load/status.lua \
    "http://127.0.0.1:$port/v1/execute" >"$work/wrk.out" 2>&1
}
wrk_socket_errors() {
  awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; found = 1 } END { if (!found) print 0 }' "$work/wrk.out"
}

failed=0
summary=()
note() { summary+=("$1"); }

ecdh=$(openssl speed -seconds 3 ecdhp256 2>/dev/null | awk '/ecdh \(nistp256\)/ {v = $NF} END {print v}')
echo "openssl speed -seconds 3 ecdhp256: $ecdh op/s (floor: ecdh/3 = $(awk -v e="$ecdh" 'BEGIN {printf "%.0f", e / 3}') requests/s)"
note "$(printf '%-34s %s op/s' 'openssl ecdhp256 (same run)' "$ecdh")"

if wants throughput; then
  declare -A ok_per_s=()
  for executor in ${executors//,/ }; do
    [ -z "$port" ] || write_config "$port"
    tag=""
    [ "$executors" = "$executor" ] || tag="[$executor] "
    echo "== throughput: small module, ${connections} connections, ${duration} s, full HPKE per request, executor $executor"
    start_server
    make_body "$wasm_dir/small.wasm" work '[{"value": 1}, {"value": 2}]' "$work/small.json"
    perf_pid=""
    if [ -n "$perf_out" ]; then
      perf record --call-graph dwarf,16384 -F 499 -o "$perf_out" -p "$server_pid" -- sleep "$duration" >/dev/null 2>&1 &
      perf_pid=$!
    fi
    run_wrk "$work/small.json" "$duration" "$connections"
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || echo "run.sh: perf record failed" >&2; fi
    cat "$work/wrk.out"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$work/wrk.out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.out")")
    ok=$(awk '$1 == "status" && $2 == 200 {print $3}' "$work/wrk.out")
    not_ok=$(awk '$1 == "status" && $2 != 200 {n += $3} END {print n + 0}' "$work/wrk.out")
    errors=$((not_ok + $(wrk_socket_errors)))
    statuses=$(awk '$1 == "status" {printf "%s%s=%s", sep, $2, $3; sep = " "}' "$work/wrk.out")
    codes=$(awk '$1 == "error_code" {printf "%s%s=%s", sep, $2, $3; sep = " "}' "$work/wrk.out")
    rss=$(peak_rss_kib)
    metrics=$(curl -sf -H "X-API-Key: $api_key" "http://127.0.0.1:$port/metrics")
    hits=$(awk '/^hypervisor_module_cache_hits_total/ {print $2}' <<<"$metrics")
    rounds=$(awk '/^hypervisor_audit_commit_rounds_total/ {print $2}' <<<"$metrics")
    records=$(awk '/^hypervisor_audit_records_total/ {print $2}' <<<"$metrics")
    stop_server
    floor=$(awk -v r="$rps" -v e="$ecdh" 'BEGIN {printf "%.2f", r / (e / 3)}')
    note "$(printf '%-34s %s (target >= 5000)' "${tag}requests/s" "$rps")"
    note "$(printf '%-34s %s (200 answers / %s s)' "${tag}successful executions/s" \
      "$(awk -v n="${ok:-0}" -v d="$duration" 'BEGIN {printf "%.0f", n / d}')" "$duration")"
    note "$(printf '%-34s %s ms / %s ms (target p99 <= 50)' "${tag}latency p50 / p99" "$p50" "$p99")"
    note "$(printf '%-34s %s (by status: %s%s)' "${tag}errors" "$errors" "$statuses" "${codes:+; $codes}")"
    note "$(printf '%-34s %s' "${tag}requests/s / (ecdh/3)" "$floor")"
    note "$(printf '%-34s %.1f MiB' "${tag}server peak RSS (VmHWM)" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')")"
    note "$(printf '%-34s %s hits; %s records in %s commit rounds' "${tag}module cache / audit writer" "${hits:-?}" "${records:-?}" "${rounds:-?}")"
    awk -v r="$rps" 'BEGIN {exit !(r < 5000)}' && failed=1
    awk -v p="$p99" 'BEGIN {exit !(p > 50)}' && failed=1
    [ "$errors" -eq 0 ] || failed=1
    [ -n "$ok" ] || failed=1
    ok_per_s[$executor]=$(awk -v n="${ok:-0}" -v d="$duration" 'BEGIN {printf "%.1f", n / d}')
  done
  set -- ${executors//,/ }
  if [ $# -eq 2 ]; then
    note "$(printf '%-34s %s (target >= 0.9)' "$1 / $2 (executions/s)" \
      "$(awk -v a="${ok_per_s[$1]}" -v b="${ok_per_s[$2]}" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}')")"
    awk -v a="${ok_per_s[$1]}" -v b="${ok_per_s[$2]}" 'BEGIN {exit !(a < 0.9 * b)}' && failed=1
  fi
  executor=${executors%%,*}
fi

if wants tlog; then
  echo "== transparency log: small module, ${connections} connections, ${tlog_pairs} x (${tlog_seconds} s with, ${tlog_seconds} s without), alternating"
  with=()
  without=()
  for _ in $(seq "$tlog_pairs"); do
    for mode in true false; do
      tlog=$mode
      [ -z "$port" ] || write_config "$port"
      start_server
      make_body "$wasm_dir/small.wasm" work '[{"value": 1}, {"value": 2}]' "$work/small.json"
      run_wrk "$work/small.json" "$tlog_seconds" "$connections"
      r=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
      bad=$(awk '$1 == "status" && $2 != 200 {n += $3} END {print n + 0}' "$work/wrk.out")
      if [ "$mode" = true ]; then
        curl -sf "http://127.0.0.1:$port/v1/log/checkpoint" | sed -n 2p | sed 's/^/  tree size: /'
        with+=("$r")
      else
        without+=("$r")
      fi
      echo "  transparency_log: $mode: $r requests/s ($bad not 200)"
      stop_server
      [ "$bad" -eq 0 ] || failed=1
    done
  done
  tlog=true
  [ -z "$port" ] || write_config "$port"
  median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
  m_with=$(median "${with[@]}")
  m_without=$(median "${without[@]}")
  ratio=$(awk -v a="$m_with" -v b="$m_without" 'BEGIN {printf "%.3f", a / b}')
  note "$(printf '%-34s %s / %s requests/s (runs: %s / %s)' 'with log / without (medians)' "$m_with" "$m_without" "${with[*]}" "${without[*]}")"
  note "$(printf '%-34s %s (target >= 0.9)' 'with log / without' "$ratio")"
  awk -v r="$ratio" 'BEGIN {exit !(r < 0.9)}' && failed=1
  "$wasm_dir/hv_tlog_bench" --rounds 200 --batch 64 | tee "$work/tlog_bench.out"
  note "$(printf '%-34s %s' 'audit round of 64, with / without' "$(awk '/ratio/ {print $NF}' "$work/tlog_bench.out")")"
fi

if wants tenants; then
  echo "== tenants: small module, ${tenant_keys} API keys in turn, ${connections} connections, ${tenant_seconds} s per tenancy"
  declare -A tenant_rps=()
  for tenancy in dedicated shared; do
    [ -z "$port" ] || write_config "$port"
    start_server
    make_body "$wasm_dir/small.wasm" work '[{"value": 1}, {"value": 2}]' "$work/small.json"
    HV_BENCH_API_KEYS=$(IFS=,; echo "${tenant_api_keys[*]}") run_wrk "$work/small.json" "$tenant_seconds" "$connections"
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.out")")
    errors=$(($(awk '$1 == "status" && $2 != 200 {n += $3} END {print n + 0}' "$work/wrk.out") + $(wrk_socket_errors)))
    recycles=$(curl -sf -H "X-API-Key: $api_key" "http://127.0.0.1:$port/metrics" |
      awk '/^hypervisor_worker_recycles_total/ {print $2}')
    stop_server
    tenant_rps[$tenancy]=$rps
    echo "  $tenancy: $rps requests/s, p99 $p99 ms, $errors errors, ${recycles:-?} recycles"
    note "$(printf '%-34s %s requests/s, p99 %s ms, %s errors, %s worker recycles' \
      "$tenant_keys keys, $tenancy" "$rps" "$p99" "$errors" "${recycles:-?}")"
    [ "$errors" -eq 0 ] || failed=1
  done
  tenancy=dedicated
  [ -z "$port" ] || write_config "$port"
  note "$(printf '%-34s %s' "$tenant_keys keys, dedicated / shared" \
    "$(awk -v a="${tenant_rps[dedicated]}" -v b="${tenant_rps[shared]}" 'BEGIN {printf "%.3f", a / b}')")"
fi

if wants memory; then
  echo "== memory: 100 connections, a module that touches 64 MiB, 10 s"
  start_server
  make_body "$wasm_dir/bigmem.wasm" touch '[]' "$work/bigmem.json"
  run_wrk "$work/bigmem.json" 10 100
  cat "$work/wrk.out"
  rss=$(peak_rss_kib)
  stop_server
  limit_kib=$(((100 * 64 + 200) * 1024))
  bad=$(awk '$1 == "status" && $2 != 200 && $2 != 503 {n += $3} END {print n + 0}' "$work/wrk.out")
  bad_codes=$(awk '$1 == "error_code" && $2 != "CAPACITY_EXCEEDED" {n += $3} END {print n + 0}' "$work/wrk.out")
  done_n=$(awk '$1 == "status" && $2 == 200 {print $3}' "$work/wrk.out")
  refused=$(awk '$1 == "status" && $2 == 503 {print $3}' "$work/wrk.out")
  sock=$(wrk_socket_errors)
  note "$(printf '%-34s %.1f MiB (limit %d MiB); %s ok, %s CAPACITY_EXCEEDED, %s other, %s socket errors' \
    '64 MiB x 100: peak RSS' "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" $((limit_kib / 1024)) \
    "${done_n:-0}" "${refused:-0}" $((bad + bad_codes)) "$sock")"
  [ "$rss" -le "$limit_kib" ] && [ "$bad" -eq 0 ] && [ "$bad_codes" -eq 0 ] && [ "$sock" -eq 0 ] &&
    [ -n "$done_n" ] || failed=1
fi

if wants cold; then
  echo "== cold: a 1 MB module the server has never seen, hvctl exec end to end"
  size=$("$wasm_dir/hv_load_genmod" 1048576 "$work/big.wasm")
  start_server
  t0=$(date +%s%N)
  HYPERVISOR_API_KEY="$api_key" "$hvctl" --server "http://127.0.0.1:$port" exec --invoke main \
    "$work/big.wasm" 5 >"$work/cold.out" 2>&1 || { cat "$work/cold.out" >&2; failed=1; }
  t1=$(date +%s%N)
  cat "$work/cold.out"
  rid=$(awk '/^request_id:/ {print $2}' "$work/cold.out")
  record=$(curl -sf "http://127.0.0.1:$port/v1/verify/$rid" || true)
  compile=$(grep -o '"compile_time_ms":[0-9.]*' <<<"$record" | cut -d: -f2)
  cached=$(grep -o '"module_cached":[a-z]*' <<<"$record" | cut -d: -f2)
  stop_server
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", (b - a) / 1e6}')
  note "$(printf '%-34s %s ms wall (target < 1000); %s bytes, compile %s ms, module_cached %s' \
    '1 MB module, cold, hvctl exec' "$wall" "$size" "${compile:-?}" "${cached:-?}")"
  [ "$wall" -lt 1000 ] && [ "$cached" = "false" ] || failed=1
fi

if wants inst; then
  echo "== instantiation of a compiled module (hvw_store_new + hvw_instance_new + hvw_store_free)"
  "$wasm_dir/hv_inst_bench" --iterations 20000 --rounds 5 "$wasm_dir/small.wasm:work" \
    "$wasm_dir/nomem.wasm:add" "$wasm_dir/nomax.wasm:add" | tee "$work/inst.out"
  while read -r line; do
    m=$(sed 's/.*module=\([^ ]*\).*/\1/' <<<"$line")
    i=$(sed 's/.* instantiate_us=\([^ ]*\).*/\1/' <<<"$line")
    c=$(sed 's/.* instantiate_call_us=\([^ ]*\).*/\1/' <<<"$line")
    pi=$(sed 's/.* pooled_instantiate_us=\([^ ]*\).*/\1/' <<<"$line")
    pc=$(sed 's/.* pooled_instantiate_call_us=\([^ ]*\).*/\1/' <<<"$line")
    note "$(printf '%-34s %s us (with one call: %s us); in a pool %s us (%s us)' "instantiate $m" "$i" "$c" "$pi" "$pc")"
  done <"$work/inst.out"
fi

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "?"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

if wants bytes; then
  echo "== bytes: sha256 of a 1 MiB bytes argument vs of an empty one, hvctl exec end to end (v1.1)"
  head -c 1048576 /dev/urandom >"$work/1mib.bin"
  : >"$work/empty.bin"
  start_server
  : >"$work/bytes.tsv"
  for ((i = 0; i < bytes_reps; i++)); do
    for input in empty 1mib; do
      t0=$(date +%s%N)
      HYPERVISOR_API_KEY="$api_key" "$hvctl" --server "http://127.0.0.1:$port" exec --invoke sha256 \
        --result bytes "$build/examples/sha256.wasm" "@$work/$input.bin" >"$work/bytes.out" 2>&1 ||
        { cat "$work/bytes.out" >&2; failed=1; break 2; }
      t1=$(date +%s%N)
      want=$(openssl dgst -sha256 -binary "$work/$input.bin" | base64)
      # hvctl prints a bytes result as standard base64 on a line of its own
      if ! grep -qxF "$want" "$work/bytes.out"; then
        echo "run.sh: sha256 of $input: the guest's digest is not openssl's ($want)" >&2
        cat "$work/bytes.out" >&2
        failed=1
        break 2
      fi
      rid=$(awk '/^request_id:/ {print $2}' "$work/bytes.out")
      exec_ms=$(curl -sf "http://127.0.0.1:$port/v1/verify/$rid" | grep -o '"execution_time_ms":[0-9.]*' | cut -d: -f2)
      [ $i -eq 0 ] || echo "$input $(((t1 - t0) / 1000)) ${exec_ms:-?}" >>"$work/bytes.tsv" # the first pair warms up
    done
  done
  # the same call from one long-lived client (no process start, a warm heap): bytes_bench.c
  if [ "$failed" -eq 0 ]; then
    "$build/bench/load/hv_bytes_bench" --server "http://127.0.0.1:$port" --api-key "$api_key" \
      --module "$build/examples/sha256.wasm" --function sha256 --size 1048576 \
      --reps $((bytes_reps - 1)) >"$work/bytes_bench.out" 2>&1 || { cat "$work/bytes_bench.out" >&2; failed=1; }
    sed 's/^/  /' "$work/bytes_bench.out"
  fi
  # the protocol's own work for the same call, one process, warm buffers: the floor (bytes_floor.c)
  "$build/bench/load/hv_bytes_floor" --size 1048576 --reps "$bytes_reps" >"$work/bytes_floor.out" 2>&1 ||
    { cat "$work/bytes_floor.out" >&2; failed=1; }
  sed 's/^/  /' "$work/bytes_floor.out"
  stop_server
  col() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' "$work/bytes.tsv" | median; }
  wall_e=$(col empty 2) wall_m=$(col 1mib 2) exec_e=$(col empty 3) exec_m=$(col 1mib 3)
  read -r added guest transport < <(awk -v we="$wall_e" -v wm="$wall_m" -v ee="$exec_e" -v em="$exec_m" \
    'BEGIN { a = (wm - we) / 1000; g = em - ee; printf "%.1f %.1f %.1f\n", a, g, a - g }')
  note "$(printf '%-34s %.1f ms vs %.1f ms with no data (medians of %d): +%s ms, of which the guest hashing %s ms and transport, sealing and the ABI copy %s ms (target ~2)' \
    '1 MiB bytes through sha256, hvctl' "$(awk -v v="$wall_m" 'BEGIN{print v/1000}')" \
    "$(awk -v v="$wall_e" 'BEGIN{print v/1000}')" $((bytes_reps - 1)) "$added" "$guest" "$transport")"
  [ -s "$work/bytes_floor.out" ] &&
    note "$(printf '%-34s %s (encode, seal, parse, decode, open, both commitments: no HTTP, no faults)' \
      '1 MiB, the protocol'"'"'s own work' "$(tail -1 "$work/bytes_floor.out" | awk '{print $(NF-1), $NF}')")"
  [ -s "$work/bytes_bench.out" ] &&
    note "$(printf '%-34s %s (target ~2)' '1 MiB, in-process client' "$(tail -1 "$work/bytes_bench.out")")"
fi

echo
echo "== figures"
for line in "${summary[@]}"; do echo "  $line"; done
[ "$failed" -eq 0 ] && echo "all targets met" || echo "some targets missed"
exit "$failed"
