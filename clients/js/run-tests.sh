#!/usr/bin/env bash
# The JavaScript client's tests under CTest (test js_client): installs the pinned dependencies when
# they are missing or older than package-lock.json, then runs Node's test runner. The server binary
# and the test modules come from HV_HYPERVISOR_BIN and HV_TEST_WASM_DIR (CMake sets both).
# Exit 77 (CTest's SKIP_RETURN_CODE) when Node.js 20 or newer is not there.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1; then
  echo "js_client: skipped: node is not installed (the JavaScript client needs Node.js >= 20)"
  exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "js_client: skipped: node $(node --version) is older than 20 (the JavaScript client needs Node.js >= 20)"
  exit 77
fi

# npm writes node_modules/.package-lock.json at every install: older than the lock file means stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "js_client: skipped: npm is not installed (needed once to install @hpke/core)"
    exit 77
  fi
  if ! log=$(npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    echo "$log" >&2
    echo "js_client: npm ci failed" >&2
    exit 1
  fi
fi

exec node --test test/*.test.js
