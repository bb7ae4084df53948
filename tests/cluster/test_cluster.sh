#!/usr/bin/env bash
# The cluster under failure (docs/deploy-cluster.md): scripts/cluster.sh starts PostgreSQL, three
# nodes and HAProxy; three clients run `hvctl exec` through HAProxy in a loop (keys fetched from
# whichever node HAProxy picks, the request sent to whichever it picks next) and keep every answer
# that came back 200 and checked out. Meanwhile:
#   1. node 2 is killed with SIGKILL: the other two keep serving (directly and through HAProxy);
#   2. PostgreSQL is crashed (immediate shutdown) and started again: no request succeeds while it is
#      down (an answer counts as "while down" when the database was down both when the request was
#      sent and when its answer came), and the cluster serves again afterwards, without restarts.
# At the end every request that got a 200 must verify through HAProxy: nothing was lost.
#
#   tests/cluster/test_cluster.sh BUILD_DIR
# Exit status 77 (skip, one line) when haproxy or PostgreSQL is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
hvctl=$build/src/hvctl/hvctl
wasm=$build/bench/load/small.wasm
work=$(mktemp -d /tmp/hv-cluster-test-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/cluster.sh" stop "$work/c" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

set +e
url=$("$root/scripts/cluster.sh" start "$work/c" --build "$build")
rc=$?
set -e
[ $rc -eq 0 ] || exit $rc
export HYPERVISOR_API_KEY
HYPERVISOR_API_KEY=$(cat "$work/c/api_key")
fail() { echo "FAIL: $*" >&2; exit 1; }
node_url() { echo "http://127.0.0.1:$(cat "$work/c/node$1/port")"; }

client() {
  local i=$1 out
  while [ ! -f "$work/stop" ]; do
    local down_before=0 down_after=0
    [ -f "$work/db_down" ] && down_before=1
    if out=$("$hvctl" --server "$url" exec --invoke work "$wasm" 1 2 2>/dev/null); then
      [ -f "$work/db_down" ] && down_after=1
      if [ $down_before -eq 1 ] && [ $down_after -eq 1 ]; then echo x >>"$work/ok_while_down"; fi
      id=$(awk '$1 == "request_id:" {print $2}' <<<"$out")
      hash=$(awk '$1 == "result_commitment:" {print $2}' <<<"$out")
      echo "$id $hash" >>"$work/ok.$i"
    else
      echo x >>"$work/refused.$i"
      sleep 0.05
    fi
  done
}
for i in 1 2 3; do client $i & pids+=($!); done
count() { cat "$work"/ok.* 2>/dev/null | wc -l; }

sleep 3
[ "$(count)" -gt 0 ] || fail "no request succeeded through HAProxy"
# 1. A node dies.
"$root/scripts/cluster.sh" kill-node "$work/c" 2
before=$(count)
sleep 4
for n in 1 3; do curl -sf "$(node_url $n)/health" >/dev/null || fail "node $n stopped serving"; done
[ "$(count)" -gt "$before" ] || fail "no request succeeded after node 2 was killed"
echo "after kill -9 of node 2: $(( $(count) - before )) more requests answered 200"

# 2. The database crashes and comes back.
"$root/scripts/cluster.sh" pg-kill "$work/c"
touch "$work/db_down"
sleep 3
code=$(curl -s -o /dev/null -w '%{http_code}' "$(node_url 1)/health")
[ "$code" = 503 ] || fail "node 1's /health answered $code while the database was down"
rm -f "$work/db_down"
"$root/scripts/cluster.sh" pg-start "$work/c"
ok=0
for _ in $(seq 100); do
  curl -sf "$url/health" >/dev/null && { ok=1; break; }
  sleep 0.2
done
[ $ok -eq 1 ] || fail "the cluster did not recover after PostgreSQL came back"
before=$(count)
sleep 3
[ "$(count)" -gt "$before" ] || fail "no request succeeded after PostgreSQL came back"
touch "$work/stop"
wait "${pids[@]}" 2>/dev/null || true
pids=()

[ ! -s "$work/ok_while_down" ] || fail "$(wc -l <"$work/ok_while_down") requests answered 200 while the database was down"
# Every 200 verifies.
total=0
while read -r id hash; do
  "$hvctl" --server "$url" verify "$id" --type result --hash "$hash" >/dev/null ||
    fail "request $id answered 200 but does not verify"
  total=$((total + 1))
done < <(cat "$work"/ok.*)
refused=$(cat "$work"/refused.* 2>/dev/null | wc -l)
echo "ok: $total requests answered 200 and all verify; $refused refused during the failures"
