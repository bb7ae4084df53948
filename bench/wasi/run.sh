#!/usr/bin/env bash
# WASI stdio throughput: N MiB of random bytes through a cat-like WASI command (cat.c: read(2)
# and write(2) on a buffer, i.e. one fd_read and one fd_write per chunk) under
# `hypervisor run --wasi`, for a few buffer sizes. Prints, per size, the best of `rounds` runs:
#   exec_MB/s  MiB copied / execution_ms of --stats (instantiation and _start: every host call,
#              the copies into guest memory and into the capture, the guest's own loop)
#   wall_MB/s  MiB / the whole command's wall time (reading the stdin file, loading the module,
#              the run, writing the captured output to a file)
# and, as the floor from the same run, coreutils' cat from the file to a file.
#
#   bench/wasi/run.sh [build-dir, default build] [MiB, default 48] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."

build="${1:-build}"
mib="${2:-48}"
rounds="${3:-3}"
[ "$mib" -ge 1 ] && [ "$mib" -le 63 ] || { echo "run.sh: MiB must be 1 to 63 (--stdin reads at most 64 MiB)" >&2; exit 2; }

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target hypervisor hv_wasi_bench_guest >/dev/null
hv="$build/src/cli/hypervisor"
guest="$build/bench/wasi/cat.wasm"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c "$((mib * 1048576))" /dev/urandom >"$tmp/in"
bytes=$((mib * 1048576))

now() { date +%s.%N; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }

printf '%-10s %10s %10s\n' buffer exec_MB/s wall_MB/s
for size in 65536 4096 512; do
  exec_best="" wall_best=""
  for ((r = 1; r <= rounds; r++)); do
    t0=$(now)
    "$hv" run --wasi --stats --stdin "$tmp/in" --max-result-bytes "$bytes" --timeout 60 \
      "$guest" "$size" >"$tmp/out" 2>"$tmp/err"
    t1=$(now)
    cmp -s "$tmp/in" "$tmp/out" || { echo "run.sh: the output differs from the input" >&2; exit 1; }
    ms=$(sed -n 's/^execution_ms: //p' "$tmp/err")
    exec_best=$(best "$exec_best" "$(mbps "$(awk -v m="$ms" 'BEGIN { print m / 1000 }')")")
    wall_best=$(best "$wall_best" "$(mbps "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")")
  done
  printf '%-10s %10s %10s\n' "$size" "$exec_best" "$wall_best"
done
cat_best=""
for ((r = 1; r <= rounds; r++)); do
  t0=$(now)
  cat "$tmp/in" >"$tmp/out"
  t1=$(now)
  cat_best=$(best "$cat_best" "$(mbps "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")")
done
printf '%-10s %10s %10s   (coreutils cat, file to file: the floor)\n' native - "$cat_best"
echo "$mib MiB, best of $rounds"
