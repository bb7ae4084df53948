#!/usr/bin/env bash
# check_symbols.sh ENGINE_LIB [LIBRARY...]: every symbol the engine library defines for other
# objects is hvw_ or hvw__ (docs/engine.md), and no library, the engine's or another given one,
# defines or uses a name in the standard wasm-c-api's namespace (wasm_: wasmtime, WAMR and V8
# export those), so the engine links into a program beside any of them.
set -euo pipefail
engine=$1
status=0
stray=$(nm -g --defined-only "$engine" | awk 'NF == 3 {print $3}' | grep -Ev '^hvw__?[a-z]' || true)
if [ -n "$stray" ]; then
  echo "$engine defines symbols outside hvw_:"; echo "$stray" | sed 's/^/  /'; status=1
fi
for lib in "$@"; do
  clash=$(nm -g "$lib" | awk '{print $NF}' | grep -E '^wasm_' | sort -u || true)
  if [ -n "$clash" ]; then
    echo "$lib has wasm-c-api names:"; echo "$clash" | sed 's/^/  /'; status=1
  fi
done
[ "$status" -eq 0 ] && echo "the engine exports only hvw_ names; no wasm_ name in $# libraries"
exit "$status"
