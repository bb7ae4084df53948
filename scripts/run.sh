#!/usr/bin/env bash
# Builds what is missing and runs the `hypervisor` command with the given arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build --target hypervisor >/dev/null
exec build/src/cli/hypervisor "$@"
