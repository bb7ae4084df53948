#!/usr/bin/env bash
# Before/after on a shared machine: the load benchmark's throughput scenario (run.sh) on two source
# trees, alternately, N pairs, then the medians. Each tree runs its own bench/load/run.sh with its
# own build/ (built first if needed), so A can be a checkout of main and B this tree:
#
#   git -C . archive main | tar -x -C /tmp/hv-main      # a copy of main, outside this worktree
#   bench/load/ab.sh [--pairs N] [--duration S] /tmp/hv-main .
#
# Prints one line per run (successful executions/s, wrk's requests/s and p99, 503 answers, the
# run's own openssl ecdhp256), then the medians and B/A. Successful executions/s is the figure to
# compare: wrk's requests/s and latencies also count quick 503 CAPACITY_EXCEEDED answers. A run
# that prints no figures (the server did not start, ...) is shown with the end of its output and
# left out of the medians.
set -euo pipefail
pairs=3
duration=15
while [ $# -gt 2 ]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "ab.sh: unknown argument '$1' (see the header)" >&2; exit 2 ;;
  esac
done
[ $# -eq 2 ] || { echo "usage: ab.sh [--pairs N] [--duration S] TREE_A TREE_B" >&2; exit 2; }
trees=("$(cd "$1" && pwd)" "$(cd "$2" && pwd)")
out=$(mktemp -d /tmp/hv-ab-XXXXXX)
trap 'rm -rf "$out"' EXIT

# The value after a summary line's label ("  LABEL   value ...") in run.sh's output.
field() { awk -v k="$1" 'index($0, "  " k) == 1 { v = substr($0, length(k) + 3); sub(/^ +/, "", v); print v; exit }' "$2"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for i in $(seq "$pairs"); do
  for side in 0 1; do
    name=$([ "$side" -eq 0 ] && echo A || echo B)
    f="$out/$name-$i.txt"
    (cd "${trees[$side]}" && bench/load/run.sh --only throughput --duration "$duration") >"$f" 2>&1 || true
    if ! grep -q '^== figures' "$f"; then # run.sh stopped early: show why, leave it out of the medians
      echo "$name $i: the run printed no figures; the end of its output:" >&2
      tail -n 15 "$f" >&2
      continue
    fi
    ok=$(field "successful executions/s" "$f" | awk '{print $1}')
    if [ -z "$ok" ]; then # a tree whose run.sh does not print it: 200 answers / duration
      ok=$(awk -v d="$duration" '$1 == "status" && $2 == 200 { n = $3 } END { printf "%.0f", n / d }' "$f")
    fi
    rps=$(field "requests/s" "$f" | awk '{print $1}')
    p99=$(field "latency p50 / p99" "$f" | awk '{print $4}')
    n503=$(awk '$1 == "status" && $2 == 503 { n = $3 } END { print n + 0 }' "$f")
    ecdh=$(field "openssl ecdhp256 (same run)" "$f" | awk '{print $1}')
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "$name $i ok/s=$ok requests/s=$rps p99_ms=$p99 503=$n503 ecdh=$ecdh load=$load" | tee -a "$out/lines"
  done
done
for name in A B; do
  for key in ok/s requests/s p99_ms ecdh; do
    m=$(grep "^$name " "$out/lines" | tr ' ' '\n' | awk -F= -v k="$key" '$1 == k {print $2}' | median)
    echo "$name median $key=$m"
  done
done | tee "$out/medians"
a=$(awk '/^A median ok\/s=/ { sub(".*=", ""); print }' "$out/medians")
b=$(awk '/^B median ok\/s=/ { sub(".*=", ""); print }' "$out/medians")
awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "B/A successful executions/s: %.2f\n", b / a }'
