#!/usr/bin/env bash
# wc_check.sh WASI_HOST WC_WASM: examples/wasi/wc.c (C with wasi-libc, built by clang for
# wasm32-wasi) run through the WASI stdio profile by the test host, against coreutils' wc.
set -uo pipefail
host=$1 wasm=$2
fails=0
check() { # NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
counts() { LC_ALL=C wc -l -w -c | awk '{print $1, $2, $3}'; }

check "two lines" "2 5 24" "$(printf 'hello world\nfoo bar baz\n' | "$host" "$wasm")"
# read in many fd_read calls (libc's 4 KiB buffer and the program's), printf's buffered output
big=$(mktemp)
trap 'rm -f "$big"' EXIT
seq 1 200000 >"$big"
check "seq 1 200000" "$(counts <"$big")" "$(<"$big" "$host" "$wasm")"
# argv reaches main(), stderr is captured apart, exit() codes come out
out=$(printf 'x' | "$host" "$wasm" -v a b 2>&1 >/dev/null)
check "argv and stderr" "wc.wasm: 4 arguments" "$out"
printf '' | "$host" "$wasm" >/dev/null
check "exit code of exit(3)" 3 $?
# stdout over its limit stops the program with a clear error
out=$(<"$big" "$host" --max-output 4 "$wasm" 2>&1)
rc=$?
check "output limit: status" 125 $rc
check "output limit: message" 1 "$(grep -c 'HV_WASI_OUTPUT_TOO_LARGE' <<<"$out")"
echo "$((5 + 1 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
