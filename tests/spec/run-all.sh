#!/usr/bin/env bash
# Runs all spec files (HV_TESTDATA/wasm-spec and wasm-spec-simd: 146) in one `hypervisor spectest`
# invocation and prints the totals.
#   tests/spec/run-all.sh BUILD_DIR     (e.g. build; builds hypervisor and the JSON first)
# Exit status: that of hypervisor spectest (non-zero if any directive failed).
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$1
cmake --build "$build" --target hypervisor spec_json >/dev/null
shopt -s nullglob
files=("$build"/tests/spec/json/*.json)
if [ ${#files[@]} -eq 0 ]; then
  echo "$0: no JSON in $build/tests/spec/json (no spec testsuite: set HV_TESTDATA and reconfigure)" >&2
  exit 1
fi
exec "$build/src/cli/hypervisor" spectest "${files[@]}"
