#!/usr/bin/env bash
# The headless Chromium tests under CTest: `run-browser-test.sh playground_browser` (the playground
# end to end) or `run-browser-test.sh js_client_browser` (the JavaScript client's scenario list run
# inside the browser). CMake sets HV_HYPERVISOR_BIN, HV_TEST_WASM_DIR, HV_PLAYGROUND_NODE_MODULES
# (the packages `npm ci` installed at build time: playwright-core, esbuild), HV_ARTIFACTS_DIR
# (screenshots) and HV_PLAYGROUND_BUILT. Exit 77 (skipped) with one line when chromium, Node.js 20
# or the playground build are missing. HV_CHROMIUM overrides /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")"
name=${1:?usage: run-browser-test.sh playground_browser|js_client_browser}

export HV_CHROMIUM=${HV_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$HV_CHROMIUM" ]; then
  echo "$name: skipped: $HV_CHROMIUM is not installed (Debian package chromium; scripts/deps.sh installs it)"
  exit 77
fi
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "$name: skipped: Node.js 20 or newer is not installed"
  exit 77
fi
if [ "${HV_PLAYGROUND_BUILT:-0}" != 1 ] || [ ! -d "${HV_PLAYGROUND_NODE_MODULES:-}/playwright-core" ]; then
  echo "$name: skipped: the playground was not built (no Node.js or npm at configure time)"
  exit 77
fi
exec node --test --test-reporter=spec "test/$name.test.js"
