#!/usr/bin/env bash
# fuzz/diff/run.sh [--driver PATH] [--out DIR] [--first SEED] [N]
#
# Differential check of the engine against wabt's interpreter (Debian wabt 1.0.32): N modules
# (default 500) from the generator in differential mode (fuzz/wasm_gen.h), seeds FIRST..FIRST+N-1
# (default 1). For each one:
#   1. wasm-validate must accept it (else the generator is wrong: counted as "invalid");
#   2. `fuzz_diff_driver run` (our engine) and `wasm-interp --run-all-exports` (wabt) each
#      instantiate it once and call every export in order; both print `NAME() => RESULTS` or
#      `NAME() => error: TRAP` lines (wabt's details after a trap kind are dropped);
#   3. the lines must be equal. A difference is a mismatch: the module and both outputs are kept
#      in OUT/mismatch-SEED/ (wasm2wat it to read it).
# The driver is built in build-fuzz-regress (gcc, RelWithDebInfo) unless --driver is given.
# Exit status: 0 when every module validated and matched, 1 otherwise, 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
driver=""
out=""
first=1
count=500
while [ $# -gt 0 ]; do
  case "$1" in
    --driver) driver=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --first) first=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    [0-9]*) count=$1; shift ;;
    *) echo "run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for tool in wasm-interp wasm-validate; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool not found (Debian package wabt)" >&2; exit 2; }
done

if [ -z "$driver" ]; then
  build="$root/build-fuzz-regress"
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  nice -n 19 cmake --build "$build" --target fuzz_diff_driver -j1 >/dev/null
  driver="$build/tests/fuzz/fuzz_diff_driver"
fi
[ -n "$out" ] || out="$root/build-fuzz-regress/diff"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

modules=0 exports=0 mismatched_modules=0 mismatched_exports=0 invalid=0 timeouts=0 traps=0
last=$((first + count - 1))
for seed in $(seq "$first" "$last"); do
  m="$work/m.wasm"
  "$driver" gen "$seed" "$m"
  modules=$((modules + 1))
  if ! wasm-validate "$m" 2>"$work/validate.txt"; then
    invalid=$((invalid + 1))
    mkdir -p "$out/invalid-$seed"
    cp "$m" "$work/validate.txt" "$out/invalid-$seed/"
    echo "seed $seed: wasm-validate rejects the generated module: $(head -1 "$work/validate.txt")"
    continue
  fi
  nice -n 19 timeout 60 "$driver" run "$m" >"$work/ours.txt" 2>&1 || true
  if ! nice -n 19 timeout 60 wasm-interp "$m" --run-all-exports >"$work/wabt.raw" 2>&1; then
    # wasm-interp exits 1 when instantiation fails (its message is on the output) or on timeout.
    if [ "$(tail -c 200 "$work/wabt.raw" | grep -c 'error initializing module')" = 0 ]; then
      timeouts=$((timeouts + 1))
      echo "seed $seed: wasm-interp failed or timed out"
      continue
    fi
  fi
  sed -E 's/(out of bounds (memory|table) access).*/\1/' "$work/wabt.raw" >"$work/wabt.txt"
  # A missing final newline (wabt's "error initializing module") must not count as a difference.
  [ -s "$work/wabt.txt" ] && [ "$(tail -c1 "$work/wabt.txt" | od -An -c | tr -d ' ')" != '\n' ] &&
    echo >>"$work/wabt.txt"
  n=$(grep -c '() =>\|^error initializing' "$work/wabt.txt" || true)
  exports=$((exports + n))
  traps=$((traps + $(grep -c 'error' "$work/wabt.txt" || true)))
  if ! cmp -s "$work/ours.txt" "$work/wabt.txt"; then
    bad=$(diff "$work/ours.txt" "$work/wabt.txt" | grep -c '^<' || true)
    [ "$bad" -gt 0 ] || bad=1
    mismatched_modules=$((mismatched_modules + 1))
    mismatched_exports=$((mismatched_exports + bad))
    mkdir -p "$out/mismatch-$seed"
    cp "$m" "$work/ours.txt" "$work/wabt.txt" "$out/mismatch-$seed/"
    echo "seed $seed: MISMATCH (ours < > wabt)"
    diff "$work/ours.txt" "$work/wabt.txt" | head -6 || true
  fi
done

echo "differential check: $modules modules (seeds $first..$last), $exports calls compared" \
     "($traps trapped), $mismatched_exports mismatched in $mismatched_modules modules," \
     "$invalid invalid modules, $timeouts wabt failures/timeouts"
[ "$mismatched_modules" = 0 ] && [ "$invalid" = 0 ] && [ "$timeouts" = 0 ]
