#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] [TARGET...]
#
# Builds the libFuzzer targets with clang + ASan + UBSan (build-fuzz, or $HV_FUZZ_BUILD) and runs
# each TARGET (default: all of them) for SECONDS (default 60), niced, one job each, as many side
# by side as there are CPUs (HV_FUZZ_PARALLEL). Prints the executions of each target and any
# crash; exits 1 if any target crashed.
#
# Where things go (inside the build directory):
#   fuzz-seeds/TARGET/      seeds made once by fuzz/make_seeds.sh
#   fuzz-corpus/TARGET/     the growing corpus (kept between runs)
#   fuzz-artifacts/TARGET/  crash-*, leak-*, timeout-* inputs: each becomes a regression input
#                           in tests/fuzz/corpus/TARGET/ once minimized (fuzz/README.md)
#   fuzz-logs/TARGET.log    libFuzzer's output
set -uo pipefail

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_decode fuzz_exec fuzz_hpke_open fuzz_request fuzz_invocation fuzz_json fuzz_cabi fuzz_wasi fuzz_tlog fuzz_worker_codec)
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HV_FUZZ_BUILD:-$root/build-fuzz}
jobs=${HV_FUZZ_BUILD_JOBS:-2}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHV_FUZZ=ON -DHV_SANITIZE=ON >/dev/null || exit 2
fi
nice -n 19 cmake --build "$build" --target fuzz_all fuzz_diff_driver -j"$jobs" >"$build/fuzz-build.log" 2>&1 || {
  tail -20 "$build/fuzz-build.log"
  exit 2
}
if [ ! -d "$build/fuzz-seeds" ]; then
  "$root/fuzz/make_seeds.sh" "$build/fuzz-seeds" "$build/tests/fuzz/fuzz_diff_driver" \
    "$build/fuzz/fuzz_hpke_open" || exit 2
fi

# One target per CPU at a time (each still gets its full SECONDS of one core): on CI's two cores
# the fuzz minute of every target takes half the wall time it would one after the other.
parallel=${HV_FUZZ_PARALLEL:-$(nproc)}

# fuzz_one TARGET: runs TARGET, then writes its summary line(s) to fuzz-logs/TARGET.result, the
# first of them "TARGET: CRASH ..." or "TARGET: no such target" when it failed (a new artifact or
# a sanitizer report in its log).
fuzz_one() {
  local t=$1 exe="$build/fuzz/$1"
  local corpus="$build/fuzz-corpus/$t" artifacts="$build/fuzz-artifacts/$t" logs="$build/fuzz-logs"
  local result="$logs/$t.result" rundir="$logs/$t.run"
  mkdir -p "$corpus" "$artifacts" "$logs" "$rundir" "$build/fuzz-seeds/$t"
  if [ ! -x "$exe" ]; then
    echo "$t: no such target" >"$result"
    return
  fi
  local before after execs rate cov
  before=$(ls "$artifacts" | wc -l)
  # -jobs=1 runs the fuzzer in a child that logs to fuzz-0.log in the current directory: each
  # target gets a directory of its own, as targets run side by side.
  (cd "$rundir" && rm -f fuzz-0.log &&
    nice -n 19 "$exe" -max_total_time="$secs" -jobs=1 -workers=1 -timeout=20 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "$build/fuzz-seeds/$t" "$root/tests/fuzz/corpus/$t" >"$logs/$t.parent.log" 2>&1)
  mv -f "$rundir/fuzz-0.log" "$logs/$t.log" 2>/dev/null || cp "$logs/$t.parent.log" "$logs/$t.log"
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logs/$t.log" | grep -Eo '[0-9]+$' | tail -1)
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$logs/$t.log" | grep -Eo '[0-9]+$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$logs/$t.log" | tail -1)
  after=$(ls "$artifacts" | wc -l)
  echo "$t: ${execs:-?} executions in ${secs}s (${rate:-?}/s), ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l) inputs" >"$result"
  if [ "$after" -gt "$before" ] || grep -q 'ERROR: \|SUMMARY: \|FUZZ CHECK FAILED' "$logs/$t.log"; then
    {
      echo "$t: CRASH — see $logs/$t.log; new artifacts:"
      ls -t "$artifacts" | head -$((after - before > 0 ? after - before : 5)) | sed "s|^|  $artifacts/|"
      grep -m5 'FUZZ CHECK FAILED\|ERROR: \|SUMMARY: ' "$logs/$t.log" | sed 's/^/  /'
    } >>"$result"
  fi
}

for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  rm -f "$build/fuzz-logs/$t.result"
  fuzz_one "$t" &
done
wait
crashed=0
for t in "${targets[@]}"; do
  result="$build/fuzz-logs/$t.result"
  [ -f "$result" ] || { echo "$t: no result"; crashed=1; continue; }
  cat "$result"
  grep -q "^$t: \(CRASH\|no such target\)" "$result" && crashed=1
done
exit $crashed
