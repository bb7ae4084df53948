#!/usr/bin/env bash
# Sourced by tests/openapi/run-*.sh: makes sure Node.js 20+ and the packages pinned in
# tools/openapi/package-lock.json are there. Exits 77 (CTest's skip) with one line when Node.js or
# npm is missing, 1 when npm ci fails. Sets HV_OPENAPI_TOOLS to this folder.
HV_OPENAPI_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hv_openapi_name="${hv_openapi_name:-openapi}"
if ! command -v node >/dev/null 2>&1; then
  echo "$hv_openapi_name: skipped: node is not installed (the OpenAPI tools need Node.js >= 20)"
  exit 77
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "$hv_openapi_name: skipped: node $(node --version) is older than 20"
  exit 77
fi
# npm writes node_modules/.package-lock.json at every install: older than the lock file means stale.
if [ ! -f "$HV_OPENAPI_TOOLS/node_modules/.package-lock.json" ] ||
   [ "$HV_OPENAPI_TOOLS/package-lock.json" -nt "$HV_OPENAPI_TOOLS/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "$hv_openapi_name: skipped: npm is not installed (needed once to install tools/openapi)"
    exit 77
  fi
  if ! log=$(cd "$HV_OPENAPI_TOOLS" && npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    echo "$log" >&2
    echo "$hv_openapi_name: npm ci failed in tools/openapi" >&2
    exit 1
  fi
fi
