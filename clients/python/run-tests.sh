#!/usr/bin/env bash
# The Python client's tests under CTest (test python_client): pytest with Debian's interpreter
# (HV_PYTHON, default /usr/bin/python3: a python3 earlier on PATH, such as a pyenv build, lacks
# Debian's packages). The server binary, the test modules, the examples and the RFC 9180 vectors
# come from HV_HYPERVISOR_BIN, HV_TEST_WASM_DIR, HV_EXAMPLES_WASM_DIR and HV_TESTDATA (CMake sets
# them). Exit 77 (CTest's SKIP_RETURN_CODE) when python3, python3-cryptography or python3-pytest
# is missing; scripts/deps.sh installs all three.
set -euo pipefail
cd "$(dirname "$0")"

python="${HV_PYTHON:-/usr/bin/python3}"
if [ ! -x "$python" ]; then
  echo "python_client: skipped: $python not found (install Debian's python3, python3-cryptography and python3-pytest: scripts/deps.sh)"
  exit 77
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "python_client: skipped: $python is older than Python 3.9"
  exit 77
fi
for module in cryptography pytest; do
  if ! "$python" -c "import $module" 2>/dev/null; then
    echo "python_client: skipped: $python has no module $module (Debian package python3-$module: scripts/deps.sh)"
    exit 77
  fi
done

# -B and no cache provider: the run writes nothing into the source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -B -m pytest -q -rs -p no:cacheprovider tests "$@"
