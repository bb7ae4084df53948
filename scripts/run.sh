#!/usr/bin/env bash
# Builds what is missing (hypervisor, hvctl, the sample modules) and runs the `hypervisor` command
# with the given arguments. With none, that is the service with its embedded defaults: it listens
# on 127.0.0.1:3000 and keeps its key ring, audit database and development API key under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build --target hypervisor hvctl examples >/dev/null
exec build/src/cli/hypervisor "$@"
