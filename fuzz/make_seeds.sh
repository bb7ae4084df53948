#!/usr/bin/env bash
# fuzz/make_seeds.sh OUT_DIR DIFF_DRIVER FUZZ_HPKE_OPEN
#
# Writes the seed corpora the fuzzers start from into OUT_DIR/<target>/ (outside the source
# tree: they are generated, and the spec testsuite is not ours to commit):
#   fuzz_decode     every binary module wast2json makes of $HV_TESTDATA/wasm-spec/*.wast
#                   (HV_TESTDATA as in the build: default ../shared/testdata beside the checkout)
#                   (valid, invalid and malformed ones), the engine benchmark's kernels
#                   (bench/out/engine/*.wasm) when they have been built, and 100 generated modules
#   fuzz_exec       64 random inputs (the generator turns any bytes into a module)
#   fuzz_hpke_open  genuine ciphertexts for the target's fixed key (HV_FUZZ_WRITE_SEEDS)
# The regression corpora in tests/fuzz/corpus/ are passed to the fuzzers as well.
set -euo pipefail

out=$1 driver=$2 hpke=$3
root=$(cd "$(dirname "$0")/.." && pwd)
spec="${HV_TESTDATA:-$root/../shared/testdata}/wasm-spec"
mkdir -p "$out"/{fuzz_decode,fuzz_exec,fuzz_hpke_open}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0
if command -v wast2json >/dev/null && [ -d "$spec" ]; then
  for wast in "$spec"/*.wast; do
    name=$(basename "$wast" .wast)
    mkdir -p "$work/$name"
    # Some files hold constructs wabt 1.0.32 cannot write; take what it produced.
    wast2json "$wast" -o "$work/$name/$name.json" >/dev/null 2>&1 || true
    for m in "$work/$name"/*.wasm; do
      [ -f "$m" ] || continue
      cp "$m" "$out/fuzz_decode/spec-$(basename "$m")"
      n=$((n + 1))
    done
  done
else
  echo "make_seeds.sh: no wast2json or no spec testsuite in $spec (set HV_TESTDATA): decode seeds without it" >&2
fi
for m in "$root"/bench/out/engine/*.wasm; do
  [ -f "$m" ] && cp "$m" "$out/fuzz_decode/bench-$(basename "$m")" && n=$((n + 1))
done
for seed in $(seq 1 50); do
  "$driver" gen "$seed" "$out/fuzz_decode/gen-diff-$seed.wasm"
  "$driver" gen "$seed" "$out/fuzz_decode/gen-exec-$seed.wasm" exec
  n=$((n + 2))
done
echo "fuzz_decode: $n seeds"

for k in $(seq 1 64); do
  head -c $((64 + 32 * k)) /dev/urandom >"$out/fuzz_exec/random-$k"
done
echo "fuzz_exec: 64 seeds"

HV_FUZZ_WRITE_SEEDS="$out/fuzz_hpke_open" "$hpke" -runs=0 /dev/null >/dev/null 2>&1 || true
echo "fuzz_hpke_open: $(ls "$out/fuzz_hpke_open" | wc -l) seeds"
