#!/usr/bin/env bash
# Proves that a plain clone builds, runs and passes its tests without the external test data
# (HV_TESTDATA, by default ../shared/testdata beside the checkout).
#
#   scripts/check-plain-clone.sh                  clone this checkout's HEAD commit into a temporary
#                                                 folder with nothing beside it, configure with
#                                                 HV_TESTDATA unset, build, run ctest (a few minutes)
#   scripts/check-plain-clone.sh --with-changes   the same, with the working tree's uncommitted
#                                                 changes and untracked files applied to the clone
#   scripts/check-plain-clone.sh --configure-only configure this source tree into a temporary build
#                                                 folder with HV_TESTDATA=/nonexistent (seconds; the
#                                                 CTest test plain_configure)
#
# It checks: configuring succeeds and prints the skip line of each suite that needs the data (spec
# testsuite, SIMD spec testsuite, RFC 9180 vectors, Merkle proof vectors); a second configure with HV_TESTDATA pointing nowhere prints them
# for that folder; the build succeeds; ctest passes, with exactly spec_testsuite,
# spec_simd_testsuite, crypto_hpke_vectors and tlog_vectors reported skipped and no spec_<file> test registered. Exit status 0 when all
# hold, else 1 with the reason. HV_CHECK_KEEP=1 keeps the temporary folder.
set -euo pipefail

me=check-plain-clone
root=$(cd "$(dirname "$0")/.." && pwd)
cmake=${CMAKE:-cmake} # CTest passes the cmake that configured the build
mode=clone
case "${1:-}" in
  "") ;;
  --with-changes) mode=changes ;;
  --configure-only) mode=configure ;;
  *)
    echo "usage: $0 [--with-changes | --configure-only]" >&2
    exit 2
    ;;
esac

fail() {
  echo "$me: FAILED: $*" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hv-plain-clone.XXXXXX")
cleanup() {
  if [ "${HV_CHECK_KEEP:-}" = 1 ]; then
    echo "$me: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# configure_check SRC BUILD TESTDATA_DIR [HV_TESTDATA value]: configure SRC into BUILD (HV_TESTDATA
# unset, or set to the value given) and check the skip line of each suite names TESTDATA_DIR.
configure_check() {
  local src=$1 build=$2 dir=$3
  local -a env_cmd=(env -u HV_TESTDATA)
  [ $# -ge 4 ] && env_cmd=(env "HV_TESTDATA=$4")
  if ! "${env_cmd[@]}" "$cmake" -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$build.out" 2>"$build.err"; then
    cat "$build.out" "$build.err" >&2
    fail "configuring $src failed"
  fi
  grep -qxF "spec tests skipped: no WebAssembly spec testsuite at $dir/wasm-spec (set HV_TESTDATA to a folder with wasm-spec/)" "$build.err" ||
    { cat "$build.err" >&2; fail "no spec skip line for $dir"; }
  grep -qxF "RFC 9180 vector test skipped: no $dir/hpke/hpke-p256-vectors.json (set HV_TESTDATA to a folder with hpke/)" "$build.err" ||
    { cat "$build.err" >&2; fail "no RFC 9180 vector skip line for $dir"; }
  grep -qxF "SIMD spec tests skipped: no SIMD spec testsuite at $dir/wasm-spec-simd (set HV_TESTDATA to a folder with wasm-spec-simd/)" "$build.err" ||
    { cat "$build.err" >&2; fail "no SIMD spec skip line for $dir"; }
  grep -qxF "Merkle proof vector test skipped: no $dir/merkle/testdata (set HV_TESTDATA to a folder with merkle/)" "$build.err" ||
    { cat "$build.err" >&2; fail "no Merkle vector skip line for $dir"; }
  [ "$(grep -c ' skipped: ' "$build.err")" -eq 4 ] || { cat "$build.err" >&2; fail "expected 4 skip lines"; }
}

if [ "$mode" = configure ]; then
  configure_check "$root" "$tmp/build" /nonexistent /nonexistent
  echo "$me: configure without test data: ok (4 suites skipped, one line each)"
  exit 0
fi

git -C "$root" rev-parse --verify -q HEAD >/dev/null || fail "$root is not a git checkout"
commit=$(git -C "$root" rev-parse HEAD)
echo "$me: cloning $root at ${commit:0:12} into $tmp/repo (no $tmp/shared)"
git clone --quiet --no-checkout "$root" "$tmp/repo"
git -C "$tmp/repo" -c advice.detachedHead=false checkout --quiet --detach "$commit"
if [ "$mode" = changes ]; then
  git -C "$root" diff --binary HEAD | git -C "$tmp/repo" apply --allow-empty
  git -C "$root" ls-files -z --others --exclude-standard |
    (cd "$root" && xargs -0 -r cp --parents -t "$tmp/repo")
  echo "$me: with the working tree's uncommitted changes"
fi
[ ! -e "$tmp/shared" ] || fail "$tmp/shared exists"

repo=$tmp/repo
bash "$repo/scripts/deps.sh"
# HV_TESTDATA pointing nowhere: configure only.
configure_check "$repo" "$tmp/build-nowhere" "$tmp/nowhere" "$tmp/nowhere"
# HV_TESTDATA unset: the default, ../shared/testdata beside the clone, is not there.
configure_check "$repo" "$repo/build" "$tmp/shared/testdata"
echo "$me: configure: ok (spec, SIMD spec, RFC 9180 and Merkle vector suites skipped, one line each)"

"$cmake" --build "$repo/build" -j"$(nproc)" >"$tmp/build.log" 2>&1 ||
  { tail -50 "$tmp/build.log" >&2; fail "the build failed"; }
echo "$me: build: ok"

ctest --test-dir "$repo/build" -N | grep -E ' spec_' | grep -vE ' spec_(runner_[a-z]+|testsuite|simd_testsuite)$' &&
  fail "spec_<file> tests registered without the testsuite"
set +e
env -u HV_TESTDATA ctest --test-dir "$repo/build" --output-on-failure --timeout 300 -j"$(nproc)" \
  >"$tmp/ctest.log" 2>&1
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$tmp/ctest.log" >&2; fail "ctest failed (status $rc)"; }
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$tmp/ctest.log") ||
  { cat "$tmp/ctest.log" >&2; fail "no CTest summary"; }
skipped=$(grep -E '^[[:space:]]+[0-9]+ - .* \(Skipped\)$' "$tmp/ctest.log" | awk '{print $3}' | sort | paste -sd' ')
[ "$skipped" = "crypto_hpke_vectors spec_simd_testsuite spec_testsuite tlog_vectors" ] ||
  { cat "$tmp/ctest.log" >&2; fail "skipped tests: '$skipped', expected crypto_hpke_vectors spec_simd_testsuite spec_testsuite tlog_vectors"; }
# Run by hand (no HV_TESTDATA in the environment) the vector test skips with its one line too.
set +e
line=$(env -u HV_TESTDATA "$repo/build/tests/crypto/crypto_hpke_vectors" 2>&1)
rc=$?
set -e
want="crypto_hpke_vectors skipped: no RFC 9180 vectors at $tmp/shared/testdata/hpke/hpke-p256-vectors.json (set HV_TESTDATA to a folder with hpke/)"
if [ $rc -ne 77 ] || [ "$line" != "$want" ]; then
  fail "crypto_hpke_vectors without data: status $rc, output: $line"
fi
echo "$me: ctest: $summary; skipped: $skipped"
echo "$me: ok"
