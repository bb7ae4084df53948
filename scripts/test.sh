#!/usr/bin/env bash
# The project's test command: installs what is missing, builds, runs every test under CTest.
#   scripts/test.sh             optimized build in build/
#   scripts/test.sh --sanitize  the same suite built with ASan+UBSan in build-asan/, its server
#                               tests on the thread executor (the optimized run: process)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

build=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DHV_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # The optimized run covers every server test on the default process executor; this one covers
  # them on the thread executor, where a sanitizer report from the engine is printed in full (a
  # confined worker cannot write one). The worker tests run in both (docs/workers.md, "Tests").
  export HV_TEST_EXECUTOR="${HV_TEST_EXECUTOR:-thread}"
fi

cmake -S . -B "$build" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure --timeout 300 -j"$(nproc)"
