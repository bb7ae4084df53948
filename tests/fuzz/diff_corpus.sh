#!/usr/bin/env bash
# tests/fuzz/diff_corpus.sh DRIVER DIR
#
# The differential check's regression corpus: for each DIR/NAME.wasm, `DRIVER run` (our engine)
# must print exactly DIR/NAME.expected (what wabt's wasm-interp --run-all-exports printed when the
# case was added, trap details dropped; see fuzz/diff/run.sh). wabt is not needed here.
# A NAME starting with "xfail-" is a known engine bug, described in its .wat: its mismatch is
# reported but does not fail the test; once it matches, the bug is fixed and the file should lose
# its prefix.
set -uo pipefail
driver=$1 dir=$2
pass=0 fail=0 known=0
for wasm in "$dir"/*.wasm; do
  name=$(basename "$wasm" .wasm)
  ours=$("$driver" run "$wasm" 2>&1 | sed -e '$a\')
  want=$(sed -e '$a\' "$dir/$name.expected")
  if [ "$ours" == "$want" ]; then
    pass=$((pass + 1))
    case "$name" in xfail-*) echo "$name: matches wabt now: the bug is fixed, drop the xfail- prefix" ;; esac
    continue
  fi
  case "$name" in
    xfail-*) known=$((known + 1)); echo "$name: KNOWN BUG still present (see $name.wat)" ;;
    *) fail=$((fail + 1)); echo "$name: MISMATCH"; diff <(echo "$ours") <(echo "$want") | sed 's/^/  /' ;;
  esac
done
echo "diff corpus: $pass match, $fail mismatch, $known known bugs"
[ $((pass + fail + known)) -gt 0 ] && [ "$fail" = 0 ]
